"""Framepool benchmark: matmul yardstick, model throughput, end-to-end ``seqzoo score``, Kipoi-style
baseline; prints one Markdown table and (full runs) updates the Framepool section of
``benchmarks/RESULTS.md``.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/framepool.py [--quick]

What is measured (all in one process, torch's default threads unless ``--threads``):

1. float32 ``torch.matmul`` of two 2048 x 2048 matrices, best of several runs (GFLOP/s), measured
   at the start and at the end; the better one is the machine's yardstick.
2. Framepool on random 100-nt sequences, batch 64: ``model.predict_sequences`` (strings in: one-hot
   encoding, the three shifted predictions, numpy out) and the raw module ``forward_shifts`` on
   pre-encoded tensors. FLOPs per sequence are counted analytically (3 convolutions k=7 and the
   dense head for 3 shifts), giving achieved GFLOP/s and the fraction of the matmul yardstick.
3. End to end on a synthetic genome + GTF + VCF (``seqzoo.synthetic.make_utr_dataset``; ~200
   transcripts with ~100-nt 5'UTRs, ~20,000 variant records inside them): VCF -> TSV through
   ``seqzoo.cli.main(["score", ..., "--quiet"])``, once as is (model load, .fai build included) and
   with the model preloaded (``seqzoo.load_model`` patched to return it; best of 3).
   variants/s = VCF alleles / wall time.
   Baseline, on the first records of the same VCF and through the same CLI code path (window
   extraction, TSV writing) with ``PairScorer`` replaced: the Kipoi ``UTRVariantEffectModel``
   scheme, six forward passes per variant (ref and alt, each with 0, 1, 2 zero rows appended at
   the 3' end, ``model(x, indicator)`` on each), no reference sharing; in batches of 64 variants
   (as Kipoi's ``predict_on_batch``) and one variant at a time. The baseline uses seqzoo's fast
   one-hot encoder (Kipoi's per-base dict lookup is slower), so it is a generous baseline.
4. Ratios seqzoo / baseline and pass/fail against the targets (>= 2,500 sequences/s for the
   forward pass, >= 1,900 variants/s end to end). Targets are benchmark goals, not tests: the
   exit status is 0 unless ``--strict``.

Every timed row also reports how many cores *other* processes used meanwhile ("other load"); on a
shared 2-core machine a value well above 0 means the number is contended and should be rerun.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)
from common import (Counted, Worst, load_note, max_abs_diff, read_summary,  # noqa: E402
                    run_cli, status, vcf_subset)

import seqzoo  # noqa: E402
import seqzoo.cli  # noqa: E402
from seqzoo.encoding import one_hot_batch  # noqa: E402
from seqzoo.nets.framepool import DEFAULT_INDICATOR, N_FILTERS  # noqa: E402
from seqzoo.registry import _log2_ratio  # noqa: E402
from seqzoo.scoring import METADATA_COLUMNS, metadata_row  # noqa: E402
from seqzoo.synthetic import make_utr_dataset  # noqa: E402

TARGET_SEQS_PER_S = 2500.0
TARGET_VARIANTS_PER_S = 1900.0
CONTENDED_CORES = common.CONTENDED_CORES

FULL = dict(n_forward=4096, forward_repeats=3, matmul_repeats=5, e2e_repeats=3,
            dataset=dict(n_genes=160, variants_per_utr=63, contig_length=130_000),
            baseline_records=2000, per_variant_records=300)
QUICK = dict(n_forward=1024, forward_repeats=2, matmul_repeats=3, e2e_repeats=1,
             dataset=dict(n_genes=64, variants_per_utr=40, contig_length=60_000),
             baseline_records=500, per_variant_records=100)


# -- FLOPs -----------------------------------------------------------------------------------------
def framepool_flops(length: int, n_shifts: int = 3) -> dict[str, float]:
    """Multiply-add FLOPs (2 per MAC) of one Framepool sequence of ``length`` positions.

    Convolutions ('same' padding, L outputs each, k=7): 4->128, 128->128, 128->128. Head per shift:
    768->64, 64->1, scaling 4->1. Elementwise work (ReLU, masks, residual adds, pools) is not
    counted (< 0.3 %).
    """
    k, c = 7, N_FILTERS
    convs = 2 * length * k * (4 * c + c * c + c * c)
    head = n_shifts * 2 * (6 * c * 64 + 64 + 4)
    return {"conv": float(convs), "head": float(head), "total": float(convs + head)}


# -- Kipoi-style baseline --------------------------------------------------------------------------
class KipoiStylePairScorer:
    """Drop-in for :class:`seqzoo.scoring.PairScorer` that scores like Kipoi's Framepool model.

    Per batch of ``batch_size`` pairs: one-hot ref and alt (left-padded, separately), then for
    shift 0, 1, 2 (appending one zero row at the 3' end each time) ``model(ref)`` and
    ``model(alt)``: six forward passes per variant, no reference sharing, no dedup.
    """

    EFFECTS = ("mrl_fold_change", "shift_1", "shift_2")

    def __init__(self, spec, model, batch_size: int = 64, **extra):
        self.model = model
        self.batch_size = batch_size
        self.indicator = torch.tensor([DEFAULT_INDICATOR], dtype=torch.float32)

    def columns(self) -> list[str]:
        return list(METADATA_COLUMNS) + ["ref_mrl", "alt_mrl", *self.EFFECTS]

    def _predict(self, refs: list[str], alts: list[str]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        x_ref = torch.from_numpy(one_hot_batch(refs, pad="left"))
        x_alt = torch.from_numpy(one_hot_batch(alts, pad="left"))
        ind = self.indicator.expand(len(refs), 2)
        fcs, ref0, alt0 = [], None, None
        for shift in range(3):
            if shift:
                x_ref = F.pad(x_ref, (0, 0, 0, 1))  # one more all-zero row at the 3' end
                x_alt = F.pad(x_alt, (0, 0, 0, 1))
            ref = self.model(x_ref, ind).reshape(-1).numpy()
            alt = self.model(x_alt, ind).reshape(-1).numpy()
            if shift == 0:
                ref0, alt0 = ref, alt
            fcs.append(_log2_ratio(alt, ref))
        return ref0, alt0, fcs

    def score(self, pairs) -> list[dict]:
        rows = []
        with torch.inference_mode():
            for start in range(0, len(pairs), self.batch_size):
                batch = pairs[start:start + self.batch_size]
                ref, alt, fcs = self._predict([p.ref_seq for p in batch], [p.alt_seq for p in batch])
                for i, p in enumerate(batch):
                    row = metadata_row(p)
                    row["ref_mrl"], row["alt_mrl"] = ref[i], alt[i]
                    for name, fc in zip(self.EFFECTS, fcs):
                        row[name] = fc[i]
                    rows.append(row)
        return rows


# -- helpers ---------------------------------------------------------------------------------------
def utr_lengths(gtf: Path) -> list[int]:
    per_tx: dict[str, int] = {}
    with open(gtf) as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) == 9 and f[2] == "five_prime_utr":
                tid = f[8].split('transcript_id "')[1].split('"')[0]
                per_tx[tid] = per_tx.get(tid, 0) + int(f[4]) - int(f[3]) + 1
    return list(per_tx.values())


def score_argv(paths: dict, vcf: Path, out: Path, batch_size: int, weights: str | None) -> list[str]:
    argv = ["score", "--model", "Framepool", "--fasta", str(paths["fasta"]), "--gtf", str(paths["gtf"]),
            "--vcf", str(vcf), "-o", str(out), "--quiet", "--batch-size", str(batch_size)]
    if weights:
        argv += ["--weights", weights]
    return argv


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, ~30 s; does not update RESULTS.md")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--batch-size", type=int, default=64, help="model batch size (default 64)")
    ap.add_argument("--weights", default=None, help="Framepool .h5 (default: resolved by seqzoo)")
    ap.add_argument("--results", default=str(common.RESULTS_PATH), help="results Markdown file to update")
    ap.add_argument("--write", dest="write", action="store_true", default=None,
                    help="update the results file (default: yes for full runs, no with --quick)")
    ap.add_argument("--no-write", dest="write", action="store_false")
    ap.add_argument("--keep", default=None, help="write the synthetic dataset and outputs here (kept)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                    help="before each measurement wait until other processes use < 0.25 cores, at most "
                         "SECONDS in all (default 60, 10 with --quick; 0: never wait)")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    write = (not args.quick) if args.write is None else args.write
    if args.threads:
        torch.set_num_threads(args.threads)
    bs = args.batch_size
    waiter = common.QuietWaiter(args.wait_quiet if args.wait_quiet is not None else (10 if args.quick else 60),
                                threshold=CONTENDED_CORES)
    quiet = waiter.wait
    t_start = time.perf_counter()
    info = common.machine_info()
    rows: list[list[str]] = []
    results: dict[str, float] = {}

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def add(n, what, value, unit, target="", st="", mon=None, notes=""):
        rows.append([n, what, f"{value} {unit}".strip(), target, st, load_note(mon), notes])

    # 1. matmul yardstick ------------------------------------------------------------------------
    log("matmul throughput")
    quiet()
    with common.CpuMonitor() as mm_mon:
        mm_start = common.matmul_gflops(2048, repeats=cfg["matmul_repeats"])

    # 2. forward pass ----------------------------------------------------------------------------
    log("loading Framepool")
    with common.CpuMonitor() as load_mon:
        model = seqzoo.load_model("Framepool", weights=args.weights)
    seqs = common.random_seqs(cfg["n_forward"], 100)
    flops = framepool_flops(100)
    log(f"predict_sequences on {len(seqs)} x 100 nt, batch {bs}")
    quiet()
    with common.CpuMonitor() as pred_mon:
        t_pred, _ = common.best_time(lambda: model.predict_sequences(seqs, batch_size=bs),
                                     repeats=cfg["forward_repeats"])
    x_all = torch.from_numpy(one_hot_batch(seqs, pad="left"))
    batches = [x_all[i:i + bs].contiguous() for i in range(0, len(seqs), bs)]
    ind = torch.tensor([DEFAULT_INDICATOR], dtype=torch.float32)

    def raw():
        with torch.inference_mode():
            for xb in batches:
                model.forward_shifts(xb, ind)

    log("forward_shifts on pre-encoded tensors")
    quiet()
    with common.CpuMonitor() as raw_mon:
        t_raw, _ = common.best_time(raw, repeats=cfg["forward_repeats"])

    # 3. end to end ------------------------------------------------------------------------------
    tmp_ctx = tempfile.TemporaryDirectory(prefix="seqzoo-bench-") if args.keep is None else None
    work = Path(args.keep or tmp_ctx.name)
    work.mkdir(parents=True, exist_ok=True)
    try:
        log(f"generating synthetic dataset in {work}")
        t0 = time.perf_counter()
        paths = make_utr_dataset(work / "data", seed=0, extra_records=False, **cfg["dataset"])
        t_gen = time.perf_counter() - t0
        lengths = utr_lengths(paths["gtf"])
        out = work / "scores.tsv"

        log("seqzoo score, cold (model load, .fai build included)")
        quiet()
        cold_mon = run_cli(score_argv(paths, paths["vcf"], out, bs, args.weights))
        summary = read_summary(out)
        n_alleles = summary["alleles"]

        warm_mons, counters = [], []
        for i in range(cfg["e2e_repeats"]):
            log(f"seqzoo score, model preloaded ({i + 1}/{cfg['e2e_repeats']})")
            counter = Counted(model)
            quiet()
            warm_mons.append(run_cli(score_argv(paths, paths["vcf"], out, bs, args.weights),
                                     model=model, counter=counter))
            counters.append(counter)
        best = min(range(len(warm_mons)), key=lambda i: warm_mons[i].wall)
        warm_mon, counter = warm_mons[best], counters[best]

        sub_vcf = vcf_subset(paths["vcf"], work / "subset.vcf", cfg["baseline_records"])
        sub_out, base_out = work / "subset_seqzoo.tsv", work / "subset_kipoi.tsv"
        log(f"seqzoo score on the first {cfg['baseline_records']} records")
        quiet()
        sub_mon = run_cli(score_argv(paths, sub_vcf, sub_out, bs, args.weights), model=model)
        sub_alleles = read_summary(sub_out)["alleles"]
        log(f"Kipoi-style baseline (batch {bs}) on the same records")
        quiet()
        base_mon = run_cli(score_argv(paths, sub_vcf, base_out, bs, args.weights), model=model,
                           scorer=KipoiStylePairScorer)
        diff, n_cmp = max_abs_diff(sub_out, base_out, ["ref_mrl", "alt_mrl", *KipoiStylePairScorer.EFFECTS])
        pv_vcf = vcf_subset(paths["vcf"], work / "subset_small.vcf", cfg["per_variant_records"])
        pv_out = work / "subset_small_kipoi.tsv"
        log(f"Kipoi-style baseline, one variant at a time, on the first {cfg['per_variant_records']} records")
        quiet()
        pv_mon = run_cli(score_argv(paths, pv_vcf, pv_out, 1, args.weights), model=model,
                         scorer=KipoiStylePairScorer)
        pv_alleles = read_summary(pv_out)["alleles"]
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()

    log("matmul throughput again")
    quiet()
    with common.CpuMonitor() as mm_mon2:
        mm_end = common.matmul_gflops(2048, repeats=cfg["matmul_repeats"])
    mm = max(mm_start, mm_end)
    mm_mon = mm_mon if mm_start >= mm_end else mm_mon2

    # -- table -------------------------------------------------------------------------------------
    f = common.fmt
    n_fw = len(seqs)
    pred_sps, raw_sps = n_fw / t_pred, n_fw / t_raw
    pred_gf, raw_gf = pred_sps * flops["total"] / 1e9, raw_sps * flops["total"] / 1e9
    cold_vps, warm_vps = n_alleles / cold_mon.wall, n_alleles / warm_mon.wall
    sub_vps, base_vps, pv_vps = sub_alleles / sub_mon.wall, sub_alleles / base_mon.wall, pv_alleles / pv_mon.wall
    results.update(matmul_gflops=mm, predict_sps=pred_sps, raw_sps=raw_sps, cold_vps=cold_vps, warm_vps=warm_vps,
                   baseline_vps=base_vps, per_variant_vps=pv_vps)

    add("1", "float32 matmul 2048 x 2048, best of runs", f(mm), "GFLOP/s", mon=mm_mon,
        notes=f"start {f(mm_start)}, end {f(mm_end)} GFLOP/s; {torch.get_num_threads()} threads")
    add("2", "Framepool FLOPs per 100-nt sequence (analytic)", f(flops["total"] / 1e6), "MFLOP",
        notes=f"convs {f(flops['conv'] / 1e6)} + head (3 shifts) {f(flops['head'] / 1e6)} MFLOP")
    add("2a", f"`predict_sequences`, 100 nt, batch {bs} (one-hot + 3 shifts)", f(pred_sps), "seq/s",
        f">= {TARGET_SEQS_PER_S:,.0f}", status(pred_sps, TARGET_SEQS_PER_S, pred_mon), pred_mon,
        f"{f(pred_gf)} GFLOP/s = {pred_gf / mm:.0%} of matmul; best of {cfg['forward_repeats']}, {n_fw} seqs")
    add("2b", f"`forward_shifts` on pre-encoded tensors, batch {bs}", f(raw_sps), "seq/s",
        f">= {TARGET_SEQS_PER_S:,.0f}", status(raw_sps, TARGET_SEQS_PER_S, raw_mon), raw_mon,
        f"{f(raw_gf)} GFLOP/s = {raw_gf / mm:.0%} of matmul")
    add("3a", "model load (`seqzoo.load_model`, h5 -> torch)", f(load_mon.wall), "s", mon=load_mon)
    dataset = (f"{len(lengths)} transcripts, 5'UTR mean {np.mean(lengths):.0f} nt "
               f"(range {min(lengths)}-{max(lengths)}); {summary['records']:,} records, {n_alleles:,} alleles, "
               f"{summary['rows']:,} rows; generated in {t_gen:.1f} s")
    add("3b", "end to end `seqzoo score` VCF -> TSV, cold (incl. model load, .fai build)", f(cold_vps),
        "variants/s", mon=cold_mon, notes=f"{cold_mon.wall:.1f} s; {dataset}")
    add("3c", "end to end `seqzoo score`, model preloaded", f(warm_vps), "variants/s",
        f">= {TARGET_VARIANTS_PER_S:,.0f}", status(warm_vps, TARGET_VARIANTS_PER_S, warm_mon), warm_mon,
        f"best of {len(warm_mons)} ({', '.join(f'{m.wall:.1f}' for m in warm_mons)} s); "
        f"{counter.seqs:,} sequences predicted ({counter.seqs / summary['rows']:.2f} per row), "
        f"model {counter.seconds / warm_mon.wall:.0%} of the time at {f(counter.seqs / counter.seconds)} seq/s")
    add("3d", f"same, first {sub_alleles:,} alleles only", f(sub_vps), "variants/s", mon=sub_mon,
        notes=f"{sub_mon.wall:.2f} s")
    add("3e", f"Kipoi-style baseline (6 forwards/variant, batch {bs}), same {sub_alleles:,} alleles", f(base_vps),
        "variants/s", mon=base_mon,
        notes=f"{base_mon.wall:.2f} s; agrees with seqzoo to max abs diff {diff:.1e} over {n_cmp:,} rows "
              f"(MRL and log2 FCs)")
    add("3f", f"Kipoi-style baseline, one variant at a time (batch 1), first {pv_alleles:,} alleles", f(pv_vps),
        "variants/s", mon=pv_mon, notes=f"{pv_mon.wall:.2f} s")
    add("4a", "ratio seqzoo (3c) / Kipoi-style batch 64 (3e)", f"{warm_vps / base_vps:.1f}x", "",
        mon=Worst(warm_mon, base_mon), notes=f"same alleles (3d / 3e): {sub_vps / base_vps:.1f}x")
    add("4b", "ratio seqzoo (3c) / Kipoi-style batch 1 (3f)", f"{warm_vps / pv_vps:.1f}x", "",
        mon=Worst(warm_mon, pv_mon))

    headers = ["#", "measurement", "result", "target", "status", "other load (cores)", "notes"]
    table = common.markdown_table(headers, rows)
    targets_met = not any(r[4].startswith("FAIL") for r in rows)
    total = time.perf_counter() - t_start
    mode = "quick" if args.quick else "full"
    cmd = "python benchmarks/framepool.py" + (" --quick" if args.quick else "") + \
        (f" --threads {args.threads}" if args.threads else "") + (f" --batch-size {bs}" if bs != 64 else "")
    body = "\n\n".join([
        f"## Framepool ({mode} run, {common.timestamp()})",
        f"Command: `{cmd}` (total {total:.0f} s, of which {waiter.waited:.0f} s waiting for other processes "
        f"to leave the CPUs). Targets: {'all met' if targets_met else 'NOT all met'}.",
        "Machine:\n\n" + common.machine_markdown(info),
        table,
        "\"other load\" is the average number of cores used by other processes during the measurement; "
        f"above {CONTENDED_CORES} the row is marked contended and its number is pessimistic.",
    ])
    print(body)
    if write:
        path = common.update_results("framepool", body, args.results)
        log(f"updated {path}")
    log(f"done in {total:.0f} s")
    return 1 if (args.strict and not targets_met) else 0


if __name__ == "__main__":
    sys.exit(main())
