"""Exact Framepool 5'UTR windows on a hand-built genome (both strands, SNV/insertion/deletion)."""
from __future__ import annotations

import numpy as np
import pytest

from seqzoo import registry
from seqzoo.encoding import reverse_complement
from seqzoo.scoring import Skip, VariantWindows
from seqzoo.synthetic import gtf_line, other_base, random_sequence, write_fasta, write_gtf, write_vcf
from seqzoo.windows import WindowPair

SEQ = random_sequence(np.random.default_rng(7), 200)


def s(a, b):
    """Genome slice for 1-based closed [a, b]."""
    return SEQ[a - 1:b]


# TP (+): 5'UTR exons 11-20, 31-40, CDS 41-100. TM (-): 5'UTR exons 151-160, 171-180, CDS 101-150.
# TP2 shares TP's 5'UTR (another CDS end). GTF chrom "1", VCF chrom "chr1" (harmonised).
GTF = [
    gtf_line("1", "five_prime_utr", 31, 40, "+", "TP", "GP"),
    gtf_line("1", "five_prime_utr", 11, 20, "+", "TP", "GP"),  # out of order on purpose
    gtf_line("1", "CDS", 41, 100, "+", "TP", "GP"),
    gtf_line("1", "five_prime_utr", 11, 20, "+", "TP2", "GP"),
    gtf_line("1", "five_prime_utr", 31, 40, "+", "TP2", "GP"),
    gtf_line("1", "CDS", 41, 90, "+", "TP2", "GP"),
    gtf_line("1", "five_prime_utr", 151, 160, "-", "TM", "GM"),
    gtf_line("1", "five_prime_utr", 171, 180, "-", "TM", "GM"),
    gtf_line("1", "CDS", 101, 150, "-", "TM", "GM"),
]


def run(tmp_path, records, gtf=GTF, fasta_seq=SEQ):
    write_fasta(tmp_path / "g.fa", {"1": fasta_seq})
    write_gtf(tmp_path / "a.gtf", gtf)
    write_vcf(tmp_path / "v.vcf", records, {"chr1": 200})
    vw = VariantWindows(registry.get("Framepool"), tmp_path / "g.fa", tmp_path / "a.gtf")
    events = list(vw.events(tmp_path / "v.vcf"))
    vw.summary.check()
    return events, vw.summary


UTR_P = s(11, 20) + s(31, 40)
UTR_M = reverse_complement(s(151, 160) + s(171, 180))


def pairs_of(events):
    return [(e.allele.variant_id, e.feature_id, e.ref_seq, e.alt_seq) for e in events if isinstance(e, WindowPair)]


def test_plus_strand_snv_insertion_deletion(tmp_path):
    snv = other_base(s(33, 33))
    records = [
        ("chr1", 12, "del", s(12, 14), s(12, 12)),            # deletion of 2 nt in exon 1
        ("chr1", 20, "ins_exon_end", s(20, 20), s(20, 20) + "GG"),  # insertion anchored on exon 1's last base
        ("chr1", 33, "snv", s(33, 33), snv),
    ]
    events, summary = run(tmp_path, records)
    got = pairs_of(events)
    exp_del = s(11, 12) + s(15, 20) + s(31, 40)
    exp_ins = s(11, 20) + "GG" + s(31, 40)
    exp_snv = s(11, 20) + s(31, 32) + snv + s(34, 40)
    assert got == [
        ("del", "TP", UTR_P, exp_del), ("del", "TP2", UTR_P, exp_del),
        ("ins_exon_end", "TP", UTR_P, exp_ins), ("ins_exon_end", "TP2", UTR_P, exp_ins),
        ("snv", "TP", UTR_P, exp_snv), ("snv", "TP2", UTR_P, exp_snv),
    ]
    assert (summary.records, summary.alleles, summary.rows, summary.skipped_alleles) == (3, 3, 6, 0)
    first = next(e for e in events if isinstance(e, WindowPair))
    assert (first.gene_id, first.strand, first.allele.chrom, first.allele.pos) == ("GP", "+", "chr1", 12)


def test_minus_strand_snv_insertion_deletion(tmp_path):
    snv = other_base(s(172, 172))
    records = [
        ("chr1", 151, "ins", s(151, 151), s(151, 151) + "TTA"),
        ("chr1", 158, "del", s(158, 160), s(158, 158)),  # deletes 159-160, the exon's last bases
        ("chr1", 172, "snv", s(172, 172), snv),
    ]
    events, _ = run(tmp_path, records)
    got = pairs_of(events)
    assert got == [
        ("ins", "TM", UTR_M, reverse_complement(s(151, 151) + "TTA" + s(152, 160) + s(171, 180))),
        ("del", "TM", UTR_M, reverse_complement(s(151, 158) + s(171, 180))),
        ("snv", "TM", UTR_M, reverse_complement(s(151, 160) + s(171, 171) + snv + s(173, 180))),
    ]
    # the minus-strand 5'UTR ends (3' end, next to the start codon) at genome position 151
    assert UTR_M.endswith(reverse_complement(s(151, 153)))


def test_skips_with_reasons(tmp_path):
    bad_ref = other_base(s(15, 15))
    records = [
        ("chr1", 5, "intergenic", s(5, 5), other_base(s(5, 5))),
        ("chr1", 15, "mismatch", bad_ref, "T"),
        ("chr1", 29, "intron_into_exon", s(29, 32), s(29, 29)),
        ("chr1", 39, "into_cds", s(39, 42), s(39, 39)),
        ("chr1", 16, "sym", s(16, 16), "<DEL>"),
        ("chr1", 17, "star", s(17, 17), "*"),
        ("chr1", 18, "n_alt", s(18, 18), "N"),
        ("chr1", 199, "past_end", s(199, 200) + "", s(199, 199)),
        ("chrX", 10, "nocontig", "A", "G"),
    ]
    # one more: REF extends past the contig end
    records.append(("chr1", 200, "beyond", s(200, 200) + "A", s(200, 200)))
    events, summary = run(tmp_path, records)
    skips = {e.allele.variant_id: (e.reason, e.feature_id) for e in events
             if isinstance(e, Skip) and not e.feature_id}
    feature_skips = [(e.allele.variant_id, e.feature_id) for e in events if isinstance(e, Skip) and e.feature_id]
    # an allele that crosses the boundary in two transcripts: one skip line naming both
    assert feature_skips == []
    crossing = next(e for e in events if isinstance(e, Skip) and e.allele.variant_id == "into_cds")
    assert crossing.detail.startswith("TP: REF chr1:38-42 is not inside one 5'UTR exon of TP")
    assert "; TP2: " in crossing.detail
    assert skips["intergenic"] == ("not_in_5utr", "")
    assert skips["mismatch"] == ("ref_mismatch", "")
    assert skips["intron_into_exon"] == ("crosses_utr_exon_boundary", "")
    assert skips["into_cds"] == ("crosses_utr_exon_boundary", "")
    assert skips["sym"] == ("symbolic_alt", "")
    assert skips["star"] == ("spanning_deletion_alt", "")
    assert skips["n_alt"] == ("non_acgt_allele", "")
    assert skips["past_end"] == ("not_in_5utr", "")
    assert skips["nocontig"] == ("contig_not_in_fasta", "")
    assert skips["beyond"] == ("beyond_contig_end", "")
    mismatch = next(e for e in events if isinstance(e, Skip) and e.allele.variant_id == "mismatch")
    assert f"VCF REF={bad_ref}" in mismatch.detail and f"FASTA={s(15, 15)}" in mismatch.detail
    assert summary.alleles == 10 and summary.scored_alleles == 0 and summary.skipped_alleles == 10
    assert summary.unmatched_contigs["VCF"] == {"chrX"}


def test_multiallelic_record_gives_one_row_per_alt_and_default_ids(tmp_path):
    b = s(35, 35)
    alts = [x for x in "ACGT" if x != b]
    records = [("chr1", 35, None, b, ",".join(alts[:2]) + ",<NON_REF>")]
    events, summary = run(tmp_path, records)
    got = pairs_of(events)
    ids = [f"chr1:35:{b}>{alts[0]}", f"chr1:35:{b}>{alts[1]}"]
    assert [g[:2] for g in got] == [(ids[0], "TP"), (ids[0], "TP2"), (ids[1], "TP"), (ids[1], "TP2")]
    assert (summary.records, summary.alleles, summary.scored_alleles, summary.skipped_alleles) == (1, 3, 2, 1)
    assert summary.skipped == {"symbolic_alt": 1}


def test_partial_transcript_skip_is_reported_per_feature(tmp_path):
    # TPshort's exon 2 ends at 35; a deletion 34-37 is inside TP's exon but crosses TPshort's
    gtf = GTF + [gtf_line("1", "five_prime_utr", 31, 35, "+", "TPshort", "GP2"),
                 gtf_line("1", "CDS", 36, 90, "+", "TPshort", "GP2")]
    events, summary = run(tmp_path, [("chr1", 34, "d", s(34, 37), s(34, 34))], gtf=gtf)
    assert [g[1] for g in pairs_of(events)] == ["TP", "TP2"]
    feature = [e for e in events if isinstance(e, Skip)]
    assert [(e.feature_id, e.reason) for e in feature] == [("TPshort", "crosses_utr_exon_boundary")]
    assert summary.scored_alleles == 1 and summary.skipped_alleles == 0
    assert summary.feature_skips == {"crosses_utr_exon_boundary": 1}


def test_soft_masked_fasta_and_lower_case(tmp_path):
    masked = SEQ[:30].lower() + SEQ[30:]
    events, _ = run(tmp_path, [("chr1", 12, "x", s(12, 12), other_base(s(12, 12)))], fasta_seq=masked)
    got = pairs_of(events)
    assert got[0][2] == UTR_P  # upper case although the FASTA is soft-masked


def test_gencode_utr_features(tmp_path):
    """GENCODE writes 'UTR' for both UTRs: only those 5' of the CDS (transcript orientation) count."""
    gtf = [
        gtf_line("1", "UTR", 11, 20, "+", "TP", "GP"),
        gtf_line("1", "UTR", 31, 40, "+", "TP", "GP"),
        gtf_line("1", "CDS", 41, 100, "+", "TP", "GP"),
        gtf_line("1", "UTR", 101, 110, "+", "TP", "GP"),  # 3'UTR of TP
        gtf_line("1", "UTR", 111, 120, "-", "TM", "GM"),  # 3'UTR of TM (left of its CDS)
        gtf_line("1", "CDS", 121, 150, "-", "TM", "GM"),
        gtf_line("1", "UTR", 151, 160, "-", "TM", "GM"),
        gtf_line("1", "UTR", 171, 180, "-", "TM", "GM"),
    ]
    records = [("chr1", 105, "tp_3utr", s(105, 105), other_base(s(105, 105))),
               ("chr1", 115, "tm_3utr", s(115, 115), other_base(s(115, 115))),
               ("chr1", 155, "tm_5utr", s(155, 155), other_base(s(155, 155)))]
    events, summary = run(tmp_path, records, gtf=gtf)
    got = pairs_of(events)
    assert [(g[0], g[1], g[2]) for g in got] == [("tm_5utr", "TM", UTR_M)]
    assert summary.skipped == {"not_in_5utr": 2}


def test_gtf_without_utr_is_a_clear_error(tmp_path):
    from seqzoo.genome.fasta import GenomeError
    gtf = [gtf_line("1", "exon", 11, 100, "+", "TP", "GP")]
    with pytest.raises(GenomeError, match="has no 5'UTR: looked for features of type five_prime_utr"):
        run(tmp_path, [("chr1", 12, "x", s(12, 12), "A")], gtf=gtf)


def test_utr_exon_past_the_contig_end_is_a_skip_not_a_crash(tmp_path):
    gtf = GTF + [gtf_line("1", "five_prime_utr", 195, 210, "+", "TX_EDGE", "GE"),
                 gtf_line("1", "CDS", 211, 260, "+", "TX_EDGE", "GE")]
    events, summary = run(tmp_path, [("chr1", 196, "edge", s(196, 196), other_base(s(196, 196))),
                                     ("chr1", 33, "ok", s(33, 33), other_base(s(33, 33)))], gtf=gtf)
    skips = [(e.allele.variant_id, e.reason) for e in events if isinstance(e, Skip)]
    assert skips == [("edge", "window_past_contig_end")]
    detail = next(e.detail for e in events if isinstance(e, Skip))
    assert detail == ("TX_EDGE: 1:[194, 210) (0-based half-open) reaches 10 nt past the end of FASTA contig 1 (length 200) "
                      f"of {tmp_path / 'g.fa'}")
    assert summary.scored_alleles == 1


def test_repeated_utr_exon_line_is_read_once(tmp_path):
    """A five_prime_utr line written twice (merged GTFs do this) is one exon: the 5'UTR is not the
    exon twice over, and an SNV inside it is scored, not skipped as crossing an exon boundary."""
    gtf = GTF + [gtf_line("1", "five_prime_utr", 31, 40, "+", "TP", "GP")]
    events, summary = run(tmp_path, [("chr1", 33, "snv", s(33, 33), other_base(s(33, 33)))], gtf=gtf)
    got = pairs_of(events)
    assert [(g[1], g[2]) for g in got] == [("TP", UTR_P), ("TP2", UTR_P)]
    assert summary.skipped == {}


@pytest.mark.parametrize("overlap, lines", [((35, 45), "2 and 11"), ((31, 39), "11 and 2")])
def test_overlapping_utr_exons_are_a_clear_error(tmp_path, overlap, lines):
    """Overlapping 5'UTR exons of one transcript would put the overlap in its 5'UTR twice (a
    sequence not in the genome, scored as if it were): an error naming the file, both lines (the
    GTF's header is line 1), the transcript and the exons."""
    from seqzoo.genome.fasta import GenomeError
    gtf = GTF + [gtf_line("1", "five_prime_utr", overlap[0], overlap[1], "+", "TP", "GP")]
    first, second = sorted([(31, 40), overlap])
    with pytest.raises(GenomeError, match=rf"a\.gtf, lines {lines}: 5'UTR exons 1:{first[0]}-{first[1]} and "
                                          rf"{second[0]}-{second[1]} \(1-based\) of transcript TP overlap; its 5'UTR "
                                          rf"would hold the overlap twice\. Correct or remove one of these lines"):
        run(tmp_path, [("chr1", 33, "snv", s(33, 33), other_base(s(33, 33)))], gtf=gtf)


def test_overlapping_utr_exons_on_a_contig_not_in_the_fasta_are_dropped_with_it(tmp_path):
    """A transcript on a contig the FASTA lacks is left out whatever its exons: its overlap is no
    reason to refuse the rest of the annotation."""
    gtf = GTF + [gtf_line("KI270728.1", "five_prime_utr", 11, 20, "+", "TK", "GK"),
                 gtf_line("KI270728.1", "five_prime_utr", 15, 30, "+", "TK", "GK")]
    events, summary = run(tmp_path, [("chr1", 33, "snv", s(33, 33), other_base(s(33, 33)))], gtf=gtf)
    assert [(g[1], g[2]) for g in pairs_of(events)] == [("TP", UTR_P), ("TP2", UTR_P)]
    assert summary.scored_alleles == 1


@pytest.mark.parametrize("text", [
    'gene_id "G1"; transcript_id "T1"; gene_type "protein_coding"; gene_name "ABC"; level 2; tag "basic"; '
    'havana_transcript "OTTHUMT1";',                                      # GENCODE order
    'gene_id "G1"; gene_version "3"; transcript_id "T1"; exon_number "2"; gene_name "A B"; tag "x";',  # Ensembl
    'transcript_id "T1"; gene_id "G1"; transcript_id "T2";',              # a key twice: the last wins
    'note "see transcript_id "; transcript_id "T9"; gene_id "G9";',       # a key inside a value
    'gene_id "G1";transcript_id "T1"; gene_name  "N1"',                   # ';' without space: key ';transcript_id'
    'gene_id G1; transcript_id "T1"; gene_name "N"',                      # unquoted value: no pair
    'level 2; tag "basic"',                                               # none of the keys
    'gene_id "G1"; gene_id_version "7"; gene_name "N"; xgene_name "M"',   # keys inside longer keys
    'gene_id "" ; transcript_id "\tT" ; gene_name "a\\"b"',               # empty value, tab, backslash
    '',
])
def test_gtf_attributes_give_the_full_parse_for_the_keys_read(text):
    """gtf_attributes scans only up to the pair of the last place a wanted key occurs: for those
    keys it equals a parse of the whole attribute column (and the readers read no other key)."""
    from seqzoo.genome.gtf import _ATTR, KEYS, gtf_attributes
    full = dict(_ATTR.findall(text))
    for keys in (KEYS, ("gene_id",) + KEYS):
        part = gtf_attributes(text, keys)
        assert {k: part.get(k) for k in keys} == {k: full.get(k) for k in keys}
        assert all(full[k] == v or k not in keys for k, v in part.items())
