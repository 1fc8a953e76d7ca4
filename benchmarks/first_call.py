"""The first ``score_vcf`` after ``load_model`` against the calls after it (Framepool, Xpresso).

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/first_call.py [--write]

A harness that loads a model once and times one call sees the first call's one-time costs.
``load_model`` builds what a model derives from its weights (``prepare()``: Framepool's two 7-mer
tables, Xpresso's convolution 1 table), so the first call does not. Rows, per model, on
throughput.py's datasets (Framepool: 200 transcripts with ~170-nt 5'UTRs x 20 records; Xpresso:
16 genes' TSS windows, SNVs): ``load_model`` seconds, the first call, the best of the next three,
and (Framepool) the first call after ``model.clear_cache()``, which drops the tables so that the
call builds them (as every first call did before ``prepare()``). The first call in the process also
pays imports and the worker threads' start; the Framepool model is loaded after Xpresso's call.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import throughput  # noqa: E402

import seqzoo  # noqa: E402


def calls(name, model, paths, out: Path, **options) -> list[float]:
    """Seconds of four score_vcf calls in a row (incremental, TSV out)."""
    times = []
    for _ in range(4):
        t0 = time.perf_counter()
        seqzoo.score_vcf([(name, model)], paths["fasta"], paths["vcf"], paths.get("gtf"), out=out, **options)
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    args = ap.parse_args(argv)
    machine = common.machine_info()
    work = Path(tempfile.mkdtemp(prefix="seqzoo-first-call-"))
    head = ["model, workload", "load_model", "first call", "best of the next 3", "first call after clear_cache()"]
    rows = []

    import xpresso as xp_bench
    tss = xp_bench.make_tss_dataset(work / "tss", n_genes=16)["paths"]
    tss = dict(tss, vcf=throughput.snvs_only(Path(tss["vcf"]), work / "tss" / "snvs.vcf"))
    t0 = time.perf_counter()
    xp = seqzoo.load_model("Xpresso/human_median")
    t_load = time.perf_counter() - t0
    t = calls("Xpresso/human_median", xp, tss, work / "x.tsv", halflife_file=tss["halflife"])
    rows.append(["Xpresso, 16 TSS windows, SNVs", f"{t_load:.3f} s", f"{t[0]:.3f} s", f"{min(t[1:]):.3f} s", "-"])

    utr = throughput.utr_dataset(work / "utr170", 170, 200, seed=170)
    t0 = time.perf_counter()
    fp = seqzoo.load_model("Framepool")
    t_load = time.perf_counter() - t0
    t = calls("Framepool", fp, utr, work / "f.tsv")
    fp.clear_cache()
    t_cleared = calls("Framepool", fp, utr, work / "f.tsv")[0]
    rows.append(["Framepool, 200 x ~170-nt 5'UTRs x 20 records", f"{t_load:.3f} s", f"{t[0]:.3f} s",
                 f"{min(t[1:]):.3f} s", f"{t_cleared:.3f} s"])
    body = common.table_section("First call after load_model", "Command: `python benchmarks/first_call.py` "
                                "(wall time, 2 torch threads).", head, rows, machine)
    print(body)
    if args.write:
        common.update_results("first-call", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
