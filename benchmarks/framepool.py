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

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)

from seqzoo.encoding import one_hot_batch  # noqa: E402
from seqzoo.nets.framepool import DEFAULT_INDICATOR, N_FILTERS  # noqa: E402
from seqzoo.registry import _log2_ratio  # noqa: E402
from seqzoo.scoring import METADATA_COLUMNS, metadata_row  # noqa: E402
from seqzoo.synthetic import make_utr_dataset  # noqa: E402

MODEL = "Framepool"
TARGET_SEQS_PER_S = 2500.0
TARGET_VARIANTS_PER_S = 1900.0

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


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    run = common.BenchRun("Framepool", "framepool", __doc__.split("\n\n")[0], 64, "framepool.py",
                          full=FULL, quick=QUICK, max_seconds=None)
    args = run.parse(argv)
    cfg, bs, f = run.cfg, args.batch_size, common.fmt
    run.matmul_start()

    # 2. forward pass ----------------------------------------------------------------------------
    model = run.load_model(MODEL, args.weights, "h5 -> torch")
    seqs = common.random_seqs(cfg["n_forward"], 100)
    n_fw = len(seqs)
    pred_sps, pred_mon = run.predict_rate(model, seqs)
    x_all = torch.from_numpy(one_hot_batch(seqs, pad="left"))
    batches = [x_all[i:i + bs].contiguous() for i in range(0, n_fw, bs)]
    ind = torch.tensor([DEFAULT_INDICATOR], dtype=torch.float32)

    def raw():
        with torch.inference_mode():
            for xb in batches:
                model.forward_shifts(xb, ind)

    raw_sps, raw_mon = run.throughput("forward_shifts on pre-encoded tensors", raw, n_fw)
    run.results.update(predict_sps=pred_sps, raw_sps=raw_sps)

    # 3. end to end: seqzoo against the Kipoi scheme (batch --batch-size, and one variant per call) ---
    with run.workdir() as work:
        paths, t_gen = run.dataset(make_utr_dataset, work, extra_records=False)
        lengths = utr_lengths(paths["gtf"])
        e = common.measure_end_to_end(
            run, model, lambda vcf, out, b: common.score_argv(MODEL, paths["fasta"], paths["gtf"], vcf, out, b,
                                                              args.weights),
            paths["vcf"], work, ["ref_mrl", "alt_mrl", *KipoiStylePairScorer.EFFECTS],
            baseline=KipoiStylePairScorer, per_variant=(KipoiStylePairScorer, 1), baseline_name="Kipoi-style baseline")
    run.matmul_end()

    # -- rows 2-4b ---------------------------------------------------------------------------------
    flops = framepool_flops(100)
    add, count, secs = run.add, common.count, common.secs
    add("2", "Framepool FLOPs per 100-nt sequence (analytic)", flops["total"] / 1e6, "MFLOP",
        notes=f"convs {f(flops['conv'] / 1e6)} + head (3 shifts) {f(flops['head'] / 1e6)} MFLOP")
    add("2a", f"`predict_sequences`, 100 nt, batch {bs} (one-hot + 3 shifts)", pred_sps, "seq/s", pred_mon,
        f"{run.gflops_note(pred_sps, flops['total'])}; best of {cfg['forward_repeats']}, {n_fw} seqs",
        target=TARGET_SEQS_PER_S)
    add("2b", f"`forward_shifts` on pre-encoded tensors, batch {bs}", raw_sps, "seq/s", raw_mon,
        run.gflops_note(raw_sps, flops["total"]), target=TARGET_SEQS_PER_S)
    s = e.summary
    counts = (f"{s['records']:,} records, {s['alleles']:,} alleles, {s['rows']:,} rows" if s
              else "no run completed")
    add("3b", "end to end `seqzoo score` VCF -> TSV, cold (incl. model load, .fai build)", e.cold_vps,
        "variants/s", e.cold, f"{secs(e.cold)}; {len(lengths)} transcripts, 5'UTR mean {np.mean(lengths):.0f} nt "
                              f"(range {min(lengths)}-{max(lengths)}); {counts}; generated in {t_gen:.1f} s")
    notes = f"best of {len(e.warm)} ({', '.join(f'{m.wall:.1f}' for m, _ in e.warm)} s)"
    c = e.counter
    if c and s:
        notes += (f"; {c.seqs:,} sequences predicted ({c.seqs / s['rows']:.2f} per row), "
                  f"model {c.seconds / e.warm_mon.wall:.0%} of the time at {f(c.seqs / c.seconds)} seq/s")
    add("3c", "end to end `seqzoo score`, model preloaded", e.warm_vps, "variants/s", e.warm_mon, notes,
        target=TARGET_VARIANTS_PER_S)
    add("3d", f"same, first {count(e.sub_alleles)} alleles only", e.sub_vps, "variants/s", e.sub, secs(e.sub, 2))
    agree = (f"agrees with seqzoo to max abs diff {e.diff[0]:.1e} over {e.diff[1]:,} rows (MRL and log2 FCs)"
             if e.diff else "not compared")
    add("3e", f"Kipoi-style baseline (6 forwards/variant, batch {bs}), same {count(e.sub_alleles)} alleles",
        e.base_vps, "variants/s", e.base, f"{secs(e.base, 2)}; {agree}")
    add("3f", f"Kipoi-style baseline, one variant at a time (batch 1), first {count(e.pv_alleles)} alleles",
        e.pv_vps, "variants/s", e.pv, secs(e.pv, 2))
    add("4a", f"ratio seqzoo (3c) / Kipoi-style batch {bs} (3e)", common.ratio(e.warm_vps, e.base_vps), "",
        common.Worst(e.warm_mon, e.base), f"same alleles (3d / 3e): {common.ratio(e.sub_vps, e.base_vps)}")
    add("4b", "ratio seqzoo (3c) / Kipoi-style batch 1 (3f)", common.ratio(e.warm_vps, e.pv_vps), "",
        common.Worst(e.warm_mon, e.pv))
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
