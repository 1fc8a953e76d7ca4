"""Bad inputs get one clear error naming file, record and fix, or a skip row — never a crash."""
from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pytest

from seqzoo.cli import main
from seqzoo.synthetic import make_utr_dataset, write_vcf


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    return make_utr_dataset(tmp_path_factory.mktemp("bad"), seed=5, n_genes=6, variants_per_utr=2)


def windows(d, vcf, out, fasta=None):
    return main(["windows", "--model", "Framepool", "--fasta", str(fasta or d["fasta"]), "--gtf", str(d["gtf"]),
                 "--vcf", str(vcf), "-o", str(out), "--quiet"])


def test_empty_vcf_gives_headers_and_a_summary(d, tmp_path):
    vcf = tmp_path / "empty.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    assert windows(d, vcf, tmp_path / "o.tsv") == 0
    assert (tmp_path / "o.tsv").read_text().startswith("variant_id\tchrom\tpos")
    assert len((tmp_path / "o.tsv").read_text().splitlines()) == 1
    assert '"alleles": 0' in (tmp_path / "o.tsv.summary.json").read_text()


def test_malformed_record_names_file_and_line(d, tmp_path, capsys):
    lines = d["vcf"].read_text().splitlines()
    header = sum(1 for x in lines if x.startswith("#"))
    vcf = tmp_path / "trunc.vcf"
    vcf.write_text("\n".join(lines[:header + 3] + ["chr1\t12"]) + "\n")
    assert windows(d, vcf, tmp_path / "o.tsv") == 2
    err = capsys.readouterr().err
    assert f"VCF file {vcf}, record 4 (line {header + 4}: error parsing variant" in err and "malformed record" in err


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
