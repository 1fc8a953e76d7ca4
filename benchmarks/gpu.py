"""GPU against CPU in the same run: forward passes, in-silico mutagenesis and end-to-end scoring.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/gpu.py [--device cuda] [--quick] [--write]

Needs a CUDA device (``scripts/device_check.sh`` runs it with the CUDA tests on a GPU machine).
(Named gpu.py, not cuda.py: a script's folder comes first on ``sys.path``, and torch's import
tries ``import cuda`` (NVIDIA's cuda-python), which a ``benchmarks/cuda.py`` shadowed.)
Every row times the same work on the CPU (torch's threads: the machine's cores) and on the GPU,
best of ``--repeats``, and compares the outputs (max |delta| over the score columns); GPU times
include moving the inputs in and the outputs out (``torch.cuda.synchronize`` before the clock
stops).

1. Forward passes (``predict_sequences``, strings in, numpy out) of random sequences, each model
   at ``--batch-size`` 64 (the default) and 512: Framepool at 100 and 1,000 nt, APARENT2 (205 nt),
   Xpresso (10,500 nt, half-life zeros), BPNet-OSKN (1,000 nt, the random-weights fixture of the
   published layout) and HAL (160 nt, a random table of the published layout).
2. ISM of one window (``seqzoo.ism``): Xpresso's 10,500-nt window of the bundled example's GENE0
   (31,500 SNVs), Framepool's 5'UTR TX1 with indels, APARENT2's TX0, BPNet-OSKN's 1,000-nt window.
   The CPU uses the incremental engines where a model has one; the GPU full passes (batch 512).
3. End to end: ``seqzoo.score_vcf`` of the bundled example with all five models, CPU against GPU.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)
import hal as hal_bench  # noqa: E402  (benchmarks/hal.py)

import seqzoo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
BPNET = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"


def clocked(fn, device: str, repeats: int):
    """(best seconds, last result) of ``fn()``, one warm-up call first; CUDA synchronised."""
    def synced():
        out = fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return out

    best, out, _ = common.timed(synced, repeats, warmup=1)
    return best, out


def max_delta(a: dict, b: dict) -> float:
    return max(float(np.nanmax(np.abs(np.asarray(a[k], float) - np.asarray(b[k], float)))) for k in a)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="fewer sequences (~1 min)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md (section cuda)")
    args = ap.parse_args(argv)
    seqzoo.check_device(args.device)
    gpu, repeats = args.device, args.repeats
    machine = common.machine_info()  # (its load average is the one at the start)
    n = 512 if args.quick else 4096
    hal_table = hal_bench.write_stand_in_table(Path(tempfile.mkdtemp(prefix="seqzoo-gpu-")) / "hal.npz")
    weights = {"Framepool": None, "APARENT2": None, "Xpresso/human_median": None, "HAL": hal_table,
               "BPNet-OSKN": BPNET}
    models = {d: {m: seqzoo.load_model(m, weights=w, device=d) for m, w in weights.items()} for d in ("cpu", gpu)}
    head = ["work", "items", "CPU", f"GPU ({gpu})", "GPU / CPU", "max abs delta"]
    rows = []

    def add(label, items, t_cpu, t_gpu, delta, unit):
        rows.append([label, f"{items:,}", f"{items / t_cpu:,.0f} {unit}", f"{items / t_gpu:,.0f} {unit}",
                     f"{t_cpu / t_gpu:.1f}x", f"{delta:.1e}"])
        print(common.markdown_table(head, rows[-1:]).splitlines()[-1], flush=True)

    # 1. forward passes
    halflife = np.zeros((n // 8, 6), np.float32)
    cases = [("Framepool", 100, n, {}), ("Framepool", 1000, n // 4, {}), ("APARENT2", 205, n, {}),
             ("Xpresso/human_median", 10_500, n // 8, {"halflife": halflife}), ("BPNet-OSKN", 1000, n // 2, {}),
             ("HAL", 160, 8 * n, {})]
    for name, length, count, extra in cases:
        seqs = common.random_seqs(count, length, seed=length)
        for batch in (64, 512):
            t_cpu, out_cpu = clocked(lambda: models["cpu"][name].predict_sequences(seqs, batch_size=batch, **extra),
                                     "cpu", repeats)
            t_gpu, out_gpu = clocked(lambda: models[gpu][name].predict_sequences(seqs, batch_size=batch, **extra),
                                     gpu, repeats)
            add(f"{name} forward, {length:,} nt, batch {batch}", count, t_cpu, t_gpu, max_delta(out_gpu, out_cpu),
                "seq/s")
    # 2. ISM
    ism_cases = [("Xpresso/human_median", dict(feature="GENE0", halflife_file=EX / "halflife.tsv")),
                 ("Framepool", dict(feature="TX1", indels=True)), ("APARENT2", dict(feature="TX0")),
                 ("BPNet-OSKN", dict(region="chr1:20000-20100"))]
    for name, options in ism_cases:
        options = dict(options, gtf=None if name == "BPNet-OSKN" else EX / "annotation.gtf")
        t_cpu, (tab_cpu, _) = clocked(lambda: seqzoo.ism([(name, models["cpu"][name])], EX / "genome.fa", **options),
                                      "cpu", repeats)
        t_gpu, (tab_gpu, _) = clocked(lambda: seqzoo.ism([(name, models[gpu][name])], EX / "genome.fa",
                                                         batch_size=512, **options), gpu, repeats)
        add(f"ISM {name} (seconds: CPU {t_cpu:.2f}, GPU {t_gpu:.2f})", len(tab_cpu), t_cpu, t_gpu,
            common.max_table_diff(tab_gpu, tab_cpu), "variants/s")
    # 3. end to end
    runs = {}
    for d in ("cpu", gpu):
        t, r = clocked(lambda: seqzoo.score_vcf(list(models[d].items()), EX / "genome.fa", EX / "variants.vcf",
                                                EX / "annotation.gtf", halflife_file=EX / "halflife.tsv"), d, repeats)
        runs[d] = (t, r)
    add("score_vcf, bundled example, all five models", runs["cpu"][1].summary["alleles"], runs["cpu"][0],
        runs[gpu][0], common.max_table_diff(runs[gpu][1].rows, runs["cpu"][1].rows), "alleles/s")

    name = torch.cuda.get_device_name(torch.device(gpu)) if gpu.startswith("cuda") else gpu
    body = common.table_section(
        "GPU against CPU",
        f"Command: `python benchmarks/gpu.py --device {gpu}`{' --quick' if args.quick else ''} "
        f"(best of {repeats} after a warm-up; torch {torch.__version__}, GPU: {name}, CPU threads: "
        f"{torch.get_num_threads()}).", head, rows, machine)
    print("\n" + body)
    if args.write and not args.quick:
        common.update_results("cuda", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
