"""HAL benchmark: matmul yardstick, model throughput, end-to-end ``seqzoo.score_vcf``, baseline
without shared reference predictions; prints one Markdown table and (full runs) updates the HAL section of
``benchmarks/RESULTS.md``.

    python benchmarks/hal.py [--quick] [--weights HAL_mer_scores.npz]

Weights: without ``--weights`` the script writes a random (4096, 8) table in the published
``HAL_mer_scores.npz`` layout (key ``weights``) into its working folder and uses it: the stand-in
has the published shape, so the speed is representative, the scores are not.

What is measured (all in one process, torch's default threads unless ``--threads``):

1. float32 ``torch.matmul`` of two 2048 x 2048 matrices, best of several runs (GFLOP/s), at the
   start and at the end; the better one is the machine's yardstick (reported for comparison with
   the other models only: HAL does no floating-point arithmetic to speak of).
2. HAL on random 160-nt donor windows: ``model.predict_sequences`` (strings in: base digits, 155
   hexamer rows, one gather of the 143 scored (row, column) coefficients and their sum; numpy out)
   at batch 64 and at batch 4096 (per-call overhead amortised). HAL is a table lookup: 143 reads
   and adds per window, so there is no FLOP count and no fraction of the matmul yardstick.
3. End to end on a synthetic genome + GTF (``transcript`` + ``exon`` lines) + VCF built here
   (:func:`make_donor_dataset`: 400 genes on both strands with four exons (three donors, each a
   GT), a quarter of the genes with a second, exon-skipping transcript whose donors are the first
   transcript's (shared windows, one row with two ``donor_ids``), a quarter with a second
   transcript using an alternative 5' splice site 20 nt upstream (overlapping windows); ~100,000 SNV /
   insertion / deletion records inside the 160-nt donor windows): VCF -> TSV through
   ``seqzoo.score_vcf``, once as is (model load, .fai build included) and with the loaded model
   passed in (best of 3). variants/s = VCF alleles / wall time.
   Baseline, on the first records of the same VCF and through the same ``score_vcf`` (window
   extraction, TSV writing): ``reuse_reference=False`` (no reference prediction kept from one slice
   of rows to the next), in batches of 64 rows, and one variant at a time (``chunk_rows=1``: a chunk
   per VCF record). Its scores are checked against seqzoo's (max abs diff).
4. Ratios seqzoo / baseline. HAL has no throughput targets: the target column stays empty.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)

from seqzoo import registry  # noqa: E402
from seqzoo.nets.hal import COLUMN_OF_START, N_KMERS, N_REGIONS, N_STARTS, NPZ_KEY, WINDOW  # noqa: E402
from seqzoo.synthetic import gtf_line  # noqa: E402
from seqzoo.windows.donor import donor_window  # noqa: E402

MODEL = "HAL"
LARGE_BATCH = 4096

#: sizes; ``*_limit``: seconds after which a measurement is interrupted (about 3x its quiet time)
FULL = dict(n_forward=65536, forward_repeats=5, forward_limit=15, matmul_repeats=5,
            dataset=dict(n_genes=400, variants_per_window=75), e2e_repeats=3, e2e_limit=30,
            baseline_records=20000, per_variant_records=3000, baseline_limit=15)
QUICK = dict(n_forward=16384, forward_repeats=2, forward_limit=5, matmul_repeats=3,
             dataset=dict(n_genes=60, variants_per_window=50), e2e_repeats=1, e2e_limit=8,
             baseline_records=3000, per_variant_records=500, baseline_limit=4)
SPEC = registry.get(MODEL)
COMPARED = [f"{side}_{o}" for o in SPEC.outputs for side in ("ref", "alt")] + list(SPEC.effect_names)


# -- stand-in weights ------------------------------------------------------------------------------
def write_stand_in_table(path: Path, seed: int = 0) -> Path:
    """A random (4096, 8) float64 table in the published ``HAL_mer_scores.npz`` layout (as the
    tests build one): speed is the published model's, scores are not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = np.random.default_rng(seed).normal(0.0, 1.0, size=(N_KMERS, N_REGIONS))
    np.savez(path, **{NPZ_KEY: w})
    return path


# -- synthetic dataset -----------------------------------------------------------------------------
def make_donor_dataset(out_dir: Path, seed: int = 0, n_genes: int = 400, variants_per_window: int = 75,
                       n_contigs: int = 2, slot: int = 5000) -> dict:
    """Random genome, GTF (transcript + exon lines) and VCF of variants in 5' splice-donor windows.

    Genes alternate strands along each contig, one per ``slot`` nt, four exons each (~2-4.5 kb
    spans; three donors), every donor a GT (intron's first two bases in transcript orientation).
    Gene g with g % 4 == 1 has a second transcript skipping exon 2 (its donors are exon 1's and
    exon 3's: the same windows, one row listing both ``donor_ids``); g % 4 == 2 a second transcript
    whose exon 2 ends 20 nt earlier at another GT (an alternative 5' splice site: a window
    overlapping the first by 140 nt). ``variants_per_window`` records (1/2 SNVs, 1/4 insertions, 1/4
    deletions of 1-3 nt) start inside each distinct window. Returns the paths and counts.
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_contig = -(-n_genes // n_contigs)
    margin = 1000
    contig_length = 2 * margin + per_contig * slot
    contigs = {c: list(s) for c, s in common.random_genome(n_contigs, contig_length, seed).items()}
    lines, windows = [], {}
    n_tx = 0
    for g in range(n_genes):
        chrom = str(g % n_contigs + 1)
        base = margin + (g // n_contigs) * slot  # 0-based left end of the gene
        strand = "+" if (g // n_contigs) % 2 == 0 else "-"
        # exon layout in transcript orientation: offsets from the gene's 5' end (0-based half-open)
        lengths = [int(rng.integers(100, 250)) for _ in range(3)] + [int(rng.integers(300, 600))]
        introns = [int(rng.integers(400, 1000)) for _ in range(3)]
        exons, p = [], 0
        for k, n in enumerate(lengths):
            exons.append((p, p + n))
            p += n + (introns[k] if k < 3 else 0)
        txs = [("1", exons)]
        if g % 4 == 1:    # exon 2 skipped: donors of exons 1 and 3 shared with transcript 1
            txs.append(("2", [exons[0]] + exons[2:]))
        elif g % 4 == 2:  # alternative 5' splice site 20 nt upstream in exon 2
            txs.append(("2", [exons[0], (exons[1][0], exons[1][1] - 20)] + exons[2:]))
        span = exons[-1][1]
        gene_id = f"G{g:03d}"
        for t, tx_exons in txs:
            tid = f"T{g:03d}.{t}"
            if strand == "+":
                fwd = [(base + s, base + e) for s, e in tx_exons]
                donors = fwd[:-1]
            else:  # mirrored: the transcript's 5' end at the right
                fwd = sorted((base + span - e, base + span - s) for s, e in tx_exons)
                donors = fwd[1:]
            lines.append(gtf_line(chrom, "transcript", fwd[0][0] + 1, fwd[-1][1], strand, tid, gene_id))
            for s, e in fwd:
                lines.append(gtf_line(chrom, "exon", s + 1, e, strand, tid, gene_id))
            for s, e in donors:
                if strand == "+":   # intron's first bases e, e + 1 (0-based) = GT
                    contigs[chrom][e:e + 2] = "GT"
                else:               # intron's first bases s - 1, s - 2 = GT in transcript orientation
                    contigs[chrom][s - 2:s] = "AC"
                w = donor_window(f"{tid}:donor", gene_id, chrom, strand, s, e)
                windows.setdefault((chrom, w.start, w.end), []).append(tid)
            n_tx += 1
    contigs = {c: "".join(s) for c, s in contigs.items()}
    records = common.variants_in_windows(rng, contigs, windows, variants_per_window)
    paths = common.write_dataset(out_dir, contigs, records, lines)
    return dict(paths=paths, n_genes=n_genes, n_transcripts=n_tx, n_windows=len(windows), n_records=len(records))


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    run = common.BenchRun("HAL", "hal", __doc__.split("\n\n")[0], 64, "hal.py", full=FULL, quick=QUICK)
    args = run.parse(argv)
    cfg, bs = run.cfg, args.batch_size
    with run.workdir() as work:
        weights = args.weights or str(write_stand_in_table(work / "HAL_mer_scores.stand-in.npz"))
        stand_in = args.weights is None
        run.matmul_start()

        # 2. forward pass ------------------------------------------------------------------------
        model = run.load_model(MODEL, weights, "npz -> torch" + (", stand-in random table" if stand_in else ""))
        seqs = common.random_seqs(cfg["n_forward"], WINDOW)
        n_fw = len(seqs)
        pred_sps, pred_mon = run.predict_rate(model, seqs)
        big_sps, big_mon = run.predict_rate(model, seqs, LARGE_BATCH)

        # 3. end to end --------------------------------------------------------------------------
        ds, t_gen = run.dataset(make_donor_dataset, work)
        paths = ds["paths"]
        dataset = (f"{ds['n_genes']} genes, {ds['n_transcripts']} transcripts, {ds['n_windows']:,} distinct 160-nt "
                   f"donor windows, generated in {t_gen:.1f} s")
        run.end_to_end(MODEL, model, paths, work, COMPARED, dataset, weights=weights)  # no target
    run.matmul_end("; for comparison with the other models only")

    # -- rows 2a, 2b -------------------------------------------------------------------------------
    n_scored = int((COLUMN_OF_START >= 0).sum())
    no_flops = (f"a table lookup ({N_STARTS} hexamer rows, {n_scored} coefficient reads and adds per window): "
                f"FLOPs are meaningless here, no fraction of matmul")
    run.add("2a", f"`predict_sequences`, {WINDOW} nt, batch {bs} (digits + hexamer rows + gather, kipoi reading)",
            pred_sps, "seq/s", pred_mon, f"{no_flops}; best of {cfg['forward_repeats']}, {n_fw:,} seqs")
    run.add("2b", f"`predict_sequences`, batch {LARGE_BATCH:,} (per-call overhead amortised)", big_sps, "seq/s",
            big_mon, f"{common.ratio(big_sps, pred_sps)} batch {bs}")
    weights_note = (
        "Weights: a random (4096, 8) table in the published `HAL_mer_scores.npz` layout (the published table "
        "is not available here), i.e. stand-in weights with the published architecture: the speed is "
        "representative, the score values are not." if stand_in else f"Weights: `{weights}`.")
    return run.finish(notes=[weights_note + " HAL has no throughput targets: the target column is empty."])


if __name__ == "__main__":
    sys.exit(main())
