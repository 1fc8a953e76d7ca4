"""HAL donor windows (80 exonic + 80 intronic nt, first intronic base at 80) and `seqzoo score` end to end."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import outside_alleles, record_ids

from seqzoo.encoding import reverse_complement as rc
from seqzoo.genome.fasta import Genome, GenomeError
from seqzoo.genome.names import ContigNames
from seqzoo.genome.vcf import VariantAllele
from seqzoo.synthetic import gtf_line, other_base, random_sequence, write_fasta, write_gtf, write_vcf
from seqzoo.windows.donor import donor_rule, read_transcript_exons
from test_hal import hal_registered, reference_score, write_table

CONTIG = random_sequence(np.random.default_rng(2015), 6_000)

# 1-based closed exons. '+' donors (0-based exon end e): TP1 1200 (= TP2:donor1 = TP3:donor2), 1700;
# TP3 600. '-' donors (0-based exon start s): TM1 4000 (donor1), 3500 (donor2). TE: window past the
# contig start. TS: single exon, no donor. TX: contig absent from the FASTA.
LINES = [
    gtf_line("1", "exon", 1501, 1700, "+", "TP1", "GP"),  # unsorted on purpose
    gtf_line("1", "exon", 1001, 1200, "+", "TP1", "GP"),
    gtf_line("1", "exon", 2001, 2300, "+", "TP1", "GP"),
    gtf_line("1", "exon", 901, 1200, "+", "TP2", "GP"),
    gtf_line("1", "exon", 2001, 2400, "+", "TP2", "GP"),
    gtf_line("1", "exon", 501, 600, "+", "TP3", "GQ"),
    gtf_line("1", "exon", 1101, 1200, "+", "TP3", "GQ"),
    gtf_line("1", "exon", 2001, 2100, "+", "TP3", "GQ"),
    gtf_line("1", "exon", 3001, 3200, "-", "TM1", "GM"),
    gtf_line("1", "exon", 3501, 3700, "-", "TM1", "GM"),
    gtf_line("1", "exon", 4001, 4200, "-", "TM1", "GM"),
    gtf_line("1", "exon", 21, 50, "+", "TE", "GE"),
    gtf_line("1", "exon", 301, 400, "+", "TE", "GE"),
    gtf_line("1", "exon", 5001, 5500, "+", "TS", "GS"),
    gtf_line("X", "exon", 1, 100, "+", "TX", "GX"),
    gtf_line("X", "exon", 201, 300, "+", "TX", "GX"),
]


def b(pos1):
    return CONTIG[pos1 - 1]


def snv(pos1):
    return VariantAllele("1", pos1, b(pos1), other_base(b(pos1)), None, 1, 0)


def allele(pos1, ref, alt):
    assert CONTIG[pos1 - 1:pos1 - 1 + len(ref)] == ref
    return VariantAllele("1", pos1, ref, alt, None, 1, 0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hal_windows")
    return write_fasta(d / "g.fa", {"chr1": CONTIG}), write_gtf(d / "a.gtf", LINES)


@pytest.fixture(scope="module")
def rule(files):
    genome = Genome(files[0])
    return donor_rule(genome, files[1], ContigNames(genome.lengths))


def test_exons_per_transcript(files):
    genome = Genome(files[0])
    names = ContigNames(genome.lengths)
    txs = read_transcript_exons(files[1], names)
    assert [t.transcript_id for t in txs] == ["TP1", "TP2", "TP3", "TM1", "TE", "TS"]
    assert txs[0].exons == [(1000, 1200), (1500, 1700), (2000, 2300)]
    assert (txs[3].strand, txs[3].chrom, txs[3].exons) == ("-", "chr1", [(3000, 3200), (3500, 3700), (4000, 4200)])
    assert names.unmatched["GTF"] == {"X"}


def test_donor_ids_windows_and_sharing(rule):
    ids = {w.feature_id: (w.start, w.end, w.strand, w.anchor) for w in rule.features}
    assert ids == {"TP1:donor1": (1120, 1280, "+", 80), "TP1:donor2": (1620, 1780, "+", 80),
                   "TP3:donor1": (520, 680, "+", 80), "TM1:donor1": (3920, 4080, "-", 80),
                   "TM1:donor2": (3420, 3580, "-", 80), "TE:donor1": (-30, 130, "+", 80)}
    assert rule.donor_ids["TP1:donor1"] == "TP1:donor1,TP2:donor1,TP3:donor2"
    assert rule.donor_ids["TM1:donor2"] == "TM1:donor2"
    # the split (where exonic and intronic halves meet) is the exon end on '+', the exon start on '-'
    assert {w.feature_id: w.split for w in rule.features}["TP1:donor1"] == 1200
    assert {w.feature_id: w.split for w in rule.features}["TM1:donor1"] == 4000


def test_plus_strand_window_exact(rule):
    pairs, skips = rule.windows(snv(1200), "chr1")  # the last exonic base of the shared donor
    assert skips == [] and len(pairs) == 1
    p = pairs[0]
    assert (p.feature_id, p.gene_id, p.strand) == ("TP1:donor1", "GP", "+")
    assert p.notes == {"donor_ids": "TP1:donor1,TP2:donor1,TP3:donor2"}
    assert p.ref_seq == CONTIG[1120:1280]
    assert p.ref_seq[:80] == CONTIG[1120:1200] and p.ref_seq[79] == b(1200) and p.ref_seq[80] == b(1201)
    assert p.alt_seq == CONTIG[1120:1199] + other_base(b(1200)) + CONTIG[1200:1280]
    pairs, _ = rule.windows(snv(1201), "chr1")  # the first intronic base: index 80
    assert pairs[0].alt_seq[80] == other_base(b(1201)) and pairs[0].alt_seq[:80] == CONTIG[1120:1200]
    # window ends: 1-based 1121 is index 0, 1280 index 159; 1120 and 1281 are outside
    assert rule.windows(snv(1121), "chr1")[0][0].alt_seq[0] == other_base(b(1121))
    assert rule.windows(snv(1280), "chr1")[0][0].alt_seq[159] == other_base(b(1280))
    assert rule.windows(snv(1120), "chr1") == ([], [])
    assert rule.windows(snv(1281), "chr1") == ([], [])


def test_minus_strand_window_exact(rule):
    pairs, _ = rule.windows(snv(4001), "chr1")  # exon start = the last exonic base in transcript orientation
    p = pairs[0]
    assert (p.feature_id, p.strand, p.notes) == ("TM1:donor1", "-", {"donor_ids": "TM1:donor1"})
    ref = rc(CONTIG[3920:4080])
    assert p.ref_seq == ref
    assert ref[:80] == rc(CONTIG[4000:4080])            # exonic: the exon's first 80 bases, reversed
    assert ref[79] == rc(b(4001)) and ref[80] == rc(b(4000))
    assert p.alt_seq == rc(CONTIG[3920:4000] + other_base(b(4001)) + CONTIG[4001:4080])
    pairs, _ = rule.windows(snv(4000), "chr1")  # the first intronic base in transcript orientation
    assert pairs[0].alt_seq[80] == rc(other_base(b(4000))) and pairs[0].alt_seq[:80] == ref[:80]
    assert rule.windows(snv(3921), "chr1")[0][0].alt_seq[159] == rc(other_base(b(3921)))
    assert rule.windows(snv(4080), "chr1")[0][0].alt_seq[0] == rc(other_base(b(4080)))
    # donor2 of TM1 (exon 3501-3700): window [3420, 3580)
    assert rule.windows(snv(3501), "chr1")[0][0].ref_seq == rc(CONTIG[3420:3580])


def test_indels_keep_160_nt_anchored_at_the_boundary_plus(rule):
    # a deletion across the boundary (1-based 1198..1203 -> 1198): 2 exonic + 3 intronic bases gone
    a = allele(1198, CONTIG[1197:1203], b(1198))
    alt = rule.windows(a, "chr1")[0][0].alt_seq
    assert alt == CONTIG[1118:1198] + CONTIG[1203:1283]
    # an insertion after the last exonic base: placed on the exonic side, exon 5' end trimmed
    a = allele(1200, b(1200), b(1200) + "TTT")
    assert rule.windows(a, "chr1")[0][0].alt_seq == CONTIG[1123:1200] + "TTT" + CONTIG[1200:1280]
    # an insertion after the first intronic base: intron 3' end trimmed, exonic half unchanged
    a = allele(1201, b(1201), b(1201) + "GG")
    assert rule.windows(a, "chr1")[0][0].alt_seq == CONTIG[1120:1201] + "GG" + CONTIG[1201:1278]
    # a deletion inside the exonic half pulls in exon sequence 5'
    a = allele(1150, CONTIG[1149:1153], b(1150))
    assert rule.windows(a, "chr1")[0][0].alt_seq == CONTIG[1117:1150] + CONTIG[1153:1280]
    # a deletion inside the intronic half pulls in intron sequence 3'
    a = allele(1250, CONTIG[1249:1251], b(1250))
    assert rule.windows(a, "chr1")[0][0].alt_seq == CONTIG[1120:1250] + CONTIG[1251:1281]


def test_indels_keep_160_nt_anchored_at_the_boundary_minus(rule):
    # deletion 1-based 3998..4003 -> 3998: intronic 3999, 4000 and exonic 4001..4003 gone
    a = allele(3998, CONTIG[3997:4003], b(3998))
    alt = rule.windows(a, "chr1")[0][0].alt_seq
    assert alt == rc(CONTIG[3918:3998] + CONTIG[4003:4083])
    assert alt[:80] == rc(CONTIG[4003:4083]) and alt[80:] == rc(CONTIG[3918:3998])
    # insertion after forward 4001 (exonic side): the exon's far (5') end is trimmed, intron intact
    a = allele(4001, b(4001), b(4001) + "AC")
    alt = rule.windows(a, "chr1")[0][0].alt_seq
    assert alt == rc(CONTIG[3920:4001] + "AC" + CONTIG[4001:4078])
    assert alt[80:] == rc(CONTIG[3920:4000])
    # insertion after forward 4000 (the first intronic base; exactly at the junction): the inserted
    # bases go to the exonic half, as on '+'; the intronic half (anchor at 80) stays intact
    a = allele(4000, b(4000), b(4000) + "AC")
    alt = rule.windows(a, "chr1")[0][0].alt_seq
    assert alt == rc(CONTIG[3920:4000] + "AC" + CONTIG[4000:4078])
    assert alt[80:] == rc(CONTIG[3920:4000]) and alt[78:80] == rc("AC")


def test_skips_and_no_feature(rule):
    pairs, skips = rule.windows(snv(40), "chr1")
    assert pairs == [] and [(s.feature_id, s.reason) for s in skips] == [("TE:donor1", "window_past_contig_end")]
    assert rule.windows(snv(5200), "chr1") == ([], [])  # single-exon transcript: no donor
    assert rule.no_feature_reason()[0] == "not_in_donor_window"


def test_bad_gtfs(tmp_path, files):
    genome = Genome(files[0])
    names = ContigNames(genome.lengths)
    gtf = write_gtf(tmp_path / "overlap.gtf", [gtf_line("1", "exon", 100, 300, "+", "T", "G"),
                                               gtf_line("1", "exon", 250, 400, "+", "T", "G")])
    with pytest.raises(GenomeError, match=r"overlap\.gtf, lines 2 and 3: exons 1:100-300 and 250-400 \(1-based\) of "
                                          r"transcript T overlap; its introns and splice donors would be wrong\. "
                                          r"Correct or remove one of these lines"):
        read_transcript_exons(gtf, names)
    gtf = write_gtf(tmp_path / "elsewhere.gtf", [gtf_line("1", "exon", 100, 300, "+", "T", "G"),
                                                 gtf_line("1", "exon", 400, 500, "+", "T", "G"),
                                                 gtf_line("KI270728.1", "exon", 100, 300, "+", "TK", "GK"),
                                                 gtf_line("KI270728.1", "exon", 250, 400, "+", "TK", "GK")])
    assert [(t.transcript_id, t.exons) for t in read_transcript_exons(gtf, names)] == [("T", [(99, 300), (399, 500)])]
    gtf = write_gtf(tmp_path / "strands.gtf", [gtf_line("1", "exon", 100, 300, "+", "T", "G"),
                                               gtf_line("1", "exon", 500, 600, "-", "T", "G")])
    with pytest.raises(GenomeError, match="transcript T has exons on 1\\+ and 1-"):
        read_transcript_exons(gtf, names)
    gtf = write_gtf(tmp_path / "single.gtf", [gtf_line("1", "exon", 100, 300, "+", "T", "G")])
    with pytest.raises(GenomeError, match="no multi-exon transcript"):
        donor_rule(genome, gtf, names)
    gtf = write_gtf(tmp_path / "cds.gtf", [gtf_line("1", "CDS", 100, 300, "+", "T", "G")])
    with pytest.raises(GenomeError, match="no 'exon' lines"):
        read_transcript_exons(gtf, names)
    # a repeated exon line is read once
    gtf = write_gtf(tmp_path / "dup.gtf", [gtf_line("1", "exon", 100, 300, "+", "T", "G")] * 2
                    + [gtf_line("1", "exon", 500, 600, "+", "T", "G")])
    assert read_transcript_exons(gtf, names)[0].exons == [(99, 300), (499, 600)]


# ---- seqzoo score end to end (needs the registry entry) ---------------------------------------------
VCF_RECORDS = [
    ("chr1", 1200, "plus_last_exonic", b(1200), other_base(b(1200))),
    ("chr1", 1198, "plus_del_boundary", CONTIG[1197:1203], b(1198)),
    ("chr1", 1200, "plus_ins_boundary", b(1200), b(1200) + "TTT"),
    ("chr1", 1701, "plus2_first_intronic", b(1701), other_base(b(1701)).lower()),
    ("chr1", 3998, "minus_del_boundary", CONTIG[3997:4003], b(3998)),
    ("chr1", 4000, "minus_first_intronic", b(4000), other_base(b(4000))),
    ("chr1", 40, "edge", b(40), other_base(b(40))),
    ("chr1", 5200, "single_exon", b(5200), other_base(b(5200))),
]


def expected_windows():
    """(feature_id, strand, donor_ids, ref window, alt window) per scored record, built by hand."""
    p1 = CONTIG[1120:1280]
    m1 = rc(CONTIG[3920:4080])
    shared = "TP1:donor1,TP2:donor1,TP3:donor2"
    return [
        ("TP1:donor1", "+", shared, p1, CONTIG[1120:1199] + other_base(b(1200)) + CONTIG[1200:1280]),
        ("TP1:donor1", "+", shared, p1, CONTIG[1118:1198] + CONTIG[1203:1283]),
        ("TP1:donor1", "+", shared, p1, CONTIG[1123:1200] + "TTT" + CONTIG[1200:1280]),
        ("TP1:donor2", "+", "TP1:donor2", CONTIG[1620:1780],
         CONTIG[1620:1700] + other_base(b(1701)) + CONTIG[1701:1780]),
        ("TM1:donor1", "-", "TM1:donor1", m1, rc(CONTIG[3918:3998] + CONTIG[4003:4083])),
        ("TM1:donor1", "-", "TM1:donor1", m1, rc(CONTIG[3920:3999] + other_base(b(4000)) + CONTIG[4000:4080])),
    ]


def test_seqzoo_score_and_windows_end_to_end(tmp_path):
    hal_registered()
    from seqzoo.cli import main

    fa = write_fasta(tmp_path / "g.fa", {"chr1": CONTIG})
    gtf = write_gtf(tmp_path / "a.gtf", LINES)
    vcf = write_vcf(tmp_path / "v.vcf", VCF_RECORDS, {"chr1": len(CONTIG)})
    w = write_table(tmp_path / "table.npz", seed=21)
    common = ["--model", "HAL", "--fasta", str(fa), "--gtf", str(gtf), "--vcf", str(vcf), "--quiet"]
    assert main(["score", "--weights", str(tmp_path / "table.npz"), "-o", str(tmp_path / "s.tsv")] + common) == 0
    assert main(["windows", "-o", str(tmp_path / "w.tsv")] + common) == 0
    t = pd.read_csv(tmp_path / "s.tsv", sep="\t", keep_default_na=False)
    win = pd.read_csv(tmp_path / "w.tsv", sep="\t", keep_default_na=False)
    exp = expected_windows()
    assert list(t.variant_id) == [r[2] for r in VCF_RECORDS[:6]]
    assert list(t.feature_id) == [e[0] for e in exp] and list(t.strand) == [e[1] for e in exp]
    assert list(t.donor_ids) == [e[2] for e in exp]
    assert list(win.ref_seq) == [e[3] for e in exp]
    assert list(win.alt_seq) == [e[4].upper() for e in exp]
    assert all(len(s) == 160 for s in list(win.ref_seq) + list(win.alt_seq))
    for col in ("ref_score", "alt_score", "delta", "sigmoid_delta"):
        assert col in t.columns
    ref = np.array([reference_score(e[3], w) for e in exp])
    alt = np.array([reference_score(e[4], w) for e in exp])
    np.testing.assert_allclose(t.ref_score, ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(t.alt_score, alt, rtol=0, atol=1e-9)
    np.testing.assert_allclose(t.delta, alt - ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(t.sigmoid_delta, 1 / (1 + np.exp(ref - alt)), rtol=0, atol=1e-12)
    skipped = pd.read_csv(str(tmp_path / "s.tsv") + ".skipped.tsv", sep="\t", keep_default_na=False)
    assert dict(zip(skipped.variant_id, skipped.reason)) == {"edge": "window_past_contig_end"}
    ids = record_ids(vcf)  # the allele outside every window: in the runs of OUT.outside.tsv
    assert [(ids[r], reason) for r, _, reason in outside_alleles(tmp_path / "s.tsv")] == [
        ("single_exon", "not_in_donor_window")]
    summary = json.loads(open(str(tmp_path / "s.tsv") + ".summary.json").read())
    assert (summary["alleles"], summary["scored_alleles"], summary["skipped_alleles"]) == (8, 6, 2)
