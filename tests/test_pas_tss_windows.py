"""Window geometry of APARENT2 (3' end, cleavage site at 100, anchor 70) and Xpresso (TSS at 7000)."""
from __future__ import annotations

import numpy as np

from seqzoo.encoding import reverse_complement
from seqzoo.genome.fasta import Genome
from seqzoo.genome.gtf import read_spans
from seqzoo.genome.names import ContigNames
from seqzoo.genome.vcf import VariantAllele
from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf
from seqzoo.windows.pas import pas_rule
from seqzoo.windows.tss import tss_rule

CONTIG = random_sequence(np.random.default_rng(21), 30_000)


def setup(tmp_path, lines):
    fa = write_fasta(tmp_path / "g.fa", {"chr1": CONTIG})
    gtf = write_gtf(tmp_path / "a.gtf", lines)
    genome = Genome(fa)
    return genome, gtf, ContigNames(genome.lengths)


def snv(pos1):
    b = CONTIG[pos1 - 1]
    return VariantAllele("1", pos1, b, "A" if b != "A" else "C", None, 1, 0)


def test_pas_windows_both_strands(tmp_path):
    # transcripts from exon lines only (no 'transcript' lines); GTF contig "1" vs FASTA "chr1"
    lines = [gtf_line("1", "exon", 1001, 1200, "+", "TP", "GP"), gtf_line("1", "exon", 1301, 2000, "+", "TP", "GP"),
             gtf_line("1", "exon", 5001, 5600, "-", "TM", "GM"), gtf_line("1", "exon", 5801, 6000, "-", "TM", "GM")]
    genome, gtf, names = setup(tmp_path, lines)
    rule = pas_rule(genome, gtf, names)
    # '+': last base 1-based 2000 (0-based 1999) at index 100
    pairs, _ = rule.windows(snv(2000), "chr1")
    assert [p.feature_id for p in pairs] == ["TP"]
    assert pairs[0].ref_seq == CONTIG[1899:2104] and pairs[0].ref_seq[100] == CONTIG[1999]
    assert pairs[0].alt_seq[100] == pairs[0].allele.alt and len(pairs[0].alt_seq) == 205
    # '-': last base in transcript orientation = 1-based 5001 (0-based 5000), at index 100
    pairs, _ = rule.windows(snv(5001), "chr1")
    ref = reverse_complement(CONTIG[5000 - 104:5000 + 101])
    assert pairs[0].ref_seq == ref and ref[100] == reverse_complement(CONTIG[5000])
    assert pairs[0].alt_seq[100] == reverse_complement(pairs[0].allele.alt)
    # index 70 (the PAS anchor) on '-' is 0-based 5000 + 30; a deletion just 3' of it (transcript
    # orientation: genomic left, 0-based 5027..5028) pulls sequence in at the window's 3' end
    a = VariantAllele("1", 5027, CONTIG[5026:5029], CONTIG[5026], None, 1, 0)
    pairs, _ = rule.windows(a, "chr1")
    fwd = CONTIG[5000 - 104 - 2:5027] + CONTIG[5029:5000 + 101]
    assert pairs[0].alt_seq == reverse_complement(fwd)
    assert pairs[0].alt_seq[:71] == ref[:71]
    assert rule.windows(snv(3000), "chr1") == ([], [])
    assert rule.no_feature_reason()[0] == "not_in_pas_window"


def test_tss_windows_both_strands_and_gene_lines(tmp_path):
    lines = [gtf_line("1", "gene", 8001, 9000, "+", "", "GP"), gtf_line("1", "exon", 8001, 8500, "+", "TP", "GP"),
             gtf_line("1", "gene", 15001, 20000, "-", "", "GM")]
    genome, gtf, names = setup(tmp_path, lines)
    assert [s.feature_id for s in read_spans(gtf, names, "gene")] == ["GP", "GM"]
    rule = tss_rule(genome, gtf, names)
    pairs, _ = rule.windows(snv(8001), "chr1")  # the '+' TSS itself
    assert pairs[0].ref_seq == CONTIG[1000:11500] and pairs[0].alt_seq[7000] == pairs[0].allele.alt
    pairs, _ = rule.windows(snv(20000), "chr1")  # the '-' TSS (gene end)
    assert pairs[0].ref_seq == reverse_complement(CONTIG[19999 - 3499:19999 + 7001])
    assert pairs[0].alt_seq[7000] == reverse_complement(pairs[0].allele.alt)
    # an insertion right after the '+' TSS: indices 0..7000 unchanged, the 3' end trimmed
    ins = VariantAllele("1", 8001, CONTIG[8000], CONTIG[8000] + "GGG", None, 1, 0)
    pairs, _ = rule.windows(ins, "chr1")
    assert pairs[0].alt_seq == CONTIG[1000:8001] + "GGG" + CONTIG[8001:11497]
