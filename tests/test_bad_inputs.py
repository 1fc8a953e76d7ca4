"""The bad-input catalogue: every user mistake gets one clear error naming the file, record (line)
and fix, or a skip row with its reason — never a traceback — and ``alleles == scored + skipped``
holds in every run that scores.

Catalogue item -> test (here unless named):
  chr1/1 and chrM/MT naming .................. test_contig_names_are_harmonised
  Chr1/CHR1 vs chr1 (unique: matched, warned
  once; ambiguous: contig_not_in_fasta) ....... test_contig_names_differing_in_case_match_when_unique
  RefSeq/GenBank names: --chrom-alias FILE
  (UCSC chromAlias, both layouts; VCF, GTF,
  BED, plot, API chrom_alias=) ................ test_chrom_alias_file_maps_refseq_names,
                                                test_chrom_alias_file_for_bed_regions_and_plots
  alias file as an input (-o, --resume) ....... test_chrom_alias_file_is_an_input_of_the_run
  malformed / empty / missing alias file ...... test_malformed_chrom_alias_file_names_file_and_line,
                                                test_chrom_alias_file_without_aliases_or_missing
  alias naming two FASTA contigs .............. test_chrom_alias_naming_two_fasta_contigs_is_not_a_guess
  contig absent from the FASTA, REF mismatch, N in REF or ALT, '*', <DEL>, <INS>, breakend,
  ALT '.', REF beyond the contig end ......... test_allele_skip_catalogue (exact reason + detail)
  multi-allelic record (one row per ALT) ...... test_multiallelic_record_gives_one_row_per_alt
  lower-case / soft-masked FASTA .............. test_soft_masked_fasta_gives_the_same_windows
  window past a contig edge ................... test_window_past_a_contig_edge_is_a_skip
                                                (+ test_utr5_windows::test_utr_exon_past_the_contig_end...)
  unsorted VCF ................................ test_unsorted_vcf_keeps_file_order
  bgzipped VCF without index .................. test_bgzipped_vcf_without_index
  truncated gzip / malformed record ........... test_truncated_gzip_is_refused, test_malformed_record_names_file_and_line
  gzipped input not named .gz, plain named .gz  test_compression_is_read_from_the_bytes_not_the_name
  VCF without its #CHROM header line .......... test_vcf_without_chrom_header
  empty VCF (every output format) ............. test_empty_vcf_gives_headers_and_a_summary
  duplicated IDs .............................. test_duplicated_ids_are_kept_and_counted
  missing .fai, read-only FASTA folder ........ test_missing_fai_is_built_and_read_only_folder_is_a_clear_error
  stale .fai (FASTA changed after indexing) ... test_stale_fai_is_refused
  bgzipped FASTA (pysam; .fai + .gzi built,
  stale indexes refused) ...................... test_bgzipped_fasta_is_read_like_the_plain_one
  plain-gzip / truncated bgzip FASTA .......... test_plain_gzip_or_truncated_fasta_is_refused
  GTF without UTR features .................... test_gtf_without_utr_names_what_was_looked_for
  GTF whose contigs match none of the FASTA's
  (every GTF reader, --model all too) ......... test_gtf_whose_contigs_match_no_fasta_contig_is_an_error
  GENCODE-style 'UTR' features ................ test_utr5_windows::test_gencode_utr_features
  GFF3 as --gtf (Ensembl and GENCODE; shared
  exons, lnc_RNA): the GTF's windows, byte
  for byte, for every GTF-based model ......... test_gff3_gives_the_windows_of_the_same_gtf
  GFF3 part without / with an unknown Parent .. test_gff3_with_a_broken_hierarchy_names_the_line
  BED or random text as --gtf ................. test_an_annotation_that_is_neither_gtf_nor_gff3_is_refused
  corrupted / wrong weights file .............. test_corrupted_weights_name_file_and_url, test_wrong_weights_file
  no network and no weights ................... test_no_network_and_no_weights
  VCF header of another assembly .............. test_vcf_header_of_another_assembly_is_warned_about
  output folder that cannot be written ........ test_unwritable_output_is_a_clear_error
  seqzoo shard on a non-VCF / truncated gzip  test_shard_refuses_a_file_that_is_no_vcf_and_a_truncated_gzip
  half-life file with NaN / inf / empty / NA .. test_halflife_file_with_a_missing_value_names_line_gene_and_fix
  (concurrent cache fill: test_weights::test_two_processes_filling_the_cache_at_once)
"""
from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqzoo import registry
from seqzoo.cli import main
from seqzoo.synthetic import (gtf_line, make_utr_dataset, other_base, random_sequence, write_fasta, write_gtf,
                              write_vcf)

from conftest import require_weights

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    return make_utr_dataset(tmp_path_factory.mktemp("bad"), seed=5, n_genes=6, variants_per_utr=2)


def windows(d, vcf, out, fasta=None):
    return main(["windows", "--model", "Framepool", "--fasta", str(fasta or d["fasta"]), "--gtf", str(d["gtf"]),
                 "--vcf", str(vcf), "-o", str(out), "--quiet"])


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz", ".parquet", ".h5"])
def test_empty_vcf_gives_headers_and_a_summary(d, tmp_path, suffix):
    vcf = tmp_path / "empty.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    out = tmp_path / f"o{suffix}"
    assert windows(d, vcf, out) == 0
    columns = ["variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand", "ref_seq", "alt_seq",
               "record", "alt_index"]
    if suffix == ".h5":
        import h5py
        with h5py.File(out) as h5:
            assert sorted(h5["metadata"]) == sorted(columns[:8] + columns[-2:])
            assert sorted(h5["preds"]) == ["alt_seq", "ref_seq"]
            assert h5["metadata/variant_id"].shape == (0,)
    else:
        table = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, sep="\t")
        assert list(table.columns) == columns and len(table) == 0
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert (summary["records"], summary["alleles"], summary["rows"], summary["identity_holds"]) == (0, 0, 0, True)
    assert Path(f"{out}.skipped.tsv").read_text().startswith("variant_id\tchrom\tpos\tref\talt\trecord")


def test_malformed_record_names_file_and_line(d, tmp_path, capsys):
    lines = d["vcf"].read_text().splitlines()
    header = sum(1 for x in lines if x.startswith("#"))
    vcf = tmp_path / "trunc.vcf"
    vcf.write_text("\n".join(lines[:header + 3] + ["chr1\t12"]) + "\n")
    assert windows(d, vcf, tmp_path / "o.tsv") == 2
    err = capsys.readouterr().err
    assert f"VCF file {vcf}, record 4 (line {header + 4}: error parsing variant" in err and "malformed record" in err
    assert "expected 8+ tab-separated columns" in err and "truncated" in err  # 2 columns


def test_bad_pos_error_does_not_blame_the_columns(tmp_path):
    """A record with all 8 columns but an unreadable POS (or an empty REF) is named with what is
    wrong; the column-count hint and "truncated?" are for records with fewer columns only."""
    from seqzoo.genome.fasta import GenomeError
    from seqzoo.genome.vcf import iter_record_blocks

    vcf = tmp_path / "pos.vcf"
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    for record, what in (("chr1\tabc\tv1\tA\tG\t.\t.\t.", "POS 'abc' is not an integer"),
                         ("chr1\t5\tv1\t\tG\t.\t.\t.", "POS 5 REF ''")):
        vcf.write_text(head + record + "\n")
        with pytest.raises(GenomeError) as err:
            list(iter_record_blocks(vcf))
        assert str(err.value) == (f"VCF file {vcf}, record 1 (line 3: error parsing variant: {what}): malformed "
                                  f"record: POS must be an integer (1-based) and REF not empty; fix or remove "
                                  f"the record")


def test_blank_vcf_lines_are_skipped_and_later_errors_name_the_right_line(tmp_path):
    """Empty, whitespace-only and tab-only lines (with 8+ empty columns too) are skipped wherever
    they fall in a block; records keep their numbers; a malformed record after them is named by
    its record number and file line."""
    from seqzoo.genome.fasta import GenomeError
    from seqzoo.genome.vcf import iter_record_blocks

    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    lines = ["1\t10\t.\tA\tC\t.\t.\t.", "", "   ", "\t" * 7, " \t \t\t\t\t\t\t ", "1\t12\trs1\tA\tG\t.\t.\t.",
             "\t", " \t12\t.\tA\tG\t.\t.\t."]
    vcf = tmp_path / "blank.vcf"
    vcf.write_text(head + "\n".join(lines) + "\n")
    for size in (1, 3, 8192):
        got = [(b.first_record, b.chrom, b.pos.tolist(), b.ids) for b in iter_record_blocks(vcf, block_size=size)]
        flat = [(r, c, p, i) for first, cs, ps, ids in got for r, c, p, i in zip(range(first, first + 9), cs, ps, ids)]
        assert flat == [(1, "1", 10, None), (2, "1", 12, "rs1"), (3, " ", 12, None)], size
    vcf.write_text(head + "\n".join(lines + ["1\t1x\t.\tA\tG\t.\t.\t."]) + "\n")
    with pytest.raises(GenomeError, match=r"record 4 \(line 11: error parsing variant: POS '1x' is not an integer\)"):
        list(iter_record_blocks(vcf))


def test_truncated_gzip_is_refused(d, tmp_path, capsys):
    gz = write_vcf(tmp_path / "v.vcf.gz", [("chr1", 100 + i, None, "A", "G") for i in range(2000)], bgzip=True)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    assert windows(d, cut, tmp_path / "o.tsv") == 2
    assert f"VCF file {cut} is a truncated or corrupt gzip file" in capsys.readouterr().err
    plain_gz = tmp_path / "plain.vcf.gz"  # plain gzip (not bgzip), whole: accepted
    plain_gz.write_bytes(gzip.compress(d["vcf"].read_bytes()))
    assert windows(d, plain_gz, tmp_path / "p.tsv") == 0
    assert windows(d, d["vcf"], tmp_path / "q.tsv") == 0
    assert (tmp_path / "p.tsv").read_text() == (tmp_path / "q.tsv").read_text()


def test_compression_is_read_from_the_bytes_not_the_name(d, tmp_path):
    """A gzipped GTF named .gtf and a gzipped VCF named .vcf read as the plain files do; so does a
    plain file named .gz (seqzoo.genome.textfile.open_text sniffs the gzip magic)."""
    from seqzoo.genome.textfile import is_gzip, open_text

    gtf_gz = tmp_path / "annotation.gtf"
    gtf_gz.write_bytes(gzip.compress(d["gtf"].read_bytes()))
    vcf_gz = tmp_path / "variants.vcf"
    vcf_gz.write_bytes(gzip.compress(d["vcf"].read_bytes()))
    plain_named_gz = tmp_path / "plain.vcf.gz"
    plain_named_gz.write_bytes(d["vcf"].read_bytes())
    assert (is_gzip(gtf_gz), is_gzip(vcf_gz), is_gzip(plain_named_gz)) == (True, True, False)
    with open_text(vcf_gz, newline="") as a, open_text(plain_named_gz, "rb") as b:
        assert a.read() == d["vcf"].read_text() and b.read() == d["vcf"].read_bytes()
    with pytest.raises(ValueError, match="mode must be 'rt' or 'rb'"):
        open_text(vcf_gz, "w")
    assert windows(d, d["vcf"], tmp_path / "plain.tsv") == 0
    for n, vcf in enumerate((vcf_gz, plain_named_gz)):
        assert main(["windows", "--model", "Framepool", "--fasta", str(d["fasta"]), "--gtf", str(gtf_gz),
                     "--vcf", str(vcf), "-o", str(tmp_path / f"{n}.tsv"), "--quiet"]) == 0
        assert (tmp_path / f"{n}.tsv").read_text() == (tmp_path / "plain.tsv").read_text()


def test_unsorted_vcf_keeps_file_order(d, tmp_path):
    lines = d["vcf"].read_text().splitlines()
    header = [x for x in lines if x.startswith("#")]
    body = [x for x in lines if not x.startswith("#")][::-1]
    vcf = tmp_path / "rev.vcf"
    vcf.write_text("\n".join(header + body) + "\n")
    assert windows(d, vcf, tmp_path / "rev.tsv") == 0
    assert windows(d, d["vcf"], tmp_path / "fwd.tsv") == 0
    rev = pd.read_csv(tmp_path / "rev.tsv", sep="\t")
    fwd = pd.read_csv(tmp_path / "fwd.tsv", sep="\t")
    assert len(rev) == len(fwd) and rev.pos.iloc[0] == fwd.pos.iloc[-1]


def test_missing_fai_is_built_and_read_only_folder_is_a_clear_error(d, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    fasta = folder / "genome.fa"
    shutil.copy(d["fasta"], fasta)
    assert windows(d, d["vcf"], tmp_path / "o.tsv", fasta=fasta) == 0
    assert (folder / "genome.fa.fai").exists()  # built
    (folder / "genome.fa.fai").unlink()
    # a read-only folder (simulated: tests may run as root, who can write anywhere)
    import seqzoo.genome.fasta as fasta_mod
    monkeypatch.setattr(fasta_mod.os, "access", lambda path, mode: False)
    assert windows(d, d["vcf"], tmp_path / "o.tsv", fasta=fasta) == 2
    err = capsys.readouterr().err
    assert f"FASTA file {fasta} has no index genome.fa.fai and its folder is not writable" in err
    assert "samtools faidx" in err


# --- a hand-built genome for the allele-level catalogue: chr1 (3,000 nt) and chrM (400 nt), one
# 5'UTR transcript on each (chr1 1011-1060, chrM 101-150); the VCF names them "1" and "MT".
RNG = np.random.default_rng(11)
CHR1, CHRM = random_sequence(RNG, 3000), random_sequence(RNG, 400)


def b(pos: int, seq: str = CHR1) -> str:
    """The base at 1-based ``pos``."""
    return seq[pos - 1]


CATALOGUE = [  # (chrom, pos, id, ref, alt, reason, detail)
    ("chrUn", 5, "absent", "A", "G", "contig_not_in_fasta",
     "contig 'chrUn' matches no FASTA contig (chr prefix, chrM/MT and case tried)"),
    ("chr1", 1021, "mismatch", other_base(b(1021)), "G", "ref_mismatch",
     f"VCF REF={other_base(b(1021))} FASTA={b(1021)} at chr1:1021"),
    ("chr1", 1022, "n_ref", "N", "A", "non_acgt_allele", "REF 'N' contains a base other than A/C/G/T"),
    ("chr1", 1023, "n_alt", b(1023), "N", "non_acgt_allele", "ALT 'N' contains a base other than A/C/G/T"),
    ("chr1", 1025, "star", b(1025), "*", "spanning_deletion_alt", "ALT '*' (allele missing due to an upstream deletion)"),
    ("chr1", 1026, "sym_del", b(1026), "<DEL>", "symbolic_alt",
     "symbolic or breakend ALT '<DEL>' cannot be applied to a sequence"),
    ("chr1", 1027, "sym_ins", b(1027), "<INS>", "symbolic_alt",
     "symbolic or breakend ALT '<INS>' cannot be applied to a sequence"),
    ("chr1", 1028, "breakend", b(1028), b(1028) + "]chr1:2000]", "symbolic_alt",
     f"symbolic or breakend ALT '{b(1028)}]chr1:2000]' cannot be applied to a sequence"),
    ("chr1", 1031, "no_alt", b(1031), ".", "no_alt_allele", "the record has no ALT allele ('.')"),
    ("chr1", 2999, "ref_past_end", CHR1[2998:3000] + "A", b(2999), "beyond_contig_end",
     "REF spans 2999-3001 (1-based) but chr1 has length 3000"),
    ("chr1", 3500, "beyond_end", "A", "G", "beyond_contig_end", "REF spans 3500-3500 (1-based) but chr1 has length 3000"),
    ("chr1", 0, "pos_zero", "A", "G", "beyond_contig_end",
     "POS 0: REF starts before the first base of chr1; POS 0 marks a telomere, nothing to apply"),
]


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    out = tmp_path_factory.mktemp("catalogue")
    write_fasta(out / "g.fa", {"chr1": CHR1, "chrM": CHRM})
    write_gtf(out / "a.gtf", [gtf_line("chr1", "five_prime_utr", 1011, 1060, "+", "TP", "GP"),
                              gtf_line("chr1", "CDS", 1061, 1300, "+", "TP", "GP"),
                              gtf_line("chrM", "five_prime_utr", 101, 150, "+", "TMT", "GMT"),
                              gtf_line("chrM", "CDS", 151, 300, "+", "TMT", "GMT")])
    return out


def run_windows(genome, records, tmp_path, model="Framepool", fasta=None, extra=(), **vcf_kw):
    """``seqzoo windows`` on ``records``: (exit status, rows, skip report, summary); checks the identity."""
    vcf = write_vcf(tmp_path / ("v.vcf.gz" if vcf_kw.get("bgzip") else "v.vcf"), records, {"chr1": 3000}, **vcf_kw)
    out = tmp_path / "o.tsv"
    argv = ["windows", "--model", model, "--fasta", str(fasta or genome / "g.fa"), "--vcf", str(vcf), "-o", str(out),
            "--quiet", *extra] + (["--gtf", str(genome / "a.gtf")] if model == "all" or any(
                registry.get(m).needs_gtf for m in model.split(",")) else [])
    assert main(argv) == 0
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["identity_holds"] and summary["alleles"] == summary["scored_alleles"] + summary["skipped_alleles"]
    rows = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t", dtype=str, keep_default_na=False)
    return rows, skipped, summary


def test_allele_skip_catalogue(genome, tmp_path):
    records = [r[:5] for r in CATALOGUE]
    rows, skipped, summary = run_windows(genome, records, tmp_path)
    assert len(rows) == 0 and summary["alleles"] == len(CATALOGUE) == summary["skipped_alleles"]
    got = {r.variant_id: (r.reason, r.detail, r.record) for r in skipped.itertuples()}
    for i, (_, _, vid, _, _, reason, detail) in enumerate(CATALOGUE, start=1):
        assert got[vid] == (reason, detail, str(i)), vid
    assert summary["unmatched_contigs"] == {"VCF": ["chrUn"]}


def test_skip_details_name_the_vcf_contig_and_the_fasta_one_where_they_differ(genome, tmp_path):
    # the VCF's "1" is the FASTA's chr1: each detail names the contig as the row's chrom column does
    records = [("1", 1021, "mismatch", other_base(b(1021)), "G"), ("1", 3500, "beyond_end", "A", "G"),
               ("1", 0, "pos_zero", "A", "G"), ("1", 1058, "crossing", CHR1[1057:1062], b(1058))]
    rows, skipped, summary = run_windows(genome, records, tmp_path)
    got = {r.variant_id: (r.chrom, r.reason, r.detail) for r in skipped.itertuples()}
    assert got == {
        "mismatch": ("1", "ref_mismatch", f"VCF REF={other_base(b(1021))} FASTA={b(1021)} at 1:1021 (FASTA contig chr1)"),
        "beyond_end": ("1", "beyond_contig_end", "REF spans 3500-3500 (1-based) but FASTA contig chr1 (the VCF's 1) has length 3000"),
        "pos_zero": ("1", "beyond_contig_end",
                     "POS 0: REF starts before the first base of FASTA contig chr1 (the VCF's 1); POS 0 marks a telomere, "
                     "nothing to apply"),
        "crossing": ("1", "crosses_utr_exon_boundary",
                     "TP: REF 1:1057-1062 is not inside one 5'UTR exon of TP (exon 1:1010-1060; both 0-based, "
                     "half-open)")}
    assert len(rows) == 0 and summary["skipped_alleles"] == 4


def test_contig_names_are_harmonised(genome, tmp_path):
    records = [("1", 1020, "one", b(1020), other_base(b(1020))), ("MT", 120, "mt", b(120, CHRM), other_base(b(120, CHRM))),
               ("chr1", 1021, "chr1", b(1021), other_base(b(1021)))]
    rows, skipped, summary = run_windows(genome, records, tmp_path)
    assert [(r.variant_id, r.chrom, r.feature_id) for r in rows.itertuples()] == \
        [("one", "1", "TP"), ("mt", "MT", "TMT"), ("chr1", "chr1", "TP")]
    assert rows.ref_seq[0] == CHR1[1010:1060] and rows.ref_seq[1] == CHRM[100:150]
    assert len(skipped) == 0 and summary["unmatched_contigs"] == {}


def test_contig_names_differing_in_case_match_when_unique(genome, tmp_path, caplog):
    gtf = write_gtf(tmp_path / "upper.gtf", [gtf_line("CHR1", "five_prime_utr", 1011, 1060, "+", "TP", "GP"),
                                             gtf_line("CHR1", "CDS", 1061, 1300, "+", "TP", "GP")])
    records = [("Chr1", 1020, "a", b(1020), other_base(b(1020))), ("Chr1", 1021, "b", b(1021), other_base(b(1021))),
               ("chr1", 1022, "c", b(1022), other_base(b(1022)))]
    vcf = write_vcf(tmp_path / "v.vcf", records)
    out = tmp_path / "o.tsv"
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(gtf),
                 "--vcf", str(vcf), "-o", str(out), "--quiet"]) == 0
    rows = pd.read_csv(out, sep="\t")
    assert list(zip(rows.variant_id, rows.chrom, rows.feature_id)) == [("a", "Chr1", "TP"), ("b", "Chr1", "TP"),
                                                                      ("c", "chr1", "TP")]
    assert rows.ref_seq[0] == CHR1[1010:1060]
    said = [r.getMessage() for r in caplog.records if "differ in case only" in r.getMessage()]
    assert said == ["GTF contig 'CHR1' is taken as FASTA contig 'chr1' (the names differ in case only)",
                    "VCF contig 'Chr1' is taken as FASTA contig 'chr1' (the names differ in case only)"]  # once each
    # two FASTA contigs that differ in case only: no guess
    fasta = write_fasta(tmp_path / "two.fa", {"chr1": CHR1, "Chr1": CHR1, "chrM": CHRM})
    (tmp_path / "two").mkdir()
    _, skipped, summary = run_windows(genome, [("CHR1", 1020, "x", b(1020), other_base(b(1020)))], tmp_path / "two",
                                      fasta=fasta)
    assert list(zip(skipped.reason, skipped.detail)) == [
        ("contig_not_in_fasta", "contig 'CHR1' matches no FASTA contig (ambiguous: it matches FASTA contigs Chr1, chr1 "
                                "ignoring case, so none is chosen)")]
    assert summary["unmatched_contigs"] == {"VCF": ["CHR1"]}


def test_multiallelic_record_gives_one_row_per_alt(genome, tmp_path):
    alts = [x for x in "ACGT" if x != b(1024)]
    rows, _, summary = run_windows(genome, [("chr1", 1024, "multi", b(1024), ",".join(alts + ["*"]))], tmp_path)
    assert list(rows.alt) == alts and [s[13] for s in rows.alt_seq] == alts
    assert (summary["records"], summary["alleles"], summary["scored_alleles"]) == (1, 4, 3)
    assert summary["skipped_by_reason"] == {"spanning_deletion_alt": 1}


def test_soft_masked_fasta_gives_the_same_windows(genome, tmp_path):
    masked = tmp_path / "masked.fa"
    write_fasta(masked, {"chr1": CHR1[:1015].lower() + CHR1[1015:1040] + CHR1[1040:].lower(), "chrM": CHRM.lower()})
    records = [("chr1", 1012, "a", b(1012), other_base(b(1012))), ("chr1", 1030, "b", b(1030), other_base(b(1030))),
               ("chrM", 110, "c", b(110, CHRM), other_base(b(110, CHRM)))]
    (tmp_path / "m").mkdir()
    (tmp_path / "u").mkdir()
    rows_masked, _, _ = run_windows(genome, records, tmp_path / "m", fasta=masked)
    rows_upper, _, _ = run_windows(genome, records, tmp_path / "u")
    assert rows_masked.equals(rows_upper) and len(rows_upper) == 3
    assert rows_masked.ref_seq[0] == CHR1[1010:1060]  # upper case


def test_window_past_a_contig_edge_is_a_skip(genome, tmp_path):
    rows, skipped, _ = run_windows(genome, [("chr1", 100, "edge", b(100), other_base(b(100))),
                                            ("chr1", 1500, "inside", b(1500), other_base(b(1500)))],
                                   tmp_path, model="BPNet-OSKN")
    assert list(rows.variant_id) == ["inside"]
    assert list(skipped.reason) == ["window_past_contig_end"] and skipped.model[0] == "BPNet-OSKN"
    assert skipped.detail[0].endswith("the 1000-nt window centred on the variant needs sequence past a contig end: "
                                      "chr1:[-401, 599) (0-based half-open) reaches 401 nt before the start of FASTA contig chr1 "
                                      "(length 3000)")


def test_bgzipped_vcf_without_index(genome, tmp_path):
    records = [r[:5] for r in CATALOGUE] + [("1", 1020, "one", b(1020), other_base(b(1020)))]
    (tmp_path / "gz").mkdir()
    (tmp_path / "plain").mkdir()
    rows_gz, skipped_gz, _ = run_windows(genome, records, tmp_path / "gz", bgzip=True)
    assert not list((tmp_path / "gz").glob("*.tbi")) and not list((tmp_path / "gz").glob("*.csi"))
    rows, skipped, _ = run_windows(genome, records, tmp_path / "plain")
    assert rows_gz.equals(rows) and skipped_gz.equals(skipped) and len(rows) == 1


def test_duplicated_ids_are_kept_and_counted(genome, tmp_path, caplog):
    records = [("chr1", 1029, "rs1", b(1029), other_base(b(1029))), ("chr1", 1030, "rs1", b(1030), other_base(b(1030))),
               ("chr1", 1030, "rs1", b(1030), other_base(b(1030)))]  # the same variant twice, too
    rows, _, summary = run_windows(genome, records, tmp_path)
    assert list(rows.variant_id) == ["rs1"] * 3 and list(rows.pos) == ["1029", "1030", "1030"]
    assert summary["duplicate_ids"] == 2 and summary["duplicate_id_examples"] == ["rs1", "rs1"]
    assert "record 2 repeats the ID 'rs1' of an earlier record; both are kept" in caplog.text


def test_gtf_without_utr_names_what_was_looked_for(genome, tmp_path, capsys):
    gtf = write_gtf(tmp_path / "exons.gtf", [gtf_line("chr1", "exon", 1011, 1300, "+", "TP", "GP")])
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1020, "x", b(1020), other_base(b(1020)))])
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(gtf),
                 "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"seqzoo: error: GTF file {gtf} has no 5'UTR: looked for features of type five_prime_utr / 5UTR and for "
        f"GENCODE 'UTR' features 5' of a 'CDS' of the same transcript_id. Use an Ensembl or GENCODE GTF with UTR "
        f"annotation.")


def score_argv(genome, tmp_path, *extra):
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1020, "x", b(1020), other_base(b(1020)))])
    return ["score", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
            "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv"), *extra]


def test_corrupted_weights_name_file_and_url(genome, tmp_path, monkeypatch, capsys):
    spec = registry.get("Framepool").weights
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / spec.filename).write_bytes(b"not the published file")
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(folder))
    assert main(score_argv(genome, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqzoo: error: Weights file {folder / spec.filename} (from $SEQZOO_WEIGHTS_DIR) has md5 ")
    assert (f"but the published '{spec.filename}' from {spec.url} has md5 {spec.md5}: the file is corrupted, "
            f"truncated or a different release. Delete it") in err
    assert "Traceback" not in err


def test_wrong_weights_file(genome, tmp_path, capsys):
    spec = registry.get("Framepool").weights
    junk = tmp_path / "junk.h5"
    junk.write_text("junk")
    assert main(score_argv(genome, tmp_path, "--weights", str(junk))) == 2
    err = capsys.readouterr().err
    assert (f"seqzoo: error: {junk} cannot be loaded as Framepool weights: Cannot read Keras h5 file {junk}: "
            in err and f"Is it the published '{spec.filename}' (md5 {spec.md5}, {spec.url})?" in err)
    other_model = FIXTURES / "bpnet" / "bpnet.fixture.h5"  # a Keras file of another model
    assert main(score_argv(genome, tmp_path, "--weights", str(other_model))) == 2
    err = capsys.readouterr().err
    assert f"seqzoo: error: {other_model} cannot be loaded as Framepool weights: " in err
    assert f"Is it the published '{spec.filename}'" in err and "Traceback" not in err


def test_no_network_and_no_weights(genome, tmp_path, monkeypatch, capsys):
    spec = registry.get("Framepool")
    offline = dataclasses.replace(spec.weights, url="http://127.0.0.1:9/Framepool_combined_residual.h5")
    monkeypatch.setitem(registry.MODELS, "Framepool", dataclasses.replace(spec, weights=offline))
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("SEQZOO_OFFLINE", "0")  # "0" means downloads are on
    assert main(score_argv(genome, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqzoo: error: Could not download '{offline.filename}' from {offline.url}")
    assert "SEQZOO_WEIGHTS_DIR" in err and "--weights PATH" in err
    assert not list(Path(tmp_path).glob("o.tsv*"))  # nothing written before the weights resolve


@pytest.mark.parametrize("device, message", [
    ("gpu", "seqzoo: error: --device 'gpu' is not a torch device; use cpu, cuda or cuda:N"),
    ("cuda", "seqzoo: error: --device cuda: no CUDA device is available here"),
])
def test_unusable_device_is_a_clear_error(genome, tmp_path, capsys, device, message):
    import torch
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is available here: the CUDA path is tested in the parity tests instead")
    assert main(score_argv(genome, tmp_path, "--device", device, "--weights", str(tmp_path / "unused.h5"))) == 2
    assert capsys.readouterr().err.startswith(message)


# --- several models: a model that had windows for an allele another model scored, and could score
# none of them, gets its own skip row (model set, feature_id empty); one outside all of its features
# is silent. chrM (400 nt) is too short for any 1000-nt BPNet window; its 5'UTR is Framepool's.
TWO_MODEL_RECORDS = [("MT", 120, "mt_utr", b(120, CHRM), other_base(b(120, CHRM))),  # Framepool row, BPNet skip row
                     ("chr1", 1500, "chr1_cds", b(1500), other_base(b(1500))),  # BPNet row; outside Framepool's UTRs
                     ("MT", 300, "mt_cds", b(300, CHRM), other_base(b(300, CHRM)))]  # no model: one allele skip
BPNET_FIXTURE = FIXTURES / "bpnet" / "bpnet.fixture.h5"


def test_a_model_failing_an_allele_another_model_scored_gets_a_skip_row(genome, tmp_path):
    rows, skipped, summary = run_windows(genome, TWO_MODEL_RECORDS, tmp_path, model="Framepool,BPNet-OSKN")
    assert [(r.model, r.variant_id) for r in rows.itertuples()] == [("Framepool", "mt_utr"),
                                                                    ("BPNet-OSKN", "chr1_cds")]
    assert [(r.variant_id, r.model, r.feature_id, r.reason) for r in skipped.itertuples()] == [
        ("mt_utr", "BPNet-OSKN", "", "window_past_contig_end"),
        ("mt_cds", "", "", "no_window_in_any_model")]
    assert skipped.detail[1] == ("Framepool: not_in_5utr (the variant overlaps no 5'UTR exon in the GTF); "
                                 "BPNet-OSKN: window_past_contig_end (chrM:-201-799: the 1000-nt window centred on the "
                                 "variant needs sequence past a contig end: chrM:[-201, 799) (0-based half-open) reaches "
                                 "201 nt before the start and 399 nt past the end of FASTA contig chrM (length 400))")
    assert (summary["alleles"], summary["scored_alleles"], summary["skipped_alleles"]) == (3, 2, 1)
    assert summary["feature_skips_by_reason"] == {"window_past_contig_end": 1}


def test_sharded_merge_rebuilds_the_same_model_skip_rows(genome, tmp_path):
    require_weights("Framepool_combined_residual.h5")
    from seqzoo.workflow import part_path, read_manifest
    vcf = write_vcf(tmp_path / "v.vcf", TWO_MODEL_RECORDS * 2, {"chr1": 3000})
    common = ["--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"), "--quiet"]
    weights = ["--weights", f"BPNet-OSKN={BPNET_FIXTURE}"]
    assert main(["score", "--model", "Framepool,BPNet-OSKN", "--vcf", str(vcf), "-o", str(tmp_path / "one.parquet"),
                 *common, *weights]) == 0
    assert main(["shard", "--vcf", str(vcf), "--records-per-shard", "2", "-o", str(tmp_path / "shards"), "-q"]) == 0
    for s in read_manifest(tmp_path / "shards" / "manifest.tsv"):
        for model in ("Framepool", "BPNet-OSKN"):
            extra = ["--weights", str(BPNET_FIXTURE)] if model == "BPNet-OSKN" else []
            assert main(["score", "--model", model, "--vcf", str(tmp_path / "shards" / f"{s.name}.vcf"),
                         "-o", str(part_path(tmp_path / "parts", model, s.name)), *common, *extra]) == 0
    assert main(["merge", "--manifest", str(tmp_path / "shards" / "manifest.tsv"), "--parts", str(tmp_path / "parts"),
                 "--model", "Framepool,BPNet-OSKN", "--vcf", str(vcf), "-o", str(tmp_path / "merged.parquet"),
                 "-q"]) == 0
    for suffix in (".skipped.tsv", ".summary.json"):
        assert (tmp_path / f"merged.parquet{suffix}").read_text() == (tmp_path / f"one.parquet{suffix}").read_text()
    skipped = pd.read_csv(tmp_path / "merged.parquet.skipped.tsv", sep="\t", keep_default_na=False)
    assert list(zip(skipped.variant_id, skipped.model, skipped.reason)) == [
        ("mt_utr", "BPNet-OSKN", "window_past_contig_end"), ("mt_cds", "", "no_window_in_any_model")] * 2


def test_model_all_leaves_out_models_the_gtf_cannot_serve(genome, tmp_path, caplog, capsys):
    records = [("chr1", 1020, "utr", b(1020), other_base(b(1020)))]
    rows, _, summary = run_windows(genome, records, tmp_path, model="all")
    assert sorted(set(rows.model)) == ["BPNet-OSKN", "Framepool"]
    assert ("--model all: leaving out HAL: GTF file " in caplog.text
            and "has no 'exon' lines: HAL's splice-donor windows come from the exons of each transcript_id"
            in caplog.text)
    assert summary["rows_by_model"] == {"BPNet-OSKN": 1, "Framepool": 1}
    vcf = tmp_path / "v.vcf"  # named explicitly, the same model is an error
    assert main(["windows", "--model", "Framepool,HAL", "--fasta", str(genome / "g.fa"), "--gtf",
                 str(genome / "a.gtf"), "--vcf", str(vcf), "-o", str(tmp_path / "x.tsv")]) == 2
    assert "has no 'exon' lines" in capsys.readouterr().err


def test_vcf_header_of_another_assembly_is_warned_about(genome, tmp_path, caplog):
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1021, "x", other_base(b(1021)), "G")], {"chr1": 248_956_422})
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv"), "--quiet"]) == 0
    assert (f"VCF file {vcf} declares contig lengths that differ from the FASTA's (chr1 248,956,422 vs FASTA chr1 "
            f"3,000): the VCF may be on another assembly (e.g. GRCh37 vs GRCh38)") in caplog.text
    caplog.clear()
    same = write_vcf(tmp_path / "same.vcf", [("chr1", 1021, "x", b(1021), "G")], {"chr1": 3000})
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(same), "-o", str(tmp_path / "p.tsv"), "--quiet"]) == 0
    assert "another assembly" not in caplog.text


def test_unwritable_output_is_a_clear_error(genome, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1021, "x", b(1021), "G")])
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(vcf), "-o", str(blocker / "o.tsv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqzoo: error: {blocker / 'o.tsv'}")  # or one of its side files
    assert err.strip().endswith(": Not a directory. Check the path, its folder's permissions and the free disk space.")


def test_vcf_without_chrom_header(genome, tmp_path, capsys):
    vcf = tmp_path / "v.vcf"
    vcf.write_text(f"##fileformat=VCFv4.2\nchr1\t1021\tx\t{b(1021)}\tG\t.\t.\t.\n")
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqzoo: error: Cannot read VCF file {vcf}: ") and "Traceback" not in err
    assert err.strip().endswith("Is it a VCF (plain or bgzipped) with a '#CHROM POS ID REF ALT QUAL FILTER INFO' "
                                "header line?")


def test_stale_fai_is_refused(genome, tmp_path, capsys):
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, {"chr1": CHR1, "chrM": CHRM}, line_width=60)
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1021, "x", b(1021), "G")])
    argv = ["windows", "--model", "Framepool", "--fasta", str(fasta), "--gtf", str(genome / "a.gtf"),
            "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv")]
    assert main(argv) == 0  # builds g.fa.fai
    capsys.readouterr()
    stale = (tmp_path / "g.fa.fai").read_bytes()
    write_fasta(fasta, {"chr1": CHR1, "chrM": CHRM}, line_width=70)  # rewritten after indexing
    (tmp_path / "g.fa.fai").write_bytes(stale)
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: FASTA index {fasta}.fai does not match FASTA file {fasta} (the FASTA changed after it was "
        f"indexed). Delete g.fa.fai (seqzoo rebuilds it) or run `samtools faidx {fasta}`.")


def test_shard_refuses_a_file_that_is_no_vcf_and_a_truncated_gzip(tmp_path, capsys):
    bed = tmp_path / "regions.vcf"
    bed.write_text("chr1\t5\t10\n")
    assert main(["shard", "--vcf", str(bed), "--records-per-shard", "5", "-o", str(tmp_path / "s"), "-q"]) == 2
    assert "a record before the '#CHROM POS ID REF ALT ...' header line" in capsys.readouterr().err
    good = write_vcf(tmp_path / "v.vcf.gz", [("chr1", 1021, "x", "A", "G")] * 50, bgzip=True)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(good.read_bytes()[:-40])
    assert main(["shard", "--vcf", str(cut), "--records-per-shard", "5", "-o", str(tmp_path / "s2"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqzoo: error: VCF file {cut} is a truncated or corrupt gzip file") and "Traceback" not in err


# --- gene models (gene, transcript, exon, five_prime_utr, CDS lines): FASTA contig "1", VCF "chr1"
@pytest.fixture(scope="module")
def genes(tmp_path_factory):
    from seqzoo.synthetic import make_gene_model_dataset
    return make_gene_model_dataset(tmp_path_factory.mktemp("genes"))


HALFLIFE_HEADER = "gene_id\thl_1\thl_2\thl_3\thl_4\thl_5\thl_6\n"


@pytest.mark.parametrize("values, bad", [
    ("0.1\tnan\t0.3\t0.4\t0.5\t0.6", "hl_2='nan'"),
    ("0.1\t0.2\t\t0.4\tinf\t0.6", "hl_3='', hl_5='inf'"),
    ("NA\t0.2\t0.3\t0.4\t0.5\t0.6", "hl_1='NA'"),
])
def test_halflife_file_with_a_missing_value_names_line_gene_and_fix(genes, tmp_path, capsys, values, bad):
    hl = tmp_path / "hl.tsv"
    hl.write_text(HALFLIFE_HEADER + "GENE0\t1\t2\t3\t4\t5\t6\n" + f"GENE1\t{values}\n")
    argv = ["windows", "--model", "Xpresso/human_median", "--fasta", str(genes["fasta"]), "--gtf", str(genes["gtf"]),
            "--vcf", str(genes["vcf"]), "-o", str(tmp_path / "o.tsv"), "--quiet", "--halflife-file", str(hl)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: half-life file {hl}, line 3: the six features must be numbers, but gene GENE1 has {bad} "
        f"(not a finite number; its scores would be NaN). Give all six numbers for GENE1, or leave the gene out of "
        f"the file (it then gets zeros and its rows say halflife_source=zeros_gene_not_in_file)")
    hl.write_text(HALFLIFE_HEADER + "GENE0\t1\t2\t3\t4\t5\t6\n")  # the fix: GENE1 left out
    assert main(argv) == 0
    rows = pd.read_csv(tmp_path / "o.tsv", sep="\t")
    assert dict(zip(rows.gene_id, rows.halflife_source)) == {"GENE0": "file", "GENE1": "zeros_gene_not_in_file",
                                                             "GENE2": "zeros_gene_not_in_file",
                                                             "GENE3": "zeros_gene_not_in_file"}


def test_bgzipped_fasta_is_read_like_the_plain_one(genome, tmp_path, capsys):
    import pysam
    masked = tmp_path / "g.fa"
    write_fasta(masked, {"chr1": CHR1[:1015].lower() + CHR1[1015:], "chrM": CHRM}, line_width=70)
    pysam.tabix_compress(str(masked), str(tmp_path / "g.fa.gz"))
    records = [("chr1", 1012, "a", b(1012), other_base(b(1012))), ("MT", 110, "c", b(110, CHRM), other_base(b(110, CHRM))),
               ("chr1", 1021, "mismatch", other_base(b(1021)), "G")]
    (tmp_path / "gz").mkdir()
    (tmp_path / "plain").mkdir()
    rows_gz, skipped_gz, _ = run_windows(genome, records, tmp_path / "gz", model="Framepool,BPNet-OSKN",
                                         fasta=tmp_path / "g.fa.gz")
    assert (tmp_path / "g.fa.gz.fai").exists() and (tmp_path / "g.fa.gz.gzi").exists()  # built by pysam
    rows, skipped, _ = run_windows(genome, records, tmp_path / "plain", model="Framepool,BPNet-OSKN")
    assert rows_gz.equals(rows) and skipped_gz.equals(skipped) and len(rows) == 3
    assert rows.ref_seq[0] == CHR1[1010:1060]
    assert list(skipped.reason) == ["window_past_contig_end", "ref_mismatch"]  # chrM: too short for BPNet
    # the FASTA recompressed after indexing: the old .fai/.gzi are refused
    write_fasta(masked, {"chr1": CHR1, "chrM": CHRM}, line_width=60)
    pysam.tabix_compress(str(masked), str(tmp_path / "g.fa.gz"), force=True)
    vcf = tmp_path / "plain" / "v.vcf"
    argv = ["windows", "--model", "Framepool", "--fasta", str(tmp_path / "g.fa.gz"), "--gtf", str(genome / "a.gtf"),
            "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv")]
    assert main(argv) == 2
    fasta = tmp_path / "g.fa.gz"
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: FASTA index {fasta}.fai or {fasta}.gzi does not match FASTA file {fasta} (the FASTA changed "
        f"after it was indexed). Delete g.fa.gz.fai and g.fa.gz.gzi (seqzoo rebuilds them) or run "
        f"`samtools faidx {fasta}`.")
    (tmp_path / "g.fa.gz.fai").unlink()
    (tmp_path / "g.fa.gz.gzi").unlink()
    assert main(argv) == 0


def test_plain_gzip_or_truncated_fasta_is_refused(genome, tmp_path, capsys, monkeypatch):
    import pysam
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1021, "x", b(1021), "G")])
    fasta = tmp_path / "g.fa.gz"

    def run(fasta):
        assert main(["windows", "--model", "Framepool", "--fasta", str(fasta), "--gtf", str(genome / "a.gtf"),
                     "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv")]) == 2
        return capsys.readouterr().err.strip()

    fasta.write_bytes(gzip.compress((genome / "g.fa").read_bytes()))
    assert run(fasta) == (
        f"seqzoo: error: FASTA file {fasta} is compressed with plain gzip, which cannot be read at random positions. "
        f"Recompress it with bgzip (`gunzip -c {fasta} | bgzip > genome.fa.gz`, from htslib/samtools) or decompress "
        f"it (`gunzip {fasta}`).")
    pysam.tabix_compress(str(genome / "g.fa"), str(tmp_path / "whole.fa.gz"))
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes((tmp_path / "whole.fa.gz").read_bytes()[:-40])
    assert run(cut) == (f"seqzoo: error: FASTA file {cut} is a truncated bgzip file (it lacks the BGZF end-of-file "
                        f"block). Re-download it, or compress the plain FASTA again with `bgzip`.")
    import seqzoo.genome.fasta as fasta_mod  # a read-only folder (simulated, as above): both indexes named
    monkeypatch.setattr(fasta_mod.os, "access", lambda path, mode: False)
    assert run(tmp_path / "whole.fa.gz").startswith(
        f"seqzoo: error: FASTA file {tmp_path / 'whole.fa.gz'} has no index whole.fa.gz.fai and whole.fa.gz.gzi and "
        f"its folder is not writable, so seqzoo cannot build one.")


# --- contig names through a UCSC chromAlias file (RefSeq accessions in the VCF, GTF and BED)
ALIAS_LAYOUTS = {
    "newer": "# ucsc\tassembly\tgenbank\trefseq\nchr1\t1\tCM000663.2\tNC_000001.11\nchrM\tMT\tJ01415.2\tNC_012920.1\n"
             "chr2\t2\t\tNC_000002.12\n",
    "older": "1\tchr1\tensembl\nNC_000001.11\tchr1\trefseq\nMT\tchrM\tensembl\nNC_012920.1\tchrM\trefseq\n"
             "NC_000002.12\tchr2\trefseq\n",
}
REFSEQ_RECORDS = [("NC_000001.11", 1020, "one", b(1020), other_base(b(1020))),
                  ("NC_012920.1", 120, "mt", b(120, CHRM), other_base(b(120, CHRM))),
                  ("NC_000002.12", 50, "two", "A", "G")]


def refseq_inputs(genome, tmp_path, layout):
    alias = tmp_path / f"{layout}.chromAlias.txt"
    alias.write_text(ALIAS_LAYOUTS[layout])
    gtf = write_gtf(tmp_path / "refseq.gtf", [
        gtf_line("NC_000001.11", "five_prime_utr", 1011, 1060, "+", "TP", "GP"),
        gtf_line("NC_000001.11", "CDS", 1061, 1300, "+", "TP", "GP"),
        gtf_line("NC_012920.1", "five_prime_utr", 101, 150, "+", "TMT", "GMT"),
        gtf_line("NC_012920.1", "CDS", 151, 300, "+", "TMT", "GMT")])
    return alias, gtf, write_vcf(tmp_path / "refseq.vcf", REFSEQ_RECORDS)


@pytest.mark.parametrize("layout", ["newer", "older"])
def test_chrom_alias_file_maps_refseq_names(genome, tmp_path, layout, caplog):
    alias, gtf, vcf = refseq_inputs(genome, tmp_path, layout)
    out = tmp_path / "o.tsv"
    argv = ["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(gtf), "--vcf", str(vcf),
            "-o", str(out), "--quiet", "--chrom-alias", str(alias)]
    assert main(argv) == 0
    rows = pd.read_csv(out, sep="\t")
    assert list(zip(rows.variant_id, rows.chrom, rows.feature_id)) == [("one", "NC_000001.11", "TP"),
                                                                      ("mt", "NC_012920.1", "TMT")]
    assert rows.ref_seq[0] == CHR1[1010:1060] and rows.ref_seq[1] == CHRM[100:150]
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t")
    assert list(zip(skipped.variant_id, skipped.reason, skipped.detail)) == [
        ("two", "contig_not_in_fasta", f"contig 'NC_000002.12' matches no FASTA contig (chr prefix, chrM/MT, case and "
                                       f"the alias file {alias} tried)")]  # the file knows it as chr2: not in the FASTA
    assert json.loads(Path(f"{out}.summary.json").read_text())["unmatched_contigs"] == {"VCF": ["NC_000002.12"]}
    assert (f"VCF contig 'NC_000002.12' matches no FASTA contig (chr prefix, chrM/MT, case and the alias file {alias} "
            f"tried); its entries are not scored") in caplog.text
    # the Python API takes it as chrom_alias=
    import seqzoo
    api_rows, _, _ = seqzoo.windows_vcf("Framepool", genome / "g.fa", vcf, gtf=gtf, chrom_alias=alias)
    assert list(api_rows.ref_seq) == list(rows.ref_seq)
    chunks = list(seqzoo.iter_scores("Framepool", genome / "g.fa", vcf, gtf=gtf, chrom_alias=alias, score=False))
    assert chunks[-1].summary["rows"] == 2


def test_chrom_alias_file_for_bed_regions_and_plots(genome, tmp_path):
    alias, _, vcf = refseq_inputs(genome, tmp_path, "newer")
    bed = tmp_path / "r.bed"
    bed.write_text("NC_000001.11\t1400\t1600\tr1\nNC_000002.12\t100\t200\tr2\n")
    out = tmp_path / "p.tsv"
    assert main(["predict", "--model", "BPNet-OSKN", "--weights", str(BPNET_FIXTURE), "--fasta", str(genome / "g.fa"),
                 "--bed", str(bed), "-o", str(out), "-q", "--chrom-alias", str(alias)]) == 0
    rows = pd.read_csv(out, sep="\t")
    assert list(zip(rows.name, rows.chrom, rows.window_chrom, rows.window_start)) == [("r1", "NC_000001.11", "chr1",
                                                                                      1000)]
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t")
    assert list(skipped.detail) == [f"contig 'NC_000002.12' matches no FASTA contig (chr prefix, chrM/MT, case and the "
                                    f"alias file {alias} tried)"]
    bp_vcf = write_vcf(tmp_path / "bp.vcf", [("NC_000001.11", 1500, "mid", b(1500), other_base(b(1500)))])
    assert main(["plot", "variant", "--model", "BPNet-OSKN", "--weights", str(BPNET_FIXTURE), "--fasta",
                 str(genome / "g.fa"), "--vcf", str(bp_vcf), "--variant", "mid", "-o", str(tmp_path / "t.png"), "-q",
                 "--chrom-alias", str(alias)]) == 0
    assert (tmp_path / "t.png").stat().st_size > 0


def test_chrom_alias_file_is_an_input_of_the_run(genome, tmp_path, capsys):
    import seqzoo
    from seqzoo.checkpoint import Stopped
    txt, gtf, vcf = refseq_inputs(genome, tmp_path, "older")
    alias = txt.rename(tmp_path / "alias.tsv")  # a name an output could have
    argv = ["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(gtf), "--vcf", str(vcf),
            "--chrom-alias", str(alias), "-q"]
    assert main(argv + ["-o", str(alias)]) == 2  # never written over
    assert capsys.readouterr().err.strip() == (f"seqzoo: error: output -o {alias} is the input --chrom-alias {alias}; "
                                               f"writing it would destroy the input. Choose another output path")
    out = tmp_path / "o.tsv"

    def stop(record):
        raise Stopped(15)

    with pytest.raises(Stopped):  # stopped after the first chunk: a progress note to resume from
        seqzoo.windows_vcf("Framepool", genome / "g.fa", vcf, gtf=gtf, out=out, chrom_alias=alias, chunk_rows=1,
                           on_chunk=stop)
    alias.write_text(ALIAS_LAYOUTS["newer"])  # another alias file: the note no longer describes the inputs
    assert main(argv + ["-o", str(out), "--resume"]) == 2
    assert (f"seqzoo: error: cannot resume: {out}.progress.json was written by a run with other chrom_alias"
            in capsys.readouterr().err)


@pytest.mark.parametrize("text, line, message", [
    ("1\tchr1\tensembl\nNC_000001.11\tchr1\trefseq\textra\n", 2,
     "expected 3 tab-separated columns (alias, UCSC name, source: the older chromAlias layout), found "
     "'NC_000001.11\\tchr1\\trefseq\\textra'. A file in the newer layout starts with a header line "
     "'# ucsc<TAB>assembly<TAB>...' naming its columns."),
    ("# ucsc\tassembly\tgenbank\trefseq\nchr1\t1\tCM000663.2\tNC_000001.11\nchrM\tMT\tJ01415.2\tNC_012920.1\tx\n", 3,
     "5 tab-separated columns, but the header line names 4 (ucsc assembly genbank refseq)"),
    ("chr1 1 CM000663.2 NC_000001.11\n", 1,
     "'chr1 1 CM000663.2 NC_000001.11' has a space inside a column; columns must be separated by tabs and names hold "
     "no spaces"),
])
def test_malformed_chrom_alias_file_names_file_and_line(genome, tmp_path, capsys, text, line, message):
    alias = tmp_path / "alias.txt"
    alias.write_text(text)
    vcf = write_vcf(tmp_path / "v.vcf", REFSEQ_RECORDS)
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv"), "--chrom-alias", str(alias)]) == 2
    assert capsys.readouterr().err.strip() == f"seqzoo: error: alias file {alias}, line {line}: {message}"


def test_chrom_alias_file_without_aliases_or_missing(genome, tmp_path, capsys):
    vcf = write_vcf(tmp_path / "v.vcf", REFSEQ_RECORDS)

    def run(alias):
        assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf",
                     str(genome / "a.gtf"), "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv"),
                     "--chrom-alias", str(alias)]) == 2
        return capsys.readouterr().err.strip()

    assert run(tmp_path / "none.txt") == f"seqzoo: error: alias file {tmp_path / 'none.txt'} does not exist"
    empty = tmp_path / "empty.txt"
    empty.write_text("# ucsc\tassembly\n")
    assert run(empty) == (f"seqzoo: error: alias file {empty} names no aliases: give a UCSC chromAlias file ('# ucsc"
                          f"<TAB>assembly<TAB>...' header and one row of names per sequence, or alias<TAB>ucscName"
                          f"<TAB>source rows)")


def test_chrom_alias_naming_two_fasta_contigs_is_not_a_guess(genome, tmp_path):
    alias = tmp_path / "alias.txt"
    alias.write_text("X1\tchr1\tfoo\nX1\tchrM\tfoo\n")
    rows, skipped, _ = run_windows(genome, [("X1", 120, "x", b(120, CHRM), other_base(b(120, CHRM)))], tmp_path,
                                   extra=["--chrom-alias", str(alias)])
    assert len(rows) == 0 and list(skipped.detail) == [
        f"contig 'X1' matches no FASTA contig (ambiguous: the alias file {alias} gives it for several FASTA contigs, "
        f"chr1, chrM (lines 1, 2), so none is chosen)"]


@pytest.mark.parametrize("model", ["Framepool", "APARENT2", "Xpresso/human_median", "HAL", "all"])
def test_gtf_whose_contigs_match_no_fasta_contig_is_an_error(genes, tmp_path, capsys, caplog, model):
    lines = [x for x in genes["gtf"].read_text().splitlines() if not x.startswith("#")]
    refseq = write_gtf(tmp_path / "refseq.gtf", ["NC_000001.11" + x[1:] for x in lines] + [
        f"NC_00000{k}.12" + x[1:].replace('"TX', f'"TX{k}_').replace('"GENE', f'"GENE{k}_')
        for k in (2, 3, 4) for x in lines[:7]])  # gene 0 again on three other contigs
    argv = ["windows", "--model", model, "--fasta", str(genes["fasta"]), "--gtf", str(refseq), "--vcf",
            str(genes["vcf"]), "-o", str(tmp_path / "o.tsv"), "--quiet"]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: GTF file {refseq}: none of its contigs matches a contig of FASTA file {genes['fasta']} (GTF: "
        f"NC_000001.11, NC_000002.12, NC_000003.12, ... (4 in all); FASTA: 1; chr prefix, chrM/MT and case tried), so "
        f"no feature could be scored. The GTF is for another assembly or names contigs another way: give "
        f"--chrom-alias FILE (a UCSC chromAlias file mapping its names onto the FASTA's; chrom_alias= in Python), or "
        f"the FASTA the GTF was made for.")
    assert not (tmp_path / "o.tsv").exists()
    # the fix: an alias file; contigs it does not map stay a warning each, and the run goes on
    alias = tmp_path / "alias.txt"
    alias.write_text("NC_000001.11\t1\trefseq\n")
    caplog.clear()
    assert main(argv + ["--chrom-alias", str(alias)]) == 0
    assert len(pd.read_csv(tmp_path / "o.tsv", sep="\t")) > 0
    warned = sorted({r.getMessage() for r in caplog.records if r.getMessage().startswith("GTF contig")})
    assert warned == [f"GTF contig '{c}' matches no FASTA contig (chr prefix, chrM/MT, case and the alias file {alias} "
                      f"tried); its entries are not scored" for c in ("NC_000002.12", "NC_000003.12", "NC_000004.12")]
    summary = json.loads(Path(f"{tmp_path / 'o.tsv'}.summary.json").read_text())
    assert summary["unmatched_contigs"]["GTF"] == ["NC_000002.12", "NC_000003.12", "NC_000004.12"]


# --- GFF3 given as --gtf: the same annotation as GTF and as GFF3 gives the same windows. The gene
# models are the `genes` fixture's, plus a second coding transcript of GENE0 sharing its first
# exon (one GFF3 exon line with two Parents) and a non-coding transcript of GENE1 (lnc_RNA).
def gene_models(gtf: Path) -> list[dict]:
    genes: dict[str, dict] = {}
    for line in gtf.read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        gid, tid = (re_value(f[8], k) for k in ("gene_id", "transcript_id"))
        gene = genes.setdefault(gid, {"id": gid, "strand": f[6], "tx": {}})
        tx = gene["tx"].setdefault(tid, {"id": tid, "type": "mRNA", "exons": [], "cds": None})
        if f[2] == "exon":
            tx["exons"].append((int(f[3]), int(f[4])))
        elif f[2] == "CDS":
            tx["cds"] = (int(f[3]), int(f[4]))
    g0, g1 = genes["GENE0"]["tx"]["TX0"], genes["GENE1"]["tx"]["TX1"]
    genes["GENE0"]["tx"]["TX0b"] = {"id": "TX0b", "type": "mRNA", "exons": [g0["exons"][0], g0["exons"][2]],
                                    "cds": (g0["cds"][0], g0["exons"][2][0] + 100)}
    genes["GENE1"]["tx"]["TX1nc"] = {"id": "TX1nc", "type": "lnc_RNA", "exons": g1["exons"][1:], "cds": None}
    return list(genes.values())


def re_value(attrs: str, key: str) -> str:
    import re
    return re.search(rf'{key} "([^"]*)"', attrs).group(1)


def segments(tx: dict, strand: str) -> list[tuple[str, int, int]]:
    """(type, start, end) of a transcript's exons, CDS and UTR pieces (1-based closed), by position."""
    out = [("exon", s, e) for s, e in tx["exons"]]
    if tx["cds"]:
        c0, c1 = tx["cds"]
        left, right = ("five_prime_UTR", "three_prime_UTR") if strand == "+" else ("three_prime_UTR", "five_prime_UTR")
        for s, e in tx["exons"]:
            if max(s, c0) <= min(e, c1):
                out.append(("CDS", max(s, c0), min(e, c1)))
            if s < c0:
                out.append((left, s, min(e, c0 - 1)))
            if e > c1:
                out.append((right, max(s, c1 + 1), e))
    return sorted(out, key=lambda t: (t[1], t[0]))


def write_annotation(path: Path, genes: list[dict], fmt: str, flavour: str) -> Path:
    """The gene models as a GTF or GFF3 file in Ensembl's or GENCODE's style."""
    v = ".1" if flavour == "gencode" else ""  # GENCODE IDs carry versions
    gtf_type = {"five_prime_UTR": "five_prime_utr", "three_prime_UTR": "three_prime_utr"} if flavour == "ensembl" \
        else {"five_prime_UTR": "UTR", "three_prime_UTR": "UTR"}  # GENCODE's GTF has plain UTR lines
    lines = ["##gff-version 3"] if fmt == "gff3" else ["#!genome-build synthetic"]
    parts: dict[tuple, list[str]] = {}  # Ensembl GFF3: one line per distinct part, its transcripts as Parents
    for g in genes:
        gid, s = g["id"] + v, g["strand"]
        span = (min(e[0] for t in g["tx"].values() for e in t["exons"]),
                max(e[1] for t in g["tx"].values() for e in t["exons"]))
        name = g["id"].lower()
        if fmt == "gtf":
            lines.append(gtf_line("1", "gene", *span, s, None, gid, extra=f' gene_name "{name}";'))
        elif flavour == "ensembl":
            lines.append(f"1\tsynthetic\tgene\t{span[0]}\t{span[1]}\t.\t{s}\t.\tID=gene:{gid};Name={name};"
                         f"gene_id={gid};biotype=protein_coding")
        else:
            lines.append(f"1\tsynthetic\tgene\t{span[0]}\t{span[1]}\t.\t{s}\t.\tID={gid};gene_id={gid};"
                         f"gene_name={name};gene_type=protein_coding")
        for t in g["tx"].values():
            tid = t["id"] + v
            tspan = (min(e[0] for e in t["exons"]), max(e[1] for e in t["exons"]))
            if fmt == "gtf":
                lines.append(gtf_line("1", "transcript", *tspan, s, tid, gid, extra=f' gene_name "{name}";'))
                lines += [gtf_line("1", gtf_type.get(k, k), a, b, s, tid, gid, extra=f' gene_name "{name}";')
                          for k, a, b in segments(t, s)]
                continue
            ttype = t["type"] if flavour == "ensembl" else "transcript"
            ids = (f"ID=transcript:{tid};Parent=gene:{gid};Name={tid}-name;transcript_id={tid}"
                   if flavour == "ensembl" else f"ID={tid};Parent={gid};gene_id={gid};transcript_id={tid};"
                                                f"gene_name={name}")
            lines.append(f"1\tsynthetic\t{ttype}\t{tspan[0]}\t{tspan[1]}\t.\t{s}\t.\t{ids}")
            for n, (k, a, b) in enumerate(segments(t, s), start=1):
                if flavour == "gencode":  # one line per transcript, with its own ID and the IDs repeated
                    lines.append(f"1\tsynthetic\t{k}\t{a}\t{b}\t.\t{s}\t.\tID={k}:{tid}:{n};Parent={tid};"
                                 f"gene_id={gid};transcript_id={tid};gene_type=protein_coding;level=2")
                    continue
                key = (k, a, b, s)  # Ensembl flavour here: a shared part is one line with several Parents
                if key not in parts:
                    parts[key] = []
                    lines.append(key)
                parts[key].append(("transcript:" if flavour == "ensembl" else "") + tid)
    out = []
    for line in lines:
        if isinstance(line, tuple):
            k, a, b, s = line
            out.append(f"1\tsynthetic\t{k}\t{a}\t{b}\t.\t{s}\t.\tParent={','.join(parts[line])}")
        else:
            out.append(line)
    path.write_text("\n".join(out) + "\n")
    return path


GTF_MODELS = "Framepool,APARENT2,Xpresso/human_median,HAL"


@pytest.mark.parametrize("flavour", ["ensembl", "gencode"])
def test_gff3_gives_the_windows_of_the_same_gtf(genes, tmp_path, flavour):
    models = gene_models(genes["gtf"])
    outputs = {}
    for fmt in ("gtf", "gff3", "gff3.gz"):
        annotation = write_annotation(tmp_path / f"a.{fmt}", models, fmt[:4], flavour)
        if fmt.endswith(".gz"):
            annotation.write_bytes(gzip.compress(annotation.read_bytes()))
        out = tmp_path / f"{fmt}.tsv"
        assert main(["windows", "--model", GTF_MODELS, "--fasta", str(genes["fasta"]), "--gtf", str(annotation),
                     "--vcf", str(genes["vcf"]), "-o", str(out), "--quiet"]) == 0
        outputs[fmt] = (out.read_bytes(), Path(f"{out}.skipped.tsv").read_bytes())
        summary = json.loads(Path(f"{out}.summary.json").read_text())
        assert set(summary["rows_by_model"]) == set(GTF_MODELS.split(","))
    assert outputs["gff3"] == outputs["gtf"] == outputs["gff3.gz"]
    rows = pd.read_csv(tmp_path / "gff3.tsv", sep="\t")
    v = ".1" if flavour == "gencode" else ""
    framepool = set(rows.feature_id[rows.model == "Framepool"])
    assert {f"TX0{v}", f"TX0b{v}"} <= framepool and f"TX1nc{v}" not in framepool  # the shared 5'UTR: both
    assert f"TX1nc{v}" in set(rows.feature_id[rows.model == "APARENT2"])  # the lnc_RNA is a transcript
    assert set(rows.gene_id[rows.model == "Xpresso/human_median"]) == {f"GENE{i}{v}" for i in range(4)}


def test_gff3_with_a_broken_hierarchy_names_the_line(genes, tmp_path, capsys):
    models = gene_models(genes["gtf"])
    good = write_annotation(tmp_path / "good.gff3", models, "gff3", "ensembl").read_text().splitlines()

    def run(lines):
        gff = tmp_path / "a.gff3"
        gff.write_text("\n".join(lines) + "\n")
        assert main(["windows", "--model", "HAL", "--fasta", str(genes["fasta"]), "--gtf", str(gff), "--vcf",
                     str(genes["vcf"]), "-o", str(tmp_path / "o.tsv")]) == 2
        return gff, capsys.readouterr().err.strip()

    i = next(k for k, x in enumerate(good) if "\texon\t" in x)
    gff, err = run(good[:i] + [good[i].replace("Parent=transcript:TX0,", "Parent=transcript:TXnone,")] + good[i + 1:])
    assert err == (f"seqzoo: error: GFF3 file {gff}, line {i + 1}: the Parent 'transcript:TXnone' of this exon is not "
                   f"the ID of any feature in the file")
    gff, err = run(good[:i] + [good[i].split("\tParent=")[0] + "\t."] + good[i + 1:])
    assert err == f"seqzoo: error: GFF3 file {gff}, line {i + 1}: exon feature without a Parent attribute naming its " \
                  f"transcript"


@pytest.mark.parametrize("text, found", [
    ("chr1\t1010\t1060\tutr\n", 4),                              # a BED file
    ("this is not an annotation\njust text\n", 1),               # random text
])
def test_an_annotation_that_is_neither_gtf_nor_gff3_is_refused(genome, tmp_path, capsys, text, found):
    bad = tmp_path / "a.bed"
    bad.write_text(text)
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1020, "x", b(1020), other_base(b(1020)))])
    assert main(["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(bad),
                 "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv")]) == 2
    assert capsys.readouterr().err.strip() == (f"seqzoo: error: GTF file {bad}, line 1: expected 9 tab-separated "
                                               f"columns, found {found}. Is this a GTF or GFF3 file (not BED)?")


def test_fetch_past_a_contig_end_says_how_far(tmp_path):
    """Genome.fetch names the interval (0-based half-open), how far it reaches past which end, the
    contig's length and the FASTA; a reversed interval is its own error."""
    from seqzoo.genome.fasta import Genome, GenomeError
    fasta = write_fasta(tmp_path / "g.fa", {"chrT": "ACGT" * 25})
    genome = Genome(fasta)
    assert genome.fetch("chrT", 96, 100) == "ACGT"
    for (start, end), how in [((90, 110), "10 nt past the end"), ((-3, 5), "3 nt before the start"),
                              ((-1, 101), "1 nt before the start and 1 nt past the end")]:
        with pytest.raises(GenomeError, match=rf"^chrT:\[{start}, {end}\) \(0-based half-open\) reaches {how} of FASTA contig "
                                              rf"chrT \(length 100\) of .*g\.fa$"):
            genome.fetch("chrT", start, end)
    with pytest.raises(GenomeError, match=r"^interval chrT:\[10, 5\) \(0-based half-open\) of .*g\.fa ends before it starts$"):
        genome.fetch("chrT", 10, 5)


# --- a VCF or GTF of another assembly or naming convention is named as such, not run into zero rows
def test_vcf_whose_header_contigs_match_no_fasta_contig_stops_before_any_output(genome, tmp_path, capsys):
    vcf = write_vcf(tmp_path / "refseq.vcf", [("NC_000001.11", 1021, "v1", b(1021), "G")],
                    {"NC_000001.11": 248956422, "NC_012920.1": 16569})
    out = tmp_path / "o.tsv"
    argv = ["windows", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
            "--vcf", str(vcf), "-o", str(out), "--quiet"]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: VCF file {vcf}: none of the contigs its header declares matches a contig of FASTA file "
        f"{genome / 'g.fa'} (VCF header: NC_000001.11, NC_012920.1; its first record: NC_000001.11; FASTA: chr1, "
        f"chrM; chr prefix, chrM/MT and case tried), so no variant could be scored. The VCF is for another assembly "
        f"or names contigs another way: give --chrom-alias FILE (a UCSC chromAlias file mapping its names onto the "
        f"FASTA's; chrom_alias= in Python), or the FASTA the VCF was called on.")
    assert not list(tmp_path.glob("o.tsv*"))  # before any output is opened
    # a header written another way than the records (here: the first record's contig is the FASTA's) is let through
    renamed = write_vcf(tmp_path / "renamed.vcf", [("chr1", 1030, "v1", b(1030), "G")], {"NC_000001.11": 248956422})
    assert main(argv[:-5] + ["--vcf", str(renamed), "-o", str(out), "--quiet"]) == 0
    assert len(pd.read_csv(out, sep="\t")) == 1


def test_unmatched_vcf_contig_warning_names_the_alias_fix(genome, tmp_path, caplog):
    records = [("NC_000001.11", 1021, "v1", b(1021), "G"), ("chr1", 1030, "v2", b(1030), "G")]
    rows, skipped, summary = run_windows(genome, records, tmp_path)
    assert summary["skipped_by_reason"] == {"contig_not_in_fasta": 1} and len(rows) == 1
    assert ("VCF contig 'NC_000001.11' matches no FASTA contig (chr prefix, chrM/MT and case tried); its entries are "
            "not scored; if the FASTA names it another way, give --chrom-alias FILE (a UCSC chromAlias file mapping "
            "its names onto the FASTA's; chrom_alias= in Python)") in caplog.text


def test_alleles_past_their_contig_end_warn_of_another_assembly(genome, tmp_path, caplog):
    records = [("chr1", 3500, "v1", "A", "G"), ("chr1", 4000, "v2", "C", "T"), ("chr1", 1030, "v3", b(1030), "G")]
    rows, skipped, summary = run_windows(genome, records, tmp_path)
    assert summary["skipped_by_reason"] == {"beyond_contig_end": 2}
    assert (f"VCF file {tmp_path / 'v.vcf'}: 2 alleles are outside their FASTA contig, skipped as beyond_contig_end "
            f"(the skip report gives each position). A VCF called on the FASTA's assembly has none past a contig's end "
            f"(POS 0, a telomere, is another matter): if the skip report shows such positions, the VCF and the FASTA "
            f"are probably different assemblies (e.g. GRCh37 vs GRCh38); use the FASTA the VCF was called on, or lift "
            f"the VCF over.") in caplog.text


@pytest.mark.parametrize("model,what,example", [("Framepool", "5'UTRs", "TP ends at chr1:4,060"),
                                                ("HAL", "transcripts", "TP ends at chr1:4,300"),
                                                ("Xpresso/human_median", "genes", "GP ends at chr1:4,300")])
def test_gtf_features_past_their_contig_end(genome, tmp_path, capsys, caplog, model, what, example):
    """All of a GTF's features past their contig's end: an error before any output; some: a warning."""
    def gtf(name, shift_mt):
        return write_gtf(tmp_path / name, [
            gtf_line("chr1", "five_prime_utr", 4011, 4060, "+", "TP", "GP"),
            gtf_line("chr1", "exon", 4011, 4100, "+", "TP", "GP"),
            gtf_line("chr1", "exon", 4200, 4300, "+", "TP", "GP"),
            gtf_line("chr1", "CDS", 4061, 4300, "+", "TP", "GP"), gtf_line("chr1", "gene", 4011, 4300, "+", "TP", "GP"),
            *[gtf_line("chrM", kind, lo + shift_mt, hi + shift_mt, "+", "TMT", "GMT") for kind, lo, hi in (
                ("five_prime_utr", 101, 150), ("exon", 101, 180), ("exon", 250, 300), ("CDS", 151, 300),
                ("gene", 101, 300))]])
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1030, "v1", b(1030), "G")], {"chr1": 3000, "chrM": len(CHRM)})
    argv = ["windows", "--model", model, "--fasta", str(genome / "g.fa"), "--vcf", str(vcf), "-o",
            str(tmp_path / "o.tsv"), "--quiet", "--gtf"]
    wrong = gtf("wrong.gtf", 100_000)
    assert main(argv + [str(wrong)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: GTF file {wrong}: 2 of its 2 {what} on FASTA contigs reach past the end of their contig (e.g. "
        f"{example}, 1-based, but FASTA contig chr1 has 3,000 nt), so none could be scored. The GTF is for another "
        f"assembly than the FASTA (e.g. GRCh37 vs GRCh38), or the FASTA is truncated: give the GTF made for the "
        f"FASTA's assembly, or the FASTA the GTF was made for.")
    assert not (tmp_path / "o.tsv").exists()
    partly = gtf("partly.gtf", 0)
    assert main(argv + [str(partly)]) == 0
    assert (f"GTF file {partly}: 1 of its 2 {what} on FASTA contigs reach past the end of their contig (e.g. "
            f"{example}, 1-based, but FASTA contig chr1 has 3,000 nt): the GTF is probably for another assembly than "
            f"the FASTA (e.g. GRCh37 vs GRCh38), or the FASTA is truncated; alleles whose windows reach past a "
            f"contig's end are skipped as window_past_contig_end") in caplog.text


def test_predict_sequences_refuses_characters_that_are_not_nucleotide_letters():
    """Letters of a nucleotide sequence (A/C/G/T/U, N, X, IUPAC codes, either case) are read; anything
    else is named (the sequence, index, character) instead of being read as N."""
    import torch
    from seqzoo.nets.framepool import Framepool
    from seqzoo.nets.hal import HAL

    torch.manual_seed(0)
    framepool, hal = Framepool().eval(), HAL(np.random.default_rng(0).normal(size=(4096, 8)))
    read_as_n = framepool.predict_sequences(["ACGTacguRYKMSWBDHVNXrykmn"])["mrl"]
    np.testing.assert_allclose(read_as_n, framepool.predict_sequences(["ACGTACGTNNNNNNNNNNNNNNNNN"])["mrl"],
                               atol=1e-6, rtol=0)
    for model, seqs, i, j, ch in ((framepool, ["ACGT", "ACGTQQ!"], 1, 4, "Q"), (framepool, ["ACG T"], 0, 3, " "),
                                  (framepool, ["ACGT", "", "ACé"], 2, 2, "é"), (hal, ["A" * 159 + "1"], 0, 159, "1")):
        with pytest.raises(ValueError) as err:
            model.predict_sequences(seqs)
        assert str(err.value) == (f"sequence {i} holds {ch!r} at index {j} (0-based), which is not a nucleotide "
                                  f"letter (A, C, G, T, U, N, X or an IUPAC ambiguity code, either case)")


@pytest.mark.parametrize("model", ["Framepool", "HAL", "Framepool scored per allele"])
def test_fasta_with_a_character_that_is_not_a_nucleotide_letter_is_named(tmp_path, capsys, monkeypatch, model):
    """A window holding e.g. '*' is an error naming the FASTA, contig and 1-based position (it was
    read as N before), on the per-allele path (Framepool's 5'UTR, ``windows``) and the block path
    (HAL's windows read in one gather by ``score``, which leaves such text to the per-window read).
    Scoring a 5'UTR on the per-allele path (as with several models) it is an error too, not a
    window_past_contig_end skip (the 5'UTR rule took every FASTA error for one)."""
    from seqzoo.windows.fixed import AnchoredWindowRule
    gathers = []
    real = AnchoredWindowRule._read_forward
    monkeypatch.setattr(AnchoredWindowRule, "_read_forward",
                        lambda self, ks: gathers.append(list(ks)) or real(self, ks))
    damaged = CHR1[:1050] + "*" + CHR1[1051:]
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": damaged})
    gtf = write_gtf(tmp_path / "a.gtf", [
        gtf_line("chr1", "five_prime_utr", 1011, 1060, "+", "TP", "GP"),
        gtf_line("chr1", "CDS", 1061, 1300, "+", "TP", "GP"),
        gtf_line("chr1", "exon", 1011, 1100, "+", "TP", "GP"), gtf_line("chr1", "exon", 1200, 1300, "+", "TP", "GP"),
        gtf_line("chr1", "exon", 1311, 1400, "+", "TQ", "GQ"), gtf_line("chr1", "exon", 1500, 1600, "+", "TQ", "GQ")])
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1030, "v1", b(1030), "G"), ("chr1", 1350, "v2", b(1350), "G")],
                    {"chr1": 3000})
    argv = ["--fasta", str(fasta), "--gtf", str(gtf), "--vcf", str(vcf), "-o", str(tmp_path / "o.tsv"), "--quiet"]
    if model == "HAL":
        table = tmp_path / "hal.npz"
        np.savez(table, weights=np.random.default_rng(0).normal(size=(4096, 8)))
        argv = ["score", "--model", "HAL", "--weights", str(table)] + argv
    else:
        argv = ["windows", "--model", "Framepool"] + argv
    if model == "Framepool scored per allele":
        require_weights("Framepool_combined_residual.h5")
        import seqzoo
        with pytest.raises(seqzoo.errors.SeqzooError) as caught:
            seqzoo.score_vcf("Framepool", fasta, vcf, gtf, vectorized=False)
        error = f"seqzoo: error: {caught.value}"
    else:
        assert main(argv) == 2
        assert bool(gathers) == (model == "HAL")
        error = capsys.readouterr().err.strip()
    assert error == (
        f"seqzoo: error: FASTA file {fasta}, contig chr1: '*' at position 1,051 (1-based) is not a nucleotide "
        f"letter (A, C, G, T, U, N, X or an IUPAC ambiguity code, either case): the file is damaged or not a genome "
        f"sequence; fix or replace it")


@pytest.mark.parametrize("command", ["score", "windows"])
def test_fasta_bases_an_indels_alt_window_pulls_in_are_checked_too(tmp_path, capsys, command):
    """A 3-nt deletion in HAL's donor window [1020, 1180) (0-based) shifts bases 1017-1019 into the
    alt window: a '*' among them (outside the reference window, which holds only letters) is named,
    by the block path (score) and the per-allele path (windows) alike."""
    damaged = CHR1[:1018] + "*" + CHR1[1019:]
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": damaged})
    gtf = write_gtf(tmp_path / "a.gtf", [gtf_line("chr1", "exon", 1011, 1100, "+", "TP", "GP"),
                                         gtf_line("chr1", "exon", 1200, 1300, "+", "TP", "GP")])
    ref = CHR1[1049:1053]
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 1050, "del3", ref, ref[0])], {"chr1": 3000})
    table = tmp_path / "hal.npz"
    np.savez(table, weights=np.random.default_rng(0).normal(size=(4096, 8)))
    argv = [command, "--model", "HAL", "--fasta", str(fasta), "--gtf", str(gtf), "--vcf", str(vcf), "-o",
            str(tmp_path / "o.tsv"), "--quiet"] + (["--weights", str(table)] if command == "score" else [])
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"seqzoo: error: FASTA file {fasta}, contig chr1: '*' at position 1,019 (1-based) is not a nucleotide "
        f"letter (A, C, G, T, U, N, X or an IUPAC ambiguity code, either case): the file is damaged or not a genome "
        f"sequence; fix or replace it")
