"""glibc's malloc thresholds as the command line sets them (``seqzoo.reuse_freed_memory()``) against
glibc's defaults, each workload in processes of its own.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/malloc.py [--rounds 3] [--write]

Why processes of their own: glibc adapts its thresholds to the largest block a process has freed,
so a process that loaded Framepool or Xpresso first (as ``throughput.py`` does) already runs with
raised thresholds, while ``seqzoo score --model HAL`` (a small table) never gets them and pays a page
fault for every page of every chunk's arrays (see :mod:`seqzoo.heap_reuse`). Each round runs every
workload twice, once with ``SEQZOO_TUNE_MALLOC=0`` (the defaults) and once with the setting, in
alternating order; a process loads its model, calls ``seqzoo.reuse_freed_memory()`` (which does
nothing with ``SEQZOO_TUNE_MALLOC=0``) and runs the workload ``--runs`` times: its best run, the
minor page faults of that run and the process's peak RSS. The table gives the best over rounds.
HAL uses a random stand-in table (its file is not reachable here).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

EXAMPLES = HERE.parent / "examples"
WORKLOADS = ("hal_half", "hal_15", "aparent2", "framepool_170", "windows_genome", "ism_xpresso")
LABELS = {
    "hal_half": "HAL (stand-in table), donor windows, 1/2 SNVs 1/2 indels: score_vcf",
    "hal_15": "HAL (stand-in table), donor windows, 85% SNVs 15% indels: score_vcf",
    "aparent2": "APARENT2, PAS windows (full passes): score_vcf",
    "framepool_170": "Framepool, 5'UTR ~170 nt, 200 transcripts x 20 records: score_vcf",
    "windows_genome": "Framepool windows only, whole-genome density (500,000 SNVs): windows_vcf",
    "ism_xpresso": "ISM Xpresso, one 10,500-nt window (31,500 SNVs)",
}


def make_data(work: Path) -> dict:
    import aparent2 as ap_bench
    import hal as hal_bench
    import throughput as tp

    hal = hal_bench.make_donor_dataset(work / "donor", n_genes=400)["paths"]
    table = hal_bench.write_stand_in_table(work / "hal.npz")
    mix = tp.with_indel_share(Path(hal["vcf"]), work / "donor" / "mix15.vcf", share=0.15)
    ap = ap_bench.make_pas_dataset(work / "pas", n_genes=12, variants_per_window=40)["paths"]
    utr = tp.utr_dataset(work / "utr170", 170, 200, per_utr=20, seed=170)
    genome = tp.whole_genome_dataset(work / "genome", 6_000, 500_000)
    return {k: {n: str(p) for n, p in v.items()} if isinstance(v, dict) else str(v) for k, v in
            dict(hal=hal, hal_table=table, hal_mix=mix, aparent2=ap, utr=utr, genome=genome).items()}


def child(workload: str, data: dict, runs: int, out: Path) -> dict:
    """In a process of its own: the model loaded, the setting made (or not), ``runs`` runs."""
    import seqzoo

    tuned = seqzoo.reuse_freed_memory()
    if workload in ("hal_half", "hal_15"):
        hal = seqzoo.load_model("HAL", weights=data["hal_table"])
        p = data["hal"]
        vcf = p["vcf"] if workload == "hal_half" else data["hal_mix"]
        fn = lambda: seqzoo.score_vcf([("HAL", hal)], p["fasta"], vcf, p["gtf"], out=out)  # noqa: E731
    elif workload == "aparent2":
        ap = seqzoo.load_model("APARENT2")
        p = data["aparent2"]
        fn = lambda: seqzoo.score_vcf([("APARENT2", ap)], p["fasta"], p["vcf"], p.get("gtf"), out=out)  # noqa: E731
    elif workload == "framepool_170":
        fp = seqzoo.load_model("Framepool")
        p = data["utr"]
        fn = lambda: seqzoo.score_vcf([("Framepool", fp)], p["fasta"], p["vcf"], p["gtf"], out=out)  # noqa: E731
    elif workload == "windows_genome":
        p = data["genome"]
        fn = lambda: seqzoo.windows_vcf("Framepool", p["fasta"], p["vcf"], p["gtf"], out=out)  # noqa: E731
    else:
        xp = seqzoo.load_model("Xpresso/human_median")
        fn = lambda: seqzoo.ism([("Xpresso/human_median", xp)], EXAMPLES / "genome.fa",  # noqa: E731
                                EXAMPLES / "annotation.gtf", feature="GENE0", halflife_file=EXAMPLES / "halflife.tsv")
    best = None
    for _ in range(runs):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        if best is None or t < best[0]:
            best = (t, faults)
    return {"tuned": tuned, "seconds": best[0], "faults": best[1], "peak_mib": peak_rss_mib()}


def peak_rss_mib() -> float:
    """This process's peak RSS (``VmHWM``; ``ru_maxrss`` would carry the parent's peak across exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=4, help="runs per process (its best is kept)")
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md (section malloc)")
    ap.add_argument("--child", nargs=3, metavar=("WORKLOAD", "DATA_JSON", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        workload, data, out = args.child
        print(json.dumps(child(workload, json.loads(Path(data).read_text()), args.runs, Path(out))))
        return 0
    uptime0 = os.popen("uptime").read().strip()
    machine = common.machine_info()
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="seqzoo-malloc-"))
    data_json = work / "data.json"
    data_json.write_text(json.dumps(make_data(work)))
    only = [w for w in WORKLOADS if w in args.only.split(",")]
    best: dict = {}
    for r in range(args.rounds):
        for w in only:
            for tune in (("0", "1") if r % 2 == 0 else ("1", "0")):
                env = {k: v for k, v in os.environ.items() if k != "SEQZOO_TUNE_MALLOC"}
                env["SEQZOO_TUNE_MALLOC"] = tune
                proc = subprocess.run([sys.executable, __file__, "--runs", str(args.runs), "--child", w,
                                       str(data_json), str(work / f"{w}.{tune}.tsv")],
                                      env=env, capture_output=True, text=True)
                if proc.returncode:
                    sys.stderr.write(proc.stderr)
                    return proc.returncode
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                assert res["tuned"] is (tune == "1"), res
                key = (w, tune)
                peak = max(res["peak_mib"], best[key]["peak_mib"]) if key in best else res["peak_mib"]
                if key not in best or res["seconds"] < best[key]["seconds"]:
                    best[key] = res
                best[key]["peak_mib"] = peak  # the largest of every round, not the fastest round's
                print(w, tune, res, flush=True)
    rows = []
    for w in only:
        off, on = best[(w, "0")], best[(w, "1")]
        rows.append([LABELS[w], f"{off['seconds']:.3f} s", f"{on['seconds']:.3f} s",
                     f"{off['seconds'] / on['seconds']:.2f}x", f"{off['faults']:,} / {on['faults']:,}",
                     f"{off['peak_mib']:,.0f} / {on['peak_mib']:,.0f}"])
    uptime1 = os.popen("uptime").read().strip()
    body = common.table_section(
        "glibc malloc thresholds: the command line's setting against the defaults",
        f"Command: `python benchmarks/malloc.py --rounds {args.rounds} --runs {args.runs}` "
        f"({time.perf_counter() - t_start:.0f} s; each workload in fresh processes, alternating; per process "
        f"the best of {args.runs} runs with its model loaded; the table: the best over rounds, peak RSS the "
        f"largest). Load before: `{uptime0}`; after: `{uptime1}`.",
        ["workload", "defaults", "thresholds set", "speed-up", "page faults (defaults / set)",
         "peak RSS MiB (defaults / set)"], rows, machine)
    print("\n" + body)
    if args.write:
        common.update_results("malloc", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
