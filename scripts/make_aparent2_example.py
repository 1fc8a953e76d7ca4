"""Synthetic 3'-end (PAS) window data for APARENT2: models/APARENT2/example_files and the Kipoi tests.

``make_pas_dataset(out_dir, seed)`` writes a 6 kb random genome (one contig, ``1``), a GTF with five
transcripts (``gene``, ``transcript`` and ``exon`` lines) on both strands and a VCF that exercises
every path of seqzoo's APARENT2 window rule (:mod:`seqzoo.windows.pas`: 205 nt in transcript
orientation, the transcript's last base at index 100, the anchor (expected PAS) at index 70). An
AATAAA hexamer is planted at index 70..75 of every window, so the PAS variants have real effects.

==========  ======  =============  ==============================  ==========================
transcript  strand  GTF (1-based)  window (1-based, forward)       index 70 (1-based forward)
==========  ======  =============  ==============================  ==========================
TP1, TP2    +       501/801-1500   1,400-1,604 (shared 3' end)     1,470 (PAS 1,470-1,475)
TM          -       2501-3400      2,397-2,601 (index 0 = 2,601)   2,531 (PAS 2,526-2,531)
TO          +       2001-2650      2,550-2,754 (overlaps TM's)     2,620 (PAS 2,620-2,625)
TE          +       5801-5950      5,850-6,054                     (window past the contig end, 6,000)
==========  ======  =============  ==============================  ==========================

Variants (VCF contig ``chr1``: the chr prefix is harmonised): SNVs on each PAS and on both window
ends (indices 0 and 204), deletions straddling index 70 on both strands, insertions on either side
of it, deletions that cross a window end, an insertion on the last base, a multi-allelic record,
three variants where TM's and TO's windows overlap (two rows each, opposite strands; TP1/TP2 share
a window, so their variants give two rows too), and one record per whole-allele skip: ``outside``
(no window: not_in_pas_window), ``edge`` (only in TE's window: window_past_contig_end),
``mismatch`` (ref_mismatch), ``symbolic`` (``<DEL>``: symbolic_alt) and ``unknown_contig``
(contig_not_in_fasta). 30 alleles -> 41 rows.

Usage: python scripts/make_aparent2_example.py [OUT_DIR]   (default: models/APARENT2/example_files,
seed 0). The committed example files are this script's output (tests/test_kipoi_aparent2.py checks).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqzoo.encoding import reverse_complement
from seqzoo.synthetic import RandomVariants, gtf_line, other_base, random_sequence, write_fasta, write_gtf, write_vcf
from seqzoo.windows.pas import PAS_ANCHOR, pas_window

CONTIG_LENGTH = 6_000
PAS = "AATAAA"
#: transcript_id -> (gene_id, strand, 1-based start, 1-based end, exons (1-based closed))
TRANSCRIPTS = {
    "TP1": ("GP", "+", 501, 1500, ((501, 700), (1301, 1500))),
    "TP2": ("GP", "+", 801, 1500, ((801, 900), (1301, 1500))),
    "TM": ("GM", "-", 2501, 3400, ((2501, 2800), (3201, 3400))),
    "TO": ("GO", "+", 2001, 2650, ((2001, 2650),)),
    "TE": ("GE", "+", 5801, 5950, ((5801, 5950),)),
}
#: the whole-allele skips the VCF plants, by VCF ID
PLANTED_SKIPS = {"outside": "not_in_pas_window", "edge": "window_past_contig_end", "mismatch": "ref_mismatch",
                 "symbolic": "symbolic_alt", "unknown_contig": "contig_not_in_fasta"}
#: what the VCF gives (alleles, rows): tests/test_kipoi_aparent2.py and `kipoi test` check it
EXPECTED_ALLELES, EXPECTED_ROWS = 30, 41



def _plant_pas(seq: list[str]) -> None:
    """AATAAA at model indices 70..75 of every window that fits in the contig (forward strand:
    TTTATT ending at the anchor on '-')."""
    for tid, (gene_id, strand, start, end, _) in TRANSCRIPTS.items():
        w = pas_window(tid, gene_id, "1", strand, start - 1, end)
        if strand == "+":
            lo, hexamer = w.start + PAS_ANCHOR, PAS
        else:
            lo, hexamer = w.end - PAS_ANCHOR - len(PAS), reverse_complement(PAS)
        if 0 <= lo and lo + len(PAS) <= len(seq):
            seq[lo:lo + len(PAS)] = hexamer


def make_pas_dataset(out_dir, seed: int = 0) -> dict[str, Path]:
    """Write genome.fa, annotation.gtf and variants.vcf into ``out_dir``; returns their paths
    {"fasta", "gtf", "vcf"}."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bases = list(random_sequence(rng, CONTIG_LENGTH))
    _plant_pas(bases)
    seq = "".join(bases)

    lines, genes_done = [], set()
    for tid, (gene_id, strand, start, end, exons) in TRANSCRIPTS.items():
        if gene_id not in genes_done:
            g_start = min(t[2] for t in TRANSCRIPTS.values() if t[0] == gene_id)
            g_end = max(t[3] for t in TRANSCRIPTS.values() if t[0] == gene_id)
            lines.append(gtf_line("1", "gene", g_start, g_end, strand, None, gene_id))
            genes_done.add(gene_id)
        lines.append(gtf_line("1", "transcript", start, end, strand, tid, gene_id))
        lines += [gtf_line("1", "exon", s, e, strand, tid, gene_id) for s, e in exons]

    variants = RandomVariants(seq, rng)
    ref, snv, insertion, deletion = variants.ref, variants.snv, variants.insertion, variants.deletion

    records = [
        # TP1/TP2 ('+', window 1,400-1,604, index 70 = 1,470, cleavage site 1,500): two rows each
        snv(1_470, "tp_pas_snv"),
        snv(1_473),
        deletion(1_468, "tp_anchor_deletion", n=5),   # REF 1,468-1,472 straddles index 70
        insertion(1_465),                             # 5' of the anchor: trims the window's 5' end
        insertion(1_480),                             # 3' of the anchor: trims the 3' end
        deletion(1_500, n=3),                         # at the cleavage site
        snv(1_400, "tp_first_base"),                  # index 0
        snv(1_604, "tp_last_base"),                   # index 204
        insertion(1_604, "tp_last_base_insertion"),
        deletion(1_602, "tp_3p_end_deletion", n=4),   # REF 1,602-1,605 crosses the 3' end
        deletion(1_397, "tp_5p_end_deletion", n=4),   # REF 1,397-1,400 crosses the 5' end
        ("1", 1_490, "multi", ref(1_490), f"{other_base(ref(1_490), 0)},{other_base(ref(1_490), 1)}"),
        # TM ('-', forward window 2,397-2,601, index 70 = forward 2,531)
        snv(2_531, "tm_pas_snv"),
        snv(2_527),
        deletion(2_529, "tm_anchor_deletion", n=5),   # REF 2,529-2,533 straddles index 70
        insertion(2_540),                             # forward right of the anchor = 5' in the model
        insertion(2_515),
        snv(2_601, "tm_first_base"),                  # model index 0 (and in TO's window)
        snv(2_397, "tm_last_base"),                   # model index 204
        deletion(2_395, "tm_3p_end_deletion", n=4),   # REF 2,395-2,398 crosses the model's 3' end
        # TM's and TO's windows overlap at 2,550-2,601: two rows (opposite strands), as 2,601 above
        deletion(2_599, "overlap_deletion", n=4),
        snv(2_560, "overlap_snv"),
        # TO ('+', window 2,550-2,754, index 70 = 2,620)
        snv(2_620, "to_pas_snv"),
        deletion(2_700, n=2),
        # whole-allele skips
        snv(4_000, "outside"),
        snv(5_900, "edge"),
        ("1", 1_475, "mismatch", other_base(ref(1_475), 0), ref(1_475)),
        ("1", 1_495, "symbolic", ref(1_495), "<DEL>"),
        ("chrUn_unknown", 100, "unknown_contig", "A", "G"),
    ]
    records.sort(key=lambda r: (r[0] != "1", r[1]))
    records = [("chr1" if c == "1" else c, p, i, r, a) for c, p, i, r, a in records]
    return {
        "fasta": write_fasta(out_dir / "genome.fa", {"1": seq}),
        "gtf": write_gtf(out_dir / "annotation.gtf", lines),
        "vcf": write_vcf(out_dir / "variants.vcf", records, {"chr1": CONTIG_LENGTH, "chrUn_unknown": 1_000}),
    }


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "models" / "APARENT2" / "example_files"
    for kind, path in make_pas_dataset(out, seed=0).items():
        print(kind, path)


if __name__ == "__main__":
    main(sys.argv[1:])
