"""Every benchmark in one command, and an overview table of all models at the top of RESULTS.md.

Runs, one process each and in turn (so they do not compete for the CPUs): framepool.py,
aparent2.py, xpresso.py, hal.py, bpnet.py (forward-pass throughput and its fraction of the
machine's float32 matmul throughput, end-to-end `seqzoo score` VCF -> TSV against a baseline in the
same run) and memory.py (peak RSS of every model on a 1,000,000-record VCF against a non-streaming
baseline). Each script replaces its own section of RESULTS.md; this one then writes the
``overview`` section from those sections.

Usage: python benchmarks/run_all.py [--quick] [--only framepool,memory,...] [--records N]
(~20 min on 2 cores; --quick: small sizes, ~5 min, prints only and leaves RESULTS.md alone)
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

MODEL_SCRIPTS = [("framepool", "Framepool"), ("aparent2", "APARENT2"), ("xpresso", "Xpresso/human_median"),
                 ("hal", "HAL (stand-in table)"), ("bpnet", "BPNet-OSKN (stand-in weights)")]
MEMORY_MODELS = {"framepool": "Framepool", "aparent2": "APARENT2", "xpresso": "Xpresso/human_median",
                 "hal": "HAL", "bpnet": "BPNet-OSKN"}


def section(text: str, name: str) -> str:
    m = re.search(rf"<!-- BEGIN {re.escape(name)} -->(.*?)<!-- END {re.escape(name)} -->", text, re.S)
    return m.group(1) if m else ""


def row(body: str, label: str) -> list[str] | None:
    """The cells of the numbered row ``label`` ("2a", "3c", ...) of a model section's table."""
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    return None


def matmul_fraction(cells: list[str] | None) -> str:
    if not cells:
        return "n/a"
    m = re.search(r"(\d+)% of matmul", cells[-1])
    if m:
        return f"{m.group(1)}%"
    return "n/a (table lookup)" if "meaningless" in cells[-1] else "n/a"


def overview(text: str) -> str:
    memory = section(text, "memory")
    largest: dict[tuple[str, str], tuple[int, str]] = {}  # (model, command) -> the largest streaming run
    for line in memory.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[0] in MEMORY_MODELS.values() and cells[3].startswith("streaming"):
            records = int(cells[2].replace(",", ""))
            if records > largest.get((cells[0], cells[1]), (0,))[0]:
                largest[(cells[0], cells[1])] = (records, f"{cells[7]} MiB at {cells[2]} records ({cells[1]})")
    peaks = {}
    for (model, _), (_, peak) in sorted(largest.items(), key=lambda kv: kv[0][1] != "score"):
        peaks[model] = (0, f"{peaks[model][1]}; {peak}" if model in peaks else peak)
    rows = []
    for script, label in MODEL_SCRIPTS:
        body = section(text, script)
        if not body:
            rows.append([label] + ["not run"] * 7)
            continue
        fwd, e2e, base, ratio = row(body, "2a"), row(body, "3c"), row(body, "3e"), row(body, "4a")
        stamp = re.search(r"\((?:full|quick) run, ([^)]*)\)", body)
        rows.append([label, fwd[2] if fwd else "n/a", matmul_fraction(fwd), e2e[2] if e2e else "n/a",
                     base[2] if base else "n/a", ratio[2] if ratio else "n/a",
                     peaks.get(MEMORY_MODELS[script], (0, "not run"))[1], stamp.group(1) if stamp else ""])
    table = common.markdown_table(["model", "forward, sequences/s", "forward / matmul", "end to end, variants/s",
                                   "baseline, variants/s", "seqzoo / baseline", "peak RSS, streaming",
                                   "measured"], rows)
    return (f"## Overview (written {common.timestamp()} by `python benchmarks/run_all.py`)\n\n"
            f"One row per model from the sections below (same machine, each measured with the matmul yardstick "
            f"and its baseline in the same run): forward = `predict_sequences` (row 2a of each section), end to "
            f"end = `seqzoo score` VCF -> TSV with the model preloaded (3c), baseline = one ref + alt forward pass "
            f"per row without shared reference windows (Framepool: Kipoi's six passes per variant) on the same "
            f"records (3e), peak RSS from the memory section. Xpresso's fraction counts the Keras graph's "
            f"FLOPs; its table path executes fewer (see its section). HAL and BPNet-OSKN ran with stand-in weights of "
            f"the published layouts (their files are not reachable here).\n\n"
            f"Machine:\n\n{common.machine_markdown(common.machine_info())}\n\n{table}\n")


def write_overview(path: Path = common.RESULTS_PATH) -> None:
    text = path.read_text()
    if "<!-- BEGIN overview -->" not in text:  # first time: right after the preamble
        first = text.find("<!-- BEGIN ")
        text = (text[:first] + "<!-- BEGIN overview -->\n<!-- END overview -->\n\n" + text[first:]) if first >= 0 \
            else text + "\n<!-- BEGIN overview -->\n<!-- END overview -->\n"
        path.write_text(text)
    common.update_results("overview", overview(text), path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; prints only, RESULTS.md untouched")
    ap.add_argument("--only", default=None, help="comma-separated subset of: "
                    + ", ".join([s for s, _ in MODEL_SCRIPTS] + ["memory"]))
    ap.add_argument("--records", type=int, default=1_000_000, help="memory.py's VCF size")
    args = ap.parse_args(argv)
    chosen = args.only.split(",") if args.only else [s for s, _ in MODEL_SCRIPTS] + ["memory"]
    failed = []
    t0 = time.perf_counter()
    for script in chosen:
        cmd = [sys.executable, str(HERE / f"{script}.py")]
        if script == "memory":
            cmd += ["--records", str(20_000 if args.quick else args.records)] + (["--no-write"] if args.quick else [])
        elif args.quick:
            cmd += ["--quick"]
        print(f"== {' '.join(cmd)}", file=sys.stderr, flush=True)
        t = time.perf_counter()
        if subprocess.run(cmd).returncode != 0:
            failed.append(script)
        print(f"== {script}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    if not args.quick:
        write_overview()
        print(section(common.RESULTS_PATH.read_text(), "overview"))
    print(f"== all done in {time.perf_counter() - t0:.0f} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""),
          file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
