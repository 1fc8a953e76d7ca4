"""Start-up of a run on a GENCODE-size annotation: ``seqzoo score`` on a VCF with no records, per model.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/startup.py [--models HAL,Framepool] [--write]

Every score job of the Snakemake workflow, and every ``seqzoo score``, pays this before its first
record: Python and torch imports, the model's weights, reading the GTF lines its windows come from,
building the window rule and the vectorised index (:class:`seqzoo.windowing.FastIndex`). On a
whole-genome VCF most records are outside every window and go at ~10^5 records/s or more, so a
shard of a few thousand records is mostly start-up.

Data: ``benchmarks/memory.py``'s (generated once into ``--data``, ~35 s, ~1.4 GB): a 300 Mb genome in
6 contigs and a GTF of 60,000 genes, 234,996 transcripts, 2,745,655 lines (1,051 MB, GENCODE-style
attributes). HAL uses a random stand-in table (its file is not reachable here); the others the
published weights. The VCF is that data's header alone.

Rows, per model, each a fresh process (best of ``--repeats``, in alternating rounds):

* "in-process": ``seqzoo.score_vcf`` in a fresh process (seqzoo and torch imported before the
  clock), split into the window rule (GTF reading and window building,
  :func:`seqzoo.windowing.build_rules`), the vectorised index and the rest (weights, FASTA index,
  writing the empty outputs); peak RSS of the process.
* the same with the built objects not frozen (the code before :func:`seqzoo.gc_passes.run_scope`
  froze them: the first collection after the pause walks them all, and every full collection
  again), and with the cyclic garbage collector left on while the windows are built (the code
  before :func:`seqzoo.gc_passes.paused_gc`; ``paused_gc`` replaced by a context that does
  nothing, hence nothing frozen either): the paths they replace, measured in the same run.
* "command line": ``python -m seqzoo score ... --quiet``, the whole process (wall time).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODELS = ("HAL", "Framepool", "APARENT2", "Xpresso/human_median")


#: in-process variants: as shipped; the built objects not frozen; collection on during the build
VARIANTS = ("shipped", "unfrozen", "gc_on")


def _child(model: str, data: dict, variant: str) -> dict:
    """One in-process start-up (run in a fresh process) of ``variant`` (:data:`VARIANTS`): seconds
    by stage, peak RSS."""
    import torch  # noqa: F401  (before the clock: the command-line row has the imports)

    import seqzoo
    import seqzoo.gc_passes as gc_passes
    import seqzoo.windowing as windowing

    if variant == "unfrozen":
        gc_passes._freeze_for_run = lambda: None
    elif variant == "gc_on":
        import contextlib

        windowing.paused_gc = contextlib.nullcontext  # (the only module that pauses it)
    stages = {"rule": 0.0, "index": 0.0}

    def timing(stage, fn):  # fn, its seconds added to stages[stage]
        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                stages[stage] += time.perf_counter() - t
        return timed

    windowing.build_rules = timing("rule", windowing.build_rules)
    windowing.FastIndex.__init__ = timing("index", windowing.FastIndex.__init__)
    kw = {"weights": data["hal_weights"]} if model == "HAL" else {}
    out = Path(data["out"]) / f"startup_{model.replace('/', '_')}.tsv"
    t0 = time.perf_counter()
    result = seqzoo.score_vcf(model, data["fasta"], data["header"], data["gtf"], out=out, **kw)
    total = time.perf_counter() - t0
    assert result.summary["alleles"] == 0
    return {"total": total, **stages, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_process(model: str, data: dict, variant: str) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import startup; "
            f"print(json.dumps(startup._child({model!r}, json.loads(sys.argv[1]), {variant!r})))")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(data)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{model}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def command_line(model: str, data: dict) -> float:
    extra = ["--weights", data["hal_weights"]] if model == "HAL" else []
    argv = [sys.executable, "-m", "seqzoo", "score", "--model", model, *extra, "--fasta", data["fasta"], "--gtf",
            data["gtf"], "--vcf", data["header"], "-o", str(Path(data["out"]) / "startup_cli.tsv"), "--quiet"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{model}: {done.stderr[-2000:]}")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--data", default=str(HERE / ".data"),
                    help="folder of memory.py's data (its gencode_like/, generated if missing)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    args = ap.parse_args(argv)
    import memory

    machine = common.machine_info()
    folder = Path(args.data) / "gencode_like"  # memory.py's folder: the data is generated once for both
    meta = memory.make_data(folder, memory.FULL)
    header = folder / "header.vcf"
    with open(meta["vcf"][str(memory.FULL["records"])]) as src, open(header, "w") as dst:
        for line in src:
            if not line.startswith("#"):
                break
            dst.write(line)
    data = {"fasta": meta["fasta"], "gtf": meta["gtf"], "hal_weights": meta["hal_weights"], "header": str(header),
            "out": str(folder)}
    t_start = time.perf_counter()
    rows = []
    labels = {"shipped": "in-process", "unfrozen": "in-process, built objects not frozen (before run_scope)",
              "gc_on": "in-process, GC on while windows are built (before paused_gc)"}
    for model in args.models.split(","):
        runs, cli = {v: [] for v in VARIANTS}, []
        for _ in range(args.repeats):  # alternating rounds
            for variant in VARIANTS:
                runs[variant].append(in_process(model, data, variant))
            cli.append(command_line(model, data))
        best = {v: min(runs[v], key=lambda r: r["total"]) for v in VARIANTS}
        for variant in VARIANTS:
            r = best[variant]
            rows.append([model, labels[variant], f"{r['total']:.1f} s", f"{r['rule']:.1f} s", f"{r['index']:.1f} s",
                         f"{r['total'] - r['rule'] - r['index']:.1f} s", f"{r['rss_mib']:,.0f} MiB"])
        for variant in VARIANTS[1:]:
            before, now = best[variant], best["shipped"]
            rows.append([model, f"speed-up ({variant.replace('_', ' ')} / in-process)",
                         f"{before['total'] / now['total']:.2f}x", f"{before['rule'] / now['rule']:.2f}x",
                         f"{before['index'] / now['index']:.2f}x", "", ""])
        rows.append([model, "command line (`python -m seqzoo score`, whole process)", f"{min(cli):.1f} s", "", "",
                     "", ""])
    head = ["model", "run", "total", "window rule (GTF + windows)", "vectorised index", "rest", "peak RSS"]
    how = (f"Command: `python benchmarks/startup.py --repeats {args.repeats}"
           f"{' --models ' + args.models if args.models != ','.join(MODELS) else ''}` "
           f"({time.perf_counter() - t_start:.0f} s; best of "
           f"{args.repeats}, alternating rounds, each a fresh process; wall time). Data: {meta['gtf_mb']:,.0f} MB GTF "
           f"of {meta['genes']:,} genes, {meta['transcripts']:,} transcripts, {meta['lines']:,} lines; "
           f"{meta['genome_mb']:.0f} Mb genome; a VCF with no records. HAL: a random stand-in table. Load average "
           f"at the end (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    body = common.table_section("Start-up on a GENCODE-size annotation", how, head, rows, machine)
    print(body)
    if args.write:
        common.update_results("startup", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
