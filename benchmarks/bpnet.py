"""BPNet-OSKN benchmark: matmul yardstick, model throughput, end-to-end ``seqzoo.score_vcf``, baseline
without shared reference predictions; prints one Markdown table and (full runs) updates the BPNet section of
``benchmarks/RESULTS.md``.

    python benchmarks/bpnet.py [--quick] [--weights bpnet.model.h5]

Weights: without ``--weights`` the script uses ``tests/fixtures/bpnet/bpnet.fixture.h5``, a
Keras-built model with the published architecture and layer names and random weights (the
published ``bpnet.model.h5`` need not be present): the speed is representative, the predictions are
not.

What is measured (all in one process, torch's default threads unless ``--threads``):

1. float32 ``torch.matmul`` of two 2048 x 2048 matrices, best of several runs (GFLOP/s), at the
   start and at the end; the better one is the machine's yardstick.
2. BPNet-OSKN on random 1000-nt sequences, batch 64: ``model.predict_sequences`` (strings in:
   one-hot with N = 0, trunk, the four tasks' profile and counts heads, softmax x exp(counts),
   log total counts; numpy out, zero bias inputs as Kipoi feeds) and the raw module (``forward`` =
   trunk + heads) on pre-encoded tensors. FLOPs per sequence are counted analytically
   (:func:`bpnet_flops`: conv 64 x 25 on the one-hot input, nine dilated 3-tap 64 -> 64 residual
   convs, four tasks' 25-tap transposed-conv profile heads (2 strands each) and 64 -> 2 counts heads:
   259.6 MFLOP), giving achieved GFLOP/s and the fraction of the matmul yardstick.
3. End to end on a synthetic genome + VCF built here (:func:`make_centered_dataset`: two random
   100-kb contigs, 2,000 SNV / insertion / deletion records at random positions at least 600 nt
   from the contig ends; no GTF: BPNet's windows are the 1000 nt centred on each variant): VCF ->
   TSV through ``seqzoo.score_vcf`` (no GTF), once as is (model load, .fai build included) and with
   the loaded model passed in (best of 2). variants/s = VCF alleles / wall time.
   Baseline, on the first records of the same VCF and through the same ``score_vcf`` (window
   extraction, TSV writing): ``reuse_reference=False`` (no reference prediction kept from one slice
   of rows to the next), in batches of 64 rows, and one variant at a time (``chunk_rows=1``: a chunk
   per VCF record). Its scores are checked against seqzoo's (max abs diff).
4. Ratios seqzoo / baseline. BPNet-OSKN has no throughput targets: the target column stays empty.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)

from seqzoo import registry  # noqa: E402
from seqzoo.encoding import one_hot_batch  # noqa: E402
from seqzoo.nets.bpnet import CONV1_KERNEL, DILATIONS, N_FILTERS, N_STRANDS, SEQ_LEN, TASKS, TCONV_KERNEL  # noqa: E402
from seqzoo.windows.centered import CENTER  # noqa: E402

MODEL = "BPNet-OSKN"
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"

#: sizes; ``*_limit``: seconds after which a measurement is interrupted (about 3x its quiet time)
FULL = dict(n_forward=768, forward_repeats=3, forward_limit=36, matmul_repeats=5,
            dataset=dict(n_records=2000), e2e_repeats=2, e2e_limit=45,
            baseline_records=600, per_variant_records=150, baseline_limit=15)
QUICK = dict(n_forward=128, forward_repeats=1, forward_limit=8, matmul_repeats=3,
             dataset=dict(n_records=200), e2e_repeats=1, e2e_limit=15,
             baseline_records=60, per_variant_records=20, baseline_limit=6)
SPEC = registry.get(MODEL)
COMPARED = [f"{side}_{o}" for o in SPEC.outputs for side in ("ref", "alt")] + list(SPEC.effect_names)


# -- FLOPs -----------------------------------------------------------------------------------------
def bpnet_flops(length: int = SEQ_LEN, n_tasks: int = len(TASKS)) -> dict[str, float]:
    """Multiply-add FLOPs (2 per MAC) of one BPNet-OSKN sequence over its ``length`` positions.

    ``conv_first`` Conv1D 4 -> 64, kernel 25; nine dilated Conv1D 64 -> 64, kernel 3 (dilation
    2..512; 'same' padding, so every position runs the full kernel); per task a profile head
    (Conv2DTranspose 64 -> 2 strands, kernel 25, run as one fused 64 -> 8 conv1d) and a counts head
    (global average pool, Dense 64 -> 2). The bias tracks (inputs ``bias/<task>/...``) are not run
    with zero / absent bias inputs and are not counted; ReLU, residual adds, pooling sums, softmax
    and exp are not counted (< 1 %).
    """
    c = N_FILTERS
    conv_first = 2 * length * CONV1_KERNEL * 4 * c
    dilated = len(DILATIONS) * 2 * length * 3 * c * c
    profile = n_tasks * 2 * length * TCONV_KERNEL * c * N_STRANDS
    counts = n_tasks * 2 * c * N_STRANDS
    return {"conv_first": float(conv_first), "dilated": float(dilated), "profile": float(profile),
            "counts": float(counts), "total": float(conv_first + dilated + profile + counts)}


# -- synthetic dataset -----------------------------------------------------------------------------
def make_centered_dataset(out_dir: Path, seed: int = 0, n_records: int = 2000, n_contigs: int = 2,
                          contig_length: int = 100_000, margin: int = 600) -> dict:
    """Random genome and a VCF of ``n_records`` records (1/2 SNVs, 1/4 insertions, 1/4 deletions of
    1-3 nt) at uniformly random positions at least ``margin`` nt from the contig ends, so that every
    1000-nt window centred on a variant (and the sequence a deletion pulls in) lies inside its
    contig. Returns the paths and counts (no GTF: BPNet-OSKN's windows need none)."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    assert margin > CENTER + 3, "the window (and a 3-nt deletion's extra bases) must fit in the contig"
    contigs = common.random_genome(n_contigs, contig_length, seed)
    per_contig = -(-n_records // n_contigs)
    records = []
    for chrom, seq in contigs.items():
        n = min(per_contig, n_records - len(records))
        records += common.sample_variants(rng, seq, chrom, margin, contig_length - margin, n)
    paths = common.write_dataset(out_dir, contigs, records)
    n_positions = len({(r[0], r[1]) for r in records})
    return dict(paths=paths, n_contigs=n_contigs, contig_length=contig_length, n_records=len(records),
                n_positions=n_positions)


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    run = common.BenchRun("BPNet-OSKN", "bpnet", __doc__.split("\n\n")[0], 64, "bpnet.py", full=FULL, quick=QUICK)
    args = run.parse(argv)
    cfg, bs, f = run.cfg, args.batch_size, common.fmt
    weights = args.weights or str(FIXTURE)
    stand_in = args.weights is None
    run.matmul_start()

    # 2. forward pass ----------------------------------------------------------------------------
    model = run.load_model(MODEL, weights, "h5 -> torch" + (", stand-in: random-weights fixture" if stand_in else ""))
    seqs = common.random_seqs(cfg["n_forward"], SEQ_LEN)
    n_fw = len(seqs)
    pred_sps, pred_mon = run.predict_rate(model, seqs)
    x_all = torch.from_numpy(one_hot_batch(seqs, width=SEQ_LEN, n_value=0.0))
    batches = [x_all[i:i + bs].contiguous() for i in range(0, n_fw, bs)]

    def raw():
        with torch.inference_mode():
            for xb in batches:
                model(xb)

    raw_sps, raw_mon = run.throughput("forward (trunk + heads) on pre-encoded tensors", raw, n_fw)

    # 3. end to end ------------------------------------------------------------------------------
    with run.workdir() as work:
        ds, t_gen = run.dataset(make_centered_dataset, work)
        paths = ds["paths"]
        dataset = (f"{ds['n_contigs']} random contigs of {ds['contig_length'] // 1000} kb, variants at "
                   f"{ds['n_positions']:,} distinct positions (1000-nt windows centred on each), no GTF, "
                   f"generated in {t_gen:.1f} s")
        run.end_to_end(MODEL, model, paths, work, COMPARED, dataset, weights=weights)  # no target
    run.matmul_end()

    # -- rows 2-2b ---------------------------------------------------------------------------------
    flops = bpnet_flops()
    mf = lambda key: f(flops[key] / 1e6)  # noqa: E731
    run.add("2", f"BPNet-OSKN FLOPs per {SEQ_LEN}-nt sequence (analytic)", mf("total"), "MFLOP",
            notes=f"conv 64 x 25 on one-hot {mf('conv_first')} + 9 dilated 3-tap 64 -> 64 convs {mf('dilated')} + "
                  f"{len(TASKS)} profile heads (25-tap, 64 -> 2) {mf('profile')} + counts heads {mf('counts')} "
                  f"MFLOP; bias tracks not run (zero inputs)")
    run.add("2a", f"`predict_sequences`, {SEQ_LEN} nt, batch {bs} (one-hot + trunk + heads + profile_counts)",
            pred_sps, "seq/s", pred_mon,
            f"{run.gflops_note(pred_sps, flops['total'])}; best of {cfg['forward_repeats']}, {n_fw} seqs")
    run.add("2b", f"`forward` (trunk + heads) on pre-encoded tensors, batch {bs}", raw_sps, "seq/s", raw_mon,
            run.gflops_note(raw_sps, flops["total"]))
    weights_note = (
        "Weights: `tests/fixtures/bpnet/bpnet.fixture.h5`, a Keras-built BPNet-OSKN with random weights and the "
        "published architecture and layer names (the published `bpnet.model.h5` is not available here), i.e. "
        "stand-in weights: the speed is representative, the predicted values are not."
        if stand_in else f"Weights: `{weights}`.")
    return run.finish(notes=[
        weights_note + " BPNet-OSKN has no throughput targets: the target column is empty.",
        "Windows are centred on each variant, so a reference window is shared only by alleles at the same "
        "position: seqzoo predicts about as many 1000-nt windows per row as the naive baseline (3c's note) and "
        "the end-to-end ratio reflects batching and overheads, not saved forward passes."])


if __name__ == "__main__":
    sys.exit(main())
