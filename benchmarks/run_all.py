"""Every benchmark in one command, and an overview table of all models at the top of RESULTS.md.

Runs, one process each and in turn (so they do not compete for the CPUs): framepool.py,
aparent2.py, xpresso.py, hal.py, bpnet.py (forward-pass throughput and its fraction of the
machine's float32 matmul throughput, end-to-end ``seqzoo.score_vcf`` VCF -> TSV against a baseline
in the same run), throughput.py (end to end, incremental scoring against full passes of every alt
window, by model and 5'UTR length, whole-genome density and ISM) and memory.py (peak RSS of every model at 200,000 and 1,000,000 records on a
GENCODE-size annotation, this code against the code before the refactor). Each script replaces
its own section of RESULTS.md; this one then writes the ``overview`` section from those sections.

Usage: python benchmarks/run_all.py [--quick] [--only framepool,memory,...] [--overview]
(the five model scripts ~7 min on 2 quiet cores, throughput.py ~10 min, memory.py 1-2 h; --quick: small sizes, prints only
and leaves RESULTS.md alone; --overview: only rewrite the overview from the sections there)
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


def tables(body: str) -> list[list[dict[str, str]]]:
    """The Markdown tables in ``body``, each as rows of {header: cell}."""
    split = lambda ln: [c.strip() for c in ln.strip().strip("|").split("|")]  # noqa: E731
    blocks, block = [], []
    for line in body.splitlines() + [""]:
        if line.strip().startswith("|"):
            block.append(line)
        elif block:
            blocks.append([dict(zip(split(block[0]), split(ln))) for ln in block[2:]])
            block = []
    return blocks


def peak_rss(memory: str) -> dict[str, str]:
    """{model: this code's peak RSS on the large VCF} from the memory section's summary table."""
    peaks: dict[str, str] = {}
    summary = next((t for t in tables(memory) if t and "this code, large" in t[0]), [])
    for r in summary:
        value = f"{r['this code, large'].split(' (')[0]} at {r['records (small / large)'].split(' / ')[-1]} " \
                f"records ({r['command'].strip('`')})"
        peaks[r["model"]] = f"{peaks[r['model']]}; {value}" if r["model"] in peaks else value
    return peaks


def overview(text: str) -> str:
    peaks = peak_rss(section(text, "memory"))
    rows = []
    for script, label in MODEL_SCRIPTS:
        body = section(text, script)
        cells = {k: row(body, k) for k in ("2a", "3c", "3e", "4a", "4b")}
        value = lambda k: cells[k][2] if cells[k] else "not run"  # noqa: E731
        stamp = re.search(r"\((?:full|quick) run, ([^)]*)\)", body)
        rows.append([label, value("2a"), matmul_fraction(cells["2a"]), value("3c"), value("3e"), value("4a"),
                     value("4b"), peaks.get(MEMORY_MODELS[script], "not run"), stamp.group(1) if stamp else ""])
    table = common.markdown_table(["model", "forward, sequences/s", "forward / matmul", "end to end, variants/s",
                                   "baseline, variants/s", "seqzoo / baseline", "seqzoo / one variant at a time",
                                   "peak RSS (memory section)", "measured"], rows)
    return (f"## Overview (written {common.timestamp()} by `python benchmarks/run_all.py`)\n\n"
            f"One row per model from the sections below (each measured with the matmul yardstick and its baseline "
            f"in the same run): forward = `predict_sequences` (row 2a of each section), end to end = "
            f"`seqzoo.score_vcf` VCF -> TSV with the model passed in (3c), baseline = `score_vcf(..., "
            f"reuse_reference=False)` on the same records (3e; Framepool: a wrapper model doing Kipoi's six passes "
            f"per variant), one variant at a time = the same with `chunk_rows=1` (3f, ratio 4b), peak RSS = this "
            f"code on the largest VCF of the memory section (GENCODE-size GTF, 300 Mb genome). Framepool's and "
            f"Xpresso's fractions count the Keras graph's FLOPs; their table paths (Framepool's convolution 1 by "
            f"7-mer lookup) execute fewer (see their sections). HAL and BPNet-OSKN "
            f"ran with stand-in weights of the published layouts (their files are not reachable here). A section "
            f"written by an older benchmark script keeps that script's baseline (its notes say which).\n\n"
            f"Machine (now):\n\n{common.machine_markdown(common.machine_info())}\n\n{table}\n")


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
                    + ", ".join([s for s, _ in MODEL_SCRIPTS] + ["throughput", "memory"]))
    ap.add_argument("--overview", action="store_true", help="run nothing; rewrite the overview from RESULTS.md")
    args = ap.parse_args(argv)
    if args.overview:
        write_overview()
        print(section(common.RESULTS_PATH.read_text(), "overview"))
        return 0
    chosen = args.only.split(",") if args.only else [s for s, _ in MODEL_SCRIPTS] + ["throughput", "memory"]
    failed = []
    t0 = time.perf_counter()
    for script in chosen:
        cmd = [sys.executable, str(HERE / f"{script}.py")]
        if args.quick:
            cmd += ["--quick"]
        elif script == "throughput":
            cmd += ["--write"]  # the model scripts write their sections unless --quick
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
