"""Writes models/HAL/example_files/ (genome.fa, annotation.gtf, variants.vcf); deterministic.

    python scripts/make_hal_example.py [OUT_DIR]

Two contigs (``1``: 3,000 nt, ``2``: 2,500 nt; the VCF calls them ``chr1``/``chr2``), multi-exon
transcripts on both strands from ``exon`` lines only, every donor made a GT (the intron's first two
bases in transcript orientation):

* G1 '+': T1a exons 201-400, 601-800, 1001-1200; T1b 151-400, 1001-1300 (its donor1 = T1a's donor1:
  one row, ``donor_ids`` "T1a:donor1,T1b:donor1,T1c:donor1"); T1c 301-400, 501-800, 1001-1100
  (both its donors are T1a's: T1a:donor2 and T1c:donor2 share a row too).
* G2 '-': T2 exons 1601-1800, 2001-2200, 2401-2600 (donor1 at the exon 2401-2600, donor2 at 2001-2200).
* G3 '+': single exon 101-500 on contig 2 (no donor).
* G4 '-': T4 exons 601-700, 1001-1200, 2431-2480 on contig 2: donor1's window runs past the contig end.

Variants (1-based): SNVs over the windows, indels at and around the exon/intron boundaries, a
multi-allelic record, and one record per skip reason (REF mismatch, symbolic ALT, intergenic, unknown
contig, window past the contig end).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqzoo.encoding import reverse_complement
from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf, write_vcf

TRANSCRIPTS = [  # (contig, strand, transcript, gene, exons 1-based closed)
    ("1", "+", "T1a", "G1", [(201, 400), (601, 800), (1001, 1200)]),
    ("1", "+", "T1b", "G1", [(151, 400), (1001, 1300)]),
    ("1", "+", "T1c", "G1", [(301, 400), (501, 800), (1001, 1100)]),
    ("1", "-", "T2", "G2", [(1601, 1800), (2001, 2200), (2401, 2600)]),
    ("2", "+", "T3", "G3", [(101, 500)]),
    ("2", "-", "T4", "G4", [(601, 700), (1001, 1200), (2431, 2480)]),
]


def main(out_dir: str | Path) -> dict:
    rng = np.random.default_rng(2015)
    contigs = {"1": list(random_sequence(rng, 3000)), "2": list(random_sequence(rng, 2500))}
    donors = []  # (contig, strand, 1-based last exonic base)
    for chrom, strand, _, _, exons in TRANSCRIPTS:
        ordered = exons if strand == "+" else exons[::-1]
        for s, e in ordered[:-1]:
            if strand == "+":   # GT at the first two intronic bases e+1, e+2 (1-based)
                contigs[chrom][e:e + 2] = "GT"
                donors.append((chrom, strand, e))
            else:               # on '-': the intron's first bases are s-1, s-2 -> forward "AC" at s-2, s-1
                contigs[chrom][s - 3:s - 1] = "AC"
                donors.append((chrom, strand, s))
    contigs = {c: "".join(s) for c, s in contigs.items()}

    lines = []
    for chrom, strand, tid, gid, exons in TRANSCRIPTS:
        order = exons if tid != "T1a" else [exons[1], exons[0], exons[2]]  # an unsorted transcript
        lines += [gtf_line(chrom, "exon", s, e, strand, tid, gid) for s, e in order]

    def base(chrom, p):
        return contigs[chrom][p - 1]

    def other(b):
        return "ACGT"[("ACGT".index(b) + 1) % 4]

    records = []
    seen = set()
    for chrom, strand, d in sorted(set(donors)):
        if chrom == "2" and d == 2431:
            continue  # T4 donor1: past the contig end, one record below
        sign = 1 if strand == "+" else -1      # transcript 5'->3' direction on the forward strand
        for off in (-79, -40, -1, 0, 1, 2, 40, 79):  # offsets from the last exonic base, transcript orientation
            p = d + sign * off
            if (chrom, p) not in seen:
                seen.add((chrom, p))
                records.append((chrom, p, None, base(chrom, p), other(base(chrom, p))))
        # indels: a 3-nt deletion across the boundary, 2-nt insertions on both sides of it
        lo = d - 3  # REF 1-based lo..lo+5 straddles the split on both strands
        records.append((chrom, lo, None, contigs[chrom][lo - 1:lo + 5], base(chrom, lo)))
        records.append((chrom, d, None, base(chrom, d), base(chrom, d) + "AG"))
        records.append((chrom, d - 1, None, base(chrom, d - 1), base(chrom, d - 1) + "TT"))
    # a multi-allelic SNV in T2's donor1 window
    p = 2401 + 10
    alts = [b for b in "ACGT" if b != base("1", p)]
    records.append(("1", p, "multi", base("1", p), f"{alts[0]},{alts[1]}"))
    records += [
        ("1", 1190, "mismatch", other(base("1", 1190)), "A"),
        ("1", 1195, "symbolic", base("1", 1195), "<DEL>"),
        ("1", 2900, "intergenic", base("1", 2900), other(base("1", 2900))),
        ("2", 2440, "past_contig_end", base("2", 2440), other(base("2", 2440))),
        ("chrUn_unknown", 100, "unknown_contig", "A", "G"),
    ]
    order = {c: i for i, c in enumerate(contigs)}
    records.sort(key=lambda r: (order.get(r[0], len(order)), r[1]))
    records = [("chr" + c if c in contigs else c, p, i, r, a) for c, p, i, r, a in records]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "fasta": write_fasta(out_dir / "genome.fa", contigs),
        "gtf": write_gtf(out_dir / "annotation.gtf", lines),
        "vcf": write_vcf(out_dir / "variants.vcf", records, {"chr" + c: len(s) for c, s in contigs.items()}),
    }
    # sanity: every donor is a GT in transcript orientation
    for chrom, strand, d in donors:
        seq = contigs[chrom]
        intron = seq[d:d + 2] if strand == "+" else reverse_complement(seq[d - 3:d - 1])
        assert intron == "GT", (chrom, strand, d, intron)
    return paths


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "models" / "HAL" / "example_files"))
