"""Framepool benchmark: matmul yardstick, model throughput, end-to-end ``seqzoo.score_vcf``, Kipoi-style
baseline; prints one Markdown table and (full runs) updates the Framepool section of
``benchmarks/RESULTS.md``.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/framepool.py [--quick]

What is measured (all in one process, torch's default threads unless ``--threads``):

1. float32 ``torch.matmul`` of two 2048 x 2048 matrices, best of several runs (GFLOP/s), measured
   at the start and at the end; the better one is the machine's yardstick.
2. Framepool on random 100-nt sequences, batch 64: ``model.predict_sequences`` (strings in: one-hot
   encoding, the three shifted predictions, numpy out) and the raw module ``forward_shifts`` on
   pre-encoded tensors. FLOPs per sequence are counted analytically (3 convolutions k=7 and the
   dense head for 3 shifts: the Keras graph's), giving achieved GFLOP/s and the fraction of the
   matmul yardstick; ``predict_sequences`` computes convolution 1 and convolution 2's part from
   convolution 0's features by 7-mer lookup and the rest of convolution 2 over only the channels of
   relu(convolution 1) that are not 0, so its row also gives the fraction of the FLOPs it executes.
3. End to end on a synthetic genome + GTF + VCF (``seqzoo.synthetic.make_utr_dataset``; ~200
   transcripts with ~100-nt 5'UTRs, ~20,000 variant records inside them): VCF -> TSV through
   ``seqzoo.score_vcf``, once as is (model load, .fai build included) and with the loaded model
   passed in (best of 3). variants/s = VCF alleles / wall time.
   Baseline, on the first records of the same VCF and through the same ``score_vcf`` (window
   extraction, TSV writing): the Kipoi ``UTRVariantEffectModel`` scheme as a model of its own,
   :class:`KipoiStyleFramepool` (three forward passes per sequence: with 0, 1, 2 zero rows appended
   at the 3' end, ``model(x, indicator)`` on each; six per variant where its ref and alt are both
   predicted), passed as ``("Framepool", KipoiStyleFramepool(model))`` with ``reuse_reference=False``;
   in batches of 64 and one variant at a time (``chunk_rows=1``). It uses seqzoo's fast one-hot
   encoder (Kipoi's per-base dict lookup is slower), so it is a generous baseline.
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
class KipoiStyleFramepool:
    """Framepool predicted the way Kipoi's ``UTRVariantEffectModel`` does: one forward pass per frame
    shift, on the sequences with 0, 1 and 2 all-zero rows appended at the 3' end (``model(x,
    indicator)`` each; seqzoo's Framepool computes the three shifts from one convolution pass).
    Returns the keys of ``Framepool.predict_sequences``, so ``seqzoo.score_vcf`` scores it as
    Framepool."""

    def __init__(self, model):
        self.model = model
        self.indicator = torch.tensor([DEFAULT_INDICATOR], dtype=torch.float32)

    def predict_sequences(self, seqs, batch_size: int = 64, **extra) -> dict[str, np.ndarray]:
        parts = {k: [] for k in ("mrl", "mrl_unscaled", "mrl_shift_1", "mrl_shift_2")}
        with torch.inference_mode():
            for start in range(0, len(seqs), batch_size):
                x = torch.from_numpy(one_hot_batch(list(seqs[start:start + batch_size]), pad="left"))
                ind = self.indicator.expand(len(x), 2)
                for shift in range(3):
                    if shift:
                        x = F.pad(x, (0, 0, 0, 1))  # one more all-zero row at the 3' end
                    mrl, unscaled = self.model.forward_shifts(x, ind, shifts=(0,))
                    parts["mrl" if shift == 0 else f"mrl_shift_{shift}"].append(mrl[:, 0].numpy())
                    if shift == 0:
                        parts["mrl_unscaled"].append(unscaled[:, 0].numpy())
        return {k: np.concatenate(v) if v else np.zeros(0, np.float32) for k, v in parts.items()}


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
                          full=FULL, quick=QUICK)
    args = run.parse(argv)
    cfg, bs, f = run.cfg, args.batch_size, common.fmt
    run.matmul_start()

    # 2. forward pass ----------------------------------------------------------------------------
    model = run.load_model(MODEL, args.weights, "h5 -> torch")
    seqs = common.random_seqs(cfg["n_forward"], 100)
    n_fw = len(seqs)
    pred_sps, pred_mon = run.predict_rate(model, seqs)
    conv_executed, live = common.framepool_executed_flops(model, seqs)
    x_all = torch.from_numpy(one_hot_batch(seqs, pad="left"))
    batches = [x_all[i:i + bs].contiguous() for i in range(0, n_fw, bs)]
    ind = torch.tensor([DEFAULT_INDICATOR], dtype=torch.float32)

    def raw():
        with torch.inference_mode():
            for xb in batches:
                model.forward_shifts(xb, ind)

    raw_sps, raw_mon = run.throughput("forward_shifts on pre-encoded tensors", raw, n_fw)

    # 3. end to end: seqzoo against the Kipoi scheme (batch --batch-size, and one variant at a time) ---
    with run.workdir() as work:
        paths, t_gen = run.dataset(make_utr_dataset, work, extra_records=False)
        lengths = utr_lengths(paths["gtf"])
        dataset = (f"{len(lengths)} transcripts, 5'UTR mean {np.mean(lengths):.0f} nt (range {min(lengths)}-"
                   f"{max(lengths)}), generated in {t_gen:.1f} s")
        run.end_to_end(MODEL, model, paths, work, ["ref_mrl", "alt_mrl", "mrl_fold_change", "shift_1", "shift_2"],
                       dataset, TARGET_VARIANTS_PER_S, baseline=KipoiStyleFramepool(model),
                       baseline_label=f"Kipoi-style baseline (3 forward passes per sequence, batch {bs})")
    run.matmul_end()

    # -- rows 2-4b ---------------------------------------------------------------------------------
    flops = framepool_flops(100)
    add = run.add
    add("2", "Framepool FLOPs per 100-nt sequence (analytic)", flops["total"] / 1e6, "MFLOP",
        notes=f"convs {f(flops['conv'] / 1e6)} + head (3 shifts) {f(flops['head'] / 1e6)} MFLOP")
    executed = flops["head"] + conv_executed  # the 7-mer tables and convolution 2 over live channels
    add("2a", f"`predict_sequences`, 100 nt, batch {bs} (packed codes, 7-mer lookups, convolution 2 split, 3 shifts)",
        pred_sps, "seq/s", pred_mon,
        f"Keras-graph {run.gflops_note(pred_sps, flops['total'])}; executed "
        f"{run.gflops_note(pred_sps, executed)} (convolution 2 over {live} live channels); best of "
        f"{cfg['forward_repeats']}, {n_fw} seqs", target=TARGET_SEQS_PER_S)
    add("2b", f"`forward_shifts` on pre-encoded tensors, batch {bs}", raw_sps, "seq/s", raw_mon,
        run.gflops_note(raw_sps, flops["total"]), target=TARGET_SEQS_PER_S)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
