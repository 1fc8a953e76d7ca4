"""Synthetic example data for BPNet-OSKN: models/BPNet-OSKN/example_files and the tests.

``make_centered_dataset(out_dir, seed)`` writes a random genome (contigs ``chr1`` 6,000 nt and
``chr2`` 2,400 nt) and a VCF that exercises every path of seqzoo's centred-window rule
(:mod:`seqzoo.windows.centered`: 1000 nt, REF's first base at index 500):

* SNVs, insertions and deletions whose windows fit (VCF contig names ``1``/``chr2``: the chr prefix
  is harmonised), a multi-allelic record (two rows sharing one reference window), a deletion whose
  REF runs past index 999 of the window;
* one record per whole-allele skip, by VCF ID: ``left_edge`` (0-based position 499: the window
  would start at -1), ``right_edge`` (position length - 499: the window would end at length + 1),
  ``del_past_end`` (a deletion whose window fits but which pulls sequence past the contig end),
  all ``window_past_contig_end``; ``mismatch`` (ref_mismatch); ``symbolic`` (symbolic_alt);
  ``unknown_contig`` (contig_not_in_fasta);
* ``regions.bed``: BED regions of 1000, 600 and 1401 nt, one too close to a contig end and one on
  an unknown contig.

Usage: python scripts/make_bpnet_example.py [OUT_DIR]   (default: the example_files
folder next to this script, seed 0). The committed example files are this script's output (a test
checks).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqzoo.synthetic import random_sequence, write_fasta, write_vcf

CONTIGS = {"chr1": 6_000, "chr2": 2_400}
#: the whole-allele skips the VCF plants, by VCF ID
PLANTED_SKIPS = {"left_edge": "window_past_contig_end", "right_edge": "window_past_contig_end",
                 "del_past_end": "window_past_contig_end", "mismatch": "ref_mismatch",
                 "symbolic": "symbolic_alt", "unknown_contig": "contig_not_in_fasta"}


def _other(base: str, k: int = 0) -> str:
    return [b for b in "ACGT" if b != base][k]


def make_centered_dataset(out_dir, seed: int = 0) -> dict[str, Path]:
    """Write genome.fa, variants.vcf and regions.bed into ``out_dir``; returns their paths."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seqs = {name: random_sequence(rng, length) for name, length in CONTIGS.items()}
    c1, c2 = seqs["chr1"], seqs["chr2"]
    records = []  # (chrom, 1-based pos, id, ref, alt)

    def snv(chrom, seq, p0, vid=None, k=0):
        records.append((chrom, p0 + 1, vid, seq[p0], _other(seq[p0], k)))

    # SNVs spread over chr1 (VCF name "1"), including the first and last positions with a full window
    for i, p0 in enumerate([500, 900, 1500, 2100, 2600, 3000, 3400, 3900, 4300, 4800, 5200, 5499]):
        snv("1", c1, p0, k=i % 3)
    # insertions (VCF padding base + inserted bases) and deletions
    for p0, ins in [(1200, "A"), (1800, "GATTACA"), (2800, "C" * 30), (4000, "TG")]:
        records.append(("1", p0 + 1, None, c1[p0], c1[p0] + ins))
    for p0, n_del in [(1300, 1), (2300, 5), (3600, 40)]:
        records.append(("1", p0 + 1, None, c1[p0:p0 + n_del + 1], c1[p0]))
    # a deletion whose REF runs past the window's index 999 (REF 0-based 4500..5100)
    records.append(("1", 4501, "long_del", c1[4500:5101], c1[4500]))
    # a multi-allelic record: two rows sharing the reference window
    records.append(("1", 3201, "multi", c1[3200], f"{_other(c1[3200], 0)},{_other(c1[3200], 1)}"))
    # an MNV
    records.append(("1", 2451, None, c1[2450:2453], "".join(_other(b) for b in c1[2450:2453])))
    # chr2 (VCF name chr2): SNVs, an insertion, a deletion
    for i, p0 in enumerate([600, 1000, 1400, 1800]):
        snv("chr2", c2, p0, k=i % 3)
    records.append(("chr2", 1101, None, c2[1100], c2[1100] + "AC"))
    records.append(("chr2", 1501, None, c2[1500:1504], c2[1500]))
    # whole-allele skips
    snv("1", c1, 499, "left_edge")
    snv("chr2", c2, CONTIGS["chr2"] - 499, "right_edge")
    p0 = CONTIGS["chr2"] - 520  # window [p0-500, p0+500) fits; deleting 30 nt needs 10 nt past the end
    records.append(("chr2", p0 + 1, "del_past_end", c2[p0:p0 + 31], c2[p0]))
    records.append(("1", 2001, "mismatch", _other(c1[2000]), c1[2000]))
    records.append(("1", 2201, "symbolic", c1[2200], "<DEL>"))
    records.append(("chrUn", 700, "unknown_contig", "A", "G"))
    records.sort(key=lambda r: (0 if r[0] in ("1", "chr1") else 1 if r[0] == "chr2" else 2, r[1]))

    paths = {"fasta": write_fasta(out / "genome.fa", seqs),
             "vcf": write_vcf(out / "variants.vcf", records, contigs={"1": CONTIGS["chr1"], "chr2": CONTIGS["chr2"]})}
    bed = out / "regions.bed"
    bed.write_text("\n".join([
        "track name=example",
        "chr1\t1000\t2000\tpeak_1000nt",
        "1\t3000\t3600\tpeak_600nt",
        "chr1\t4000\t5401\tpeak_1401nt",
        "chr2\t100\t300\tnear_start",       # window [-300, 700): past the contig start
        "chr2\t1200\t1201\t.",              # a 1-nt region (no name)
        "chrUn\t100\t1100\tunknown",
    ]) + "\n")
    paths["bed"] = bed
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "models" / "BPNet-OSKN" / "example_files"
    for kind, path in make_centered_dataset(target).items():
        print(kind, path)
