"""Xpresso benchmark: matmul yardstick, model throughput, end-to-end ``seqzoo.score_vcf``,
baseline without shared reference predictions; prints one Markdown table and (full runs) updates the Xpresso section of
``benchmarks/RESULTS.md``.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/xpresso.py [--quick]

What is measured (all in one process, torch's default threads unless ``--threads``), with the
``Xpresso/human_median`` weights:

1. float32 ``torch.matmul`` of two 2048 x 2048 matrices, best of several runs (GFLOP/s), at the
   start and at the end; the better one is the machine's yardstick.
2. Xpresso on random 10,500-nt sequences, batch 16: ``model.predict_sequences`` (strings in:
   base codes, conv-window codes, the table first convolution + max pool, conv2, dense head;
   numpy out), the module's ``forward_codes`` on pre-computed window codes, and, for reference,
   ``forward_dense`` (the literal Keras computation, dense first convolution) on one-hot tensors.
   FLOPs per sequence are counted analytically for the Keras graph (conv 4->128 k=6 over 10,500
   positions, conv 128->32 k=9 over 350, dense 1126->64->2->1: 90.5 MFLOP) and for what the table
   path executes (conv2 + dense: 25.9 MFLOP, plus 10,500 x 128 table reads and maxima), giving
   Keras-equivalent and executed GFLOP/s and their fractions of the matmul yardstick.
3. End to end on a synthetic genome + GTF (``gene`` + ``transcript`` + ``exon`` lines) + half-life
   TSV + VCF built here (:func:`make_tss_dataset`: ~40 genes on both strands, half of them in
   head-to-head pairs whose TSSs are 1 kb apart, so that their 10.5-kb windows overlap by 8 kb;
   ~10,000 SNV / insertion / deletion records inside the windows): VCF -> TSV through
   ``seqzoo.score_vcf(..., halflife_file=...)``, once as is (model load, .fai build included) and
   with the loaded model passed in (best of 3). variants/s = VCF alleles / wall time.
   Baseline, on the first records of the same VCF and through the same ``score_vcf`` (window
   extraction, TSV writing): ``reuse_reference=False`` (no reference prediction kept from one slice
   of rows to the next), in batches of 16 rows, and one variant at a time (``chunk_rows=1``: a chunk
   per VCF record). Its scores are checked against seqzoo's (max abs diff).
4. Ratios seqzoo / baseline and pass/fail against the targets (>= 680 sequences/s forward, >= 850
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
from seqzoo.nets.xpresso import (CONV1_FILTERS, CONV1_WIDTH, CONV2_FILTERS, CONV2_WIDTH, HIDDEN,  # noqa: E402
                                 N_FLAT, N_HALFLIFE, POS1, SEQ_LEN, base_codes, kmer_codes)
from seqzoo.synthetic import gtf_line  # noqa: E402
from seqzoo.windows.tss import tss_window  # noqa: E402

MODEL = "Xpresso/human_median"
TARGET_SEQS_PER_S = 680.0
TARGET_VARIANTS_PER_S = 850.0

#: sizes; ``*_limit``: seconds after which a measurement is interrupted (about 3x its quiet time)
FULL = dict(n_forward=1024, forward_repeats=3, forward_limit=20, n_dense=64, matmul_repeats=5,
            dataset=dict(n_genes=40, variants_per_gene=250), e2e_repeats=3, e2e_limit=30,
            baseline_records=1500, per_variant_records=200, baseline_limit=15)
QUICK = dict(n_forward=256, forward_repeats=2, forward_limit=8, n_dense=32, matmul_repeats=3,
             dataset=dict(n_genes=16, variants_per_gene=150), e2e_repeats=1, e2e_limit=10,
             baseline_records=400, per_variant_records=60, baseline_limit=5)
COMPARED = ["ref_expression", "alt_expression", "delta_expression"]


# -- FLOPs -----------------------------------------------------------------------------------------
def xpresso_flops() -> dict[str, float]:
    """Multiply-add FLOPs (2 per MAC) of one Xpresso sequence: the Keras graph's conv1 (4->128,
    k=6, 10,500 positions), conv2 (128->32, k=9, 350 positions) and dense head (1126->64->2->1).
    ReLU, pooling, concatenation are not counted. The table path does not execute conv1: it reads
    10,500 table rows of 128 instead (``conv1_table_reads``)."""
    conv1 = 2 * SEQ_LEN * CONV1_WIDTH * 4 * CONV1_FILTERS
    conv2 = 2 * POS1 * CONV2_WIDTH * CONV1_FILTERS * CONV2_FILTERS
    dense = 2 * ((N_FLAT + N_HALFLIFE) * HIDDEN[0] + HIDDEN[0] * HIDDEN[1] + HIDDEN[1])
    return {"conv1": float(conv1), "conv2": float(conv2), "dense": float(dense),
            "total": float(conv1 + conv2 + dense), "executed": float(conv2 + dense),
            "conv1_table_reads": float(SEQ_LEN * CONV1_FILTERS)}


# -- synthetic dataset -----------------------------------------------------------------------------
def make_tss_dataset(out_dir: Path, seed: int = 0, n_genes: int = 40, variants_per_gene: int = 250,
                     n_contigs: int = 2, pair_distance: int = 1000) -> dict:
    """Random genome, GTF (gene + transcript + exon lines), half-life TSV and VCF of variants in
    10.5-kb TSS windows.

    Genes are laid out along each contig in groups of four: a head-to-head pair ('-' gene, then a
    '+' gene whose TSS lies ``pair_distance`` nt downstream: a bidirectional promoter, the two
    windows overlapping), then a solo '+' and a solo '-' gene; otherwise windows do not overlap.
    Genes are 3-8 kb with 1-2 transcripts of 2-4 exons. ``variants_per_gene`` records (1/2 SNVs,
    1/4 insertions, 1/4 deletions of 1-3 nt) start inside each gene's window. The half-life TSV
    has random features for all genes but every tenth (those get zeros, ``zeros_gene_not_in_file``).
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    gap = 2000
    cursors = [gap] * n_contigs
    genes = []  # (gene_id, chrom, strand, start, end) 0-based half-open
    for g in range(n_genes):
        c = g % n_contigs
        k = (g // n_contigs) % 4  # position in the group of four on this contig
        length = int(rng.integers(3000, 8000))
        cur = cursors[c]
        if k == 0:    # '-' gene of a head-to-head pair: TSS (its last base) at tss
            tss = cur + max(length, 3499, 7000 - pair_distance)  # the partner's window starts >= cur
            genes.append((f"G{g:03d}", str(c + 1), "-", tss + 1 - length, tss + 1))
            cursors[c] = tss + 1   # the '+' partner starts from here
        elif k == 1:  # '+' partner, TSS pair_distance downstream of the '-' gene's TSS
            tss = cur - 1 + pair_distance
            genes.append((f"G{g:03d}", str(c + 1), "+", tss, tss + length))
            cursors[c] = max(tss - pair_distance + 7001, tss + max(length, 3500)) + gap
        elif k == 2:  # solo '+'
            tss = cur + 7000
            genes.append((f"G{g:03d}", str(c + 1), "+", tss, tss + length))
            cursors[c] = tss + max(length, 3500) + gap
        else:         # solo '-'
            tss = cur + max(length, 3499)
            genes.append((f"G{g:03d}", str(c + 1), "-", tss + 1 - length, tss + 1))
            cursors[c] = tss + 7001 + gap
    contig_length = max(cursors) + gap
    contigs = common.random_genome(n_contigs, contig_length, seed)
    lines, records = [], []
    n_tx = 0
    for gene_id, chrom, strand, start, end in genes:
        lines.append(gtf_line(chrom, "gene", start + 1, end, strand, None, gene_id))
        for t in range(1 + int(rng.integers(0, 2))):
            # exons in transcript orientation (offsets from the TSS); the first starts at the TSS
            n_ex = int(rng.integers(2, 5))
            cuts = np.sort(rng.choice(np.arange(100, end - start - 200), size=2 * (n_ex - 1), replace=False))
            bounds = [0, *cuts.tolist(), end - start - (150 * t)]
            exons = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(n_ex)]
            if strand == "+":
                fwd = [(start + s, start + e) for s, e in exons]
            else:
                fwd = sorted((end - e, end - s) for s, e in exons)
            tid = f"T{gene_id[1:]}.{t + 1}"
            lines.append(gtf_line(chrom, "transcript", fwd[0][0] + 1, fwd[-1][1], strand, tid, gene_id))
            for s, e in fwd:
                lines.append(gtf_line(chrom, "exon", s + 1, e, strand, tid, gene_id))
            n_tx += 1
        w = tss_window(gene_id, gene_id, chrom, strand, start, end)
        assert w.start >= 0 and w.end + 10 <= contig_length, (w, contig_length)
        records += common.sample_variants(rng, contigs[chrom], chrom, w.start, w.end, variants_per_gene)
    halflife = out_dir / "halflife.tsv"
    with open(halflife, "w") as fh:
        fh.write("gene_id\t" + "\t".join(f"f{i}" for i in range(N_HALFLIFE)) + "\n")
        for i, (gene_id, *_rest) in enumerate(genes):
            if i % 10 != 9:
                fh.write(gene_id + "\t" + "\t".join(f"{v:.4f}" for v in rng.normal(size=N_HALFLIFE)) + "\n")
    paths = {**common.write_dataset(out_dir, contigs, records, lines), "halflife": halflife}
    return dict(paths=paths, n_genes=n_genes, n_transcripts=n_tx, n_records=len(records),
                genome_mb=n_contigs * contig_length / 1e6)


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    run = common.BenchRun("Xpresso", "xpresso", __doc__.split("\n\n")[0], 16, "xpresso.py",
                          full=FULL, quick=QUICK)
    args = run.parse(argv)
    cfg, bs, f = run.cfg, args.batch_size, common.fmt
    run.matmul_start()

    # 2. forward pass ----------------------------------------------------------------------------
    model = run.load_model(MODEL, args.weights, "h5 -> torch")
    seqs = common.random_seqs(cfg["n_forward"], SEQ_LEN)
    n_fw = len(seqs)
    halflife = np.random.default_rng(1).normal(size=(n_fw, N_HALFLIFE)).astype(np.float32)
    pred_sps, pred_mon = run.predict_rate(model, seqs, halflife=halflife)
    kmers = torch.from_numpy(kmer_codes(base_codes(seqs)))
    hl = torch.from_numpy(halflife)
    batches = [(kmers[i:i + bs].contiguous(), hl[i:i + bs]) for i in range(0, n_fw, bs)]

    def raw():
        with torch.inference_mode():
            for kb, hb in batches:
                model.forward_codes(kb, hb)

    raw_sps, raw_mon = run.throughput("forward_codes on pre-computed window codes", raw, n_fw)
    n_dense = cfg["n_dense"]
    x_dense = torch.from_numpy(one_hot_batch(seqs[:n_dense], width=SEQ_LEN))
    dense_batches = [(x_dense[i:i + bs], hl[i:i + bs]) for i in range(0, n_dense, bs)]

    def dense():
        with torch.inference_mode():
            for xb, hb in dense_batches:
                model.forward_dense(xb, hb)

    dense_sps, dense_mon = run.throughput(
        f"forward_dense (literal Keras computation) on {n_dense} one-hot sequences", dense, n_dense, repeats=2)
    with torch.inference_mode():  # the table path and the literal computation agree
        agree = float((model.forward_codes(kmers[:n_dense], hl[:n_dense])
                       - model.forward_dense(x_dense, hl[:n_dense])).abs().max())

    # 3. end to end ------------------------------------------------------------------------------
    with run.workdir() as work:
        ds, t_gen = run.dataset(make_tss_dataset, work)
        paths = ds["paths"]
        dataset = (f"{ds['n_genes']} genes ({ds['n_genes'] // 4} head-to-head pairs), {ds['n_transcripts']} "
                   f"transcripts, {ds['genome_mb']:.1f} Mb, half-life file; generated in {t_gen:.1f} s")
        run.end_to_end(MODEL, model, paths, work, COMPARED, dataset, TARGET_VARIANTS_PER_S,
                       halflife_file=paths["halflife"])
    run.matmul_end()

    # -- rows 2-2c ---------------------------------------------------------------------------------
    flops = xpresso_flops()

    def fractions(sps: float | None, executed: bool = True) -> str:
        if sps is None:
            return "n/a"
        done = sps * flops["executed"] / 1e9
        text = f"Keras-graph {run.gflops_note(sps, flops['total'])}"
        return text + (f"; executed {f(done)} GFLOP/s = {done / run.mm:.0%}" if executed else "")

    run.add("2", f"Xpresso FLOPs per {SEQ_LEN:,}-nt sequence (analytic, Keras graph)", flops["total"] / 1e6,
            "MFLOP", notes=f"conv1 {f(flops['conv1'] / 1e6)} + conv2 {f(flops['conv2'] / 1e6)} + dense "
                           f"{f(flops['dense'] / 1e6)} MFLOP; the table path executes conv2 + dense "
                           f"({f(flops['executed'] / 1e6)} MFLOP) and {flops['conv1_table_reads'] / 1e6:.2f} M "
                           f"table reads + maxima instead of conv1")
    run.add("2a", f"`predict_sequences`, {SEQ_LEN:,} nt, batch {bs} (strings -> codes -> table path, half-life in)",
            pred_sps, "seq/s", pred_mon, f"{fractions(pred_sps)}; best of {cfg['forward_repeats']}, {n_fw} seqs; "
            f"Keras ~170 seq/s", target=TARGET_SEQS_PER_S)
    run.add("2b", f"`forward_codes` on pre-computed window codes, batch {bs}", raw_sps, "seq/s", raw_mon,
            fractions(raw_sps), target=TARGET_SEQS_PER_S)
    run.add("2c", f"`forward_dense` (literal Keras computation, dense conv1) on one-hot tensors, batch {bs}",
            dense_sps, "seq/s", dense_mon,
            f"{fractions(dense_sps, executed=False)}; {n_dense} seqs; table vs dense path max abs diff {agree:.1e}")
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
