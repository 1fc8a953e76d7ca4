"""Synthetic TSS-window data for Xpresso: models/Xpresso/example_files and the Kipoi tests.

``make_tss_dataset(out_dir, seed)`` writes a 30 kb random genome (one contig, ``1``), a GTF with three
genes and a VCF that exercises every path of seqzoo's Xpresso window rule (:mod:`seqzoo.windows.tss`):

=====  ======  ==================  =====================================================
gene   strand  gene (1-based GTF)  window (0-based, forward strand; TSS at model index 7000)
=====  ======  ==================  =====================================================
GP     +       8,001-12,000        [1,000, 11,500)   TSS 0-based 8,000
GM     -       11,001-14,000       [10,500, 21,000)  TSS 0-based 13,999 (the gene's end)
GE     +       29,001-29,600       [22,000, 32,500)  past the contig end (30,000)
=====  ======  ==================  =====================================================

Variants (VCF contig ``chr1``: the chr prefix is harmonised): SNVs, insertions and deletions in
each window, an SNV on each TSS, a deletion straddling GP's TSS, an insertion at GM's TSS, two
variants where GP's and GM's windows overlap (two rows each), a multi-allelic record, and one
record per whole-allele skip: ``outside`` (no window: not_in_promoter_window), ``edge`` (only in
GE's window: window_past_contig_end), ``mismatch`` (ref_mismatch) and ``unknown_contig``
(contig_not_in_fasta). ``halflife.tsv`` has rows for GP and GE but not GM
(``halflife_source`` = file / zeros_gene_not_in_file).

Usage: python scripts/make_xpresso_example.py [OUT_DIR]   (default: models/Xpresso/example_files,
seed 0). The committed example files are this script's output (tests/test_kipoi_xpresso.py checks).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqzoo.synthetic import RandomVariants, gtf_line, other_base, random_sequence, write_fasta, write_gtf, write_vcf

CONTIG_LENGTH = 30_000
#: gene_id -> (strand, 1-based start, 1-based end)
GENES = {"GP": ("+", 8_001, 12_000), "GM": ("-", 11_001, 14_000), "GE": ("+", 29_001, 29_600)}
#: the whole-allele skips the VCF plants, by VCF ID
PLANTED_SKIPS = {"outside": "not_in_promoter_window", "edge": "window_past_contig_end",
                 "mismatch": "ref_mismatch", "unknown_contig": "contig_not_in_fasta"}
HALFLIFE_GENES = ("GP", "GE")



def make_tss_dataset(out_dir, seed: int = 0, halflife: bool = True) -> dict[str, Path]:
    """Write genome.fa, annotation.gtf, variants.vcf (and halflife.tsv) into ``out_dir``; returns
    their paths {"fasta", "gtf", "vcf"(, "halflife")}."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seq = random_sequence(rng, CONTIG_LENGTH)

    lines = []
    for gene_id, (strand, start, end) in GENES.items():
        tid = gene_id.replace("G", "T", 1) + ".1"
        attrs = ' gene_type "protein_coding";'
        lines.append(gtf_line("1", "gene", start, end, strand, None, gene_id, extra=attrs))
        lines.append(gtf_line("1", "transcript", start, end, strand, tid, gene_id, extra=attrs))
        lines.append(gtf_line("1", "exon", start, min(end, start + 299), strand, tid, gene_id, extra=attrs))
        lines.append(gtf_line("1", "exon", max(start, end - 299), end, strand, tid, gene_id, extra=attrs))

    variants = RandomVariants(seq, rng)
    ref, snv, insertion, deletion = variants.ref, variants.snv, variants.insertion, variants.deletion

    records = []
    # random SNVs and indels in GP-only (1-based 1,001-10,500) and GM-only (11,501-21,000) windows
    for lo, hi in ((1_101, 10_400), (11_601, 20_900)):
        for make in (snv, snv, snv, insertion, deletion):
            records.append(make(int(rng.integers(lo, hi))))
    records += [
        snv(8_001, "gp_tss_snv"),
        deletion(7_998, "gp_tss_deletion", n=6),      # REF 7,998-8,003 straddles the TSS (8,001)
        snv(14_000, "gm_tss_snv"),
        insertion(14_000, "gm_tss_insertion"),
        snv(11_000, "overlap_snv"),                   # in GP's and GM's windows
        deletion(11_200, "overlap_deletion", n=3),
        ("1", 15_000, "multi", ref(15_000), f"{other_base(ref(15_000), 0)},{other_base(ref(15_000), 1)}"),
        snv(21_500, "outside"),
        snv(25_000, "edge"),
        ("1", 16_000, "mismatch", other_base(ref(16_000), 0), ref(16_000)),
        ("chrUn_unknown", 100, "unknown_contig", "A", "G"),
    ]
    records.sort(key=lambda r: (r[0] != "1", r[1]))
    records = [("chr1" if c == "1" else c, p, i, r, a) for c, p, i, r, a in records]

    paths = {
        "fasta": write_fasta(out_dir / "genome.fa", {"1": seq}),
        "gtf": write_gtf(out_dir / "annotation.gtf", lines),
        "vcf": write_vcf(out_dir / "variants.vcf", records, {"chr1": CONTIG_LENGTH, "chrUn_unknown": 1_000}),
    }
    if halflife:
        rows = ["gene_id\t" + "\t".join(f"feature_{k}" for k in range(1, 7))]
        for gene_id in HALFLIFE_GENES:
            rows.append(gene_id + "\t" + "\t".join(f"{v:.4f}" for v in rng.normal(size=6)))
        paths["halflife"] = out_dir / "halflife.tsv"
        paths["halflife"].write_text("\n".join(rows) + "\n")
    return paths


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "models" / "Xpresso" / "example_files"
    for kind, path in make_tss_dataset(out, seed=0).items():
        print(kind, path)


if __name__ == "__main__":
    main(sys.argv[1:])
