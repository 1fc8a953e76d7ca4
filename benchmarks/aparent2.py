"""APARENT2 benchmark: matmul yardstick, model throughput, end-to-end ``seqzoo.score_vcf``,
baseline without shared reference predictions; prints one Markdown table and (full runs) updates the APARENT2 section of
``benchmarks/RESULTS.md``.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/aparent2.py [--quick]

What is measured (all in one process, torch's default threads unless ``--threads``):

1. float32 ``torch.matmul`` of two 2048 x 2048 matrices, best of several runs (GFLOP/s), at the
   start and at the end; the better one is the machine's yardstick.
2. APARENT2 on random 205-nt sequences, batch 64: ``model.predict_sequences`` (strings in: one-hot
   encoding with N = 0.25, library 11, softmax, iso_prob; numpy out) and the raw module
   (``cut_logits`` + softmax) on pre-encoded tensors. FLOPs per sequence are counted analytically
   (1x1 conv 4->32, 28 residual blocks of two 1x3 convs 32->32, 8 skip / last 1x1 convs 32->32,
   final 1x1 conv 32->1, library bias: 74.0 MFLOP), giving achieved GFLOP/s and the fraction of
   the matmul yardstick.
3. End to end on a synthetic genome + GTF (``transcript`` + ``exon`` lines) + VCF built here
   (:func:`make_pas_dataset`: ~300 transcripts of ~200 genes on both strands, a quarter of the
   genes with a second transcript sharing the 3' end, a quarter with a second polyA site 60 nt
   upstream, so that windows overlap; ~20,000 SNV / insertion / deletion records inside the 205-nt
   3'-end windows): VCF -> TSV through ``seqzoo.score_vcf``, once as is
   (model load, .fai build included) and with the loaded model passed in (best of 3).
   variants/s = VCF alleles / wall time.
   Baseline, on the first records of the same VCF and through the same ``score_vcf`` (window
   extraction, TSV writing): ``reuse_reference=False`` (no reference prediction kept from one slice
   of rows to the next), in batches of 64 rows, and one variant at a time (``chunk_rows=1``: a chunk
   per VCF record). Its scores are checked against seqzoo's (max abs diff).
4. Ratios seqzoo / baseline and pass/fail against the targets (>= 720 sequences/s forward, >= 900
   variants/s end to end). Targets are benchmark goals, not tests: exit status 0 unless ``--strict``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)

from seqzoo.encoding import one_hot_batch  # noqa: E402
from seqzoo.nets.aparent2 import (BLOCKS_PER_GROUP, DILATIONS, N_CHANNELS, N_LIBRARIES, N_POSITIONS,  # noqa: E402
                                  N_VALUE, SEQ_LEN, library_onehot)
from seqzoo.synthetic import gtf_line  # noqa: E402
from seqzoo.windows.pas import pas_window  # noqa: E402

MODEL = "APARENT2"
TARGET_SEQS_PER_S = 720.0
TARGET_VARIANTS_PER_S = 900.0

#: sizes; ``*_limit``: seconds after which a measurement is interrupted (about 3x its quiet time)
FULL = dict(n_forward=4096, forward_repeats=3, forward_limit=30, matmul_repeats=5,
            dataset=dict(n_genes=200, variants_per_window=80), e2e_repeats=3, e2e_limit=50,
            baseline_records=2000, per_variant_records=300, baseline_limit=25)
QUICK = dict(n_forward=1024, forward_repeats=2, forward_limit=10, matmul_repeats=3,
             dataset=dict(n_genes=80, variants_per_window=50), e2e_repeats=1, e2e_limit=15,
             baseline_records=500, per_variant_records=100, baseline_limit=8)
COMPARED = ["ref_iso_prob", "alt_iso_prob", "delta_logodds_narrow", "delta_logodds", "max_abs_delta_cut_prob"]


# -- FLOPs -----------------------------------------------------------------------------------------
def aparent2_flops(length: int = SEQ_LEN) -> dict[str, float]:
    """Multiply-add FLOPs (2 per MAC) of one APARENT2 sequence over its ``length`` positions.

    conv_0 1x1 4->32; 28 residual blocks x 2 convs 1x3 32->32; 7 skip convs + the last-block conv
    (1x1 32->32); final conv 1x1 32->1; library bias (206 x 13). BatchNorm, ReLU, residual and skip
    adds, softmax are not counted (< 1 %). The fast path also computes the 16 margin rows per
    sequence (221 / 205 = 1.08x these FLOPs), which are not counted.
    """
    c = N_CHANNELS
    n_blocks = len(DILATIONS) * BLOCKS_PER_GROUP
    conv_in = 2 * length * 4 * c
    res = n_blocks * 2 * 2 * length * 3 * c * c
    one_by_one = (len(DILATIONS) + 1) * 2 * length * c * c + 2 * length * c
    lib = 2 * N_POSITIONS * N_LIBRARIES
    return {"res": float(res), "other": float(conv_in + one_by_one + lib),
            "total": float(conv_in + res + one_by_one + lib)}


# -- synthetic dataset -----------------------------------------------------------------------------
def make_pas_dataset(out_dir: Path, seed: int = 0, n_genes: int = 200, variants_per_window: int = 80,
                     n_contigs: int = 2, slot: int = 6000) -> dict:
    """Random genome, GTF (transcript + exon lines) and VCF of variants in 3'-end windows.

    Genes alternate strands along each contig, 3 exons each (~1.9-4 kb spans), one gene per
    ``slot`` nt (no two genes' windows overlap). Gene g with g % 4 == 1 has a second transcript
    with another first exon and the same 3' end (the same window: a shared reference); g % 4 == 2
    a second transcript whose last exon ends 60 nt earlier (a second polyA site: overlapping
    windows). ``variants_per_window`` records (1/2 SNVs, 1/4 insertions, 1/4 deletions of 1-3 nt)
    start inside each distinct window. Returns the paths and counts.
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_contig = -(-n_genes // n_contigs)
    margin = 1000  # room for the windows and alternative first exons at the contig ends
    contig_length = 2 * margin + per_contig * slot
    contigs = common.random_genome(n_contigs, contig_length, seed)
    lines, windows = [], {}
    n_tx = 0
    for g in range(n_genes):
        chrom = str(g % n_contigs + 1)
        base = margin + (g // n_contigs) * slot  # 0-based left end of the gene's first transcript
        strand = "+" if (g // n_contigs) % 2 == 0 else "-"
        # exon layout in transcript orientation, offsets from the gene's 5' end (0-based half-open)
        e1 = int(rng.integers(150, 400))
        i1 = int(rng.integers(600, 1200))
        e2 = int(rng.integers(100, 250))
        i2 = int(rng.integers(600, 1200))
        e3 = int(rng.integers(400, 900))
        exons = [(0, e1), (e1 + i1, e1 + i1 + e2), (e1 + i1 + e2 + i2, e1 + i1 + e2 + i2 + e3)]
        txs = [("1", exons)]
        if g % 4 == 1:   # alternative first exon upstream, same 3' end
            txs.append(("2", [(-500, -300)] + exons[1:]))
        elif g % 4 == 2:  # alternative (proximal) polyA site 60 nt upstream
            txs.append(("2", exons[:2] + [(exons[2][0], exons[2][1] - 60)]))
        gene_id = f"G{g:03d}"
        for t, tx_exons in txs:
            tid = f"T{g:03d}.{t}"
            if strand == "+":
                fwd = [(base + s, base + e) for s, e in tx_exons]
            else:  # mirrored: 3' end at the anchor, the transcript's 5' end to the right
                span = exons[-1][1]
                fwd = sorted((base + span - e, base + span - s) for s, e in tx_exons)
            start, end = fwd[0][0], fwd[-1][1]
            lines.append(gtf_line(chrom, "transcript", start + 1, end, strand, tid, gene_id))
            for s, e in fwd:
                lines.append(gtf_line(chrom, "exon", s + 1, e, strand, tid, gene_id))
            w = pas_window(tid, gene_id, chrom, strand, start, end)
            windows.setdefault((chrom, w.start, w.end), []).append(tid)
            n_tx += 1
    records = common.variants_in_windows(rng, contigs, windows, variants_per_window)
    paths = common.write_dataset(out_dir, contigs, records, lines)
    return dict(paths=paths, n_genes=n_genes, n_transcripts=n_tx, n_windows=len(windows), n_records=len(records))


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    run = common.BenchRun("APARENT2", "aparent2", __doc__.split("\n\n")[0], 64, "aparent2.py",
                          full=FULL, quick=QUICK)
    args = run.parse(argv)
    cfg, bs, f = run.cfg, args.batch_size, common.fmt
    run.matmul_start()

    # 2. forward pass ----------------------------------------------------------------------------
    model = run.load_model(MODEL, args.weights, "h5 -> torch")
    seqs = common.random_seqs(cfg["n_forward"], SEQ_LEN)
    n_fw = len(seqs)
    pred_sps, pred_mon = run.predict_rate(model, seqs)
    x_all = torch.from_numpy(one_hot_batch(seqs, width=SEQ_LEN, n_value=N_VALUE))
    batches = [x_all[i:i + bs].contiguous() for i in range(0, n_fw, bs)]
    libs = [library_onehot(None, len(xb)) for xb in batches]

    def raw():
        with torch.inference_mode():
            for xb, lib in zip(batches, libs):
                torch.softmax(model.cut_logits(xb, lib), dim=-1)

    raw_sps, raw_mon = run.throughput("cut_logits + softmax on pre-encoded tensors", raw, n_fw)

    # 3. end to end ------------------------------------------------------------------------------
    with run.workdir() as work:
        ds, t_gen = run.dataset(make_pas_dataset, work)
        paths = ds["paths"]
        dataset = (f"{ds['n_genes']} genes, {ds['n_transcripts']} transcripts, {ds['n_windows']} distinct 205-nt "
                   f"windows, generated in {t_gen:.1f} s")
        run.end_to_end(MODEL, model, paths, work, COMPARED, dataset, TARGET_VARIANTS_PER_S)
    run.matmul_end()

    # -- rows 2-2b ---------------------------------------------------------------------------------
    flops = aparent2_flops()
    run.add("2", f"APARENT2 FLOPs per {SEQ_LEN}-nt sequence (analytic)", flops["total"] / 1e6, "MFLOP",
            notes=f"56 dilated 1x3 convs {f(flops['res'] / 1e6)} + 1x1 convs and library bias "
                  f"{f(flops['other'] / 1e6)} MFLOP")
    run.add("2a", f"`predict_sequences`, {SEQ_LEN} nt, batch {bs} (one-hot + softmax + iso_prob)", pred_sps,
            "seq/s", pred_mon, f"{run.gflops_note(pred_sps, flops['total'])}; best of {cfg['forward_repeats']}, "
            f"{n_fw} seqs; Keras ~180, fastest other torch port ~480 seq/s", target=TARGET_SEQS_PER_S)
    run.add("2b", f"`cut_logits` + softmax on pre-encoded tensors, batch {bs}", raw_sps, "seq/s", raw_mon,
            run.gflops_note(raw_sps, flops["total"]), target=TARGET_SEQS_PER_S)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
