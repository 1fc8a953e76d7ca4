"""seqzoo.genome.bases.BaseReader: bases by position through the .fai, and no FASTA page left
resident after a read (a genome-wide VCF would otherwise keep the whole genome in the run's RSS)."""
import sys

import numpy as np
import pysam
import pytest

from seqzoo.genome.bases import BaseReader


def _rss_file_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise RuntimeError("no RssFile in /proc/self/status")


@pytest.fixture()
def fasta(tmp_path):
    rng = np.random.default_rng(5)
    seqs = {"chrA": "".join(rng.choice(list("ACGTacgtN"), 1000)),
            "chrB": "".join(rng.choice(list("ACGT"), 8 * 1024 * 1024))}
    path = tmp_path / "g.fa"
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                fh.write(seq[i:i + 60] + "\n")
    pysam.faidx(str(path))
    return path, seqs


def test_codes_are_upper_case_bases_at_0_based_positions(fasta):
    path, seqs = fasta
    reader = BaseReader(path)
    assert reader.usable
    pos = np.array([0, 59, 60, 61, 999, 500, 0])
    want = np.frombuffer("".join(seqs["chrA"][p] for p in pos).upper().encode(), dtype=np.uint8)
    assert np.array_equal(reader.codes("chrA", pos), want)
    assert np.array_equal(reader.codes("chrA", pos), want)  # again, after its pages were released
    assert reader.codes("chrA", np.array([], dtype=np.int64)).size == 0


def test_compressed_or_unindexed_fasta_is_not_usable(tmp_path):
    plain = tmp_path / "x.fa"
    plain.write_text(">c\nACGT\n")
    assert not BaseReader(plain).usable  # no .fai
    assert not BaseReader(tmp_path / "x.fa.gz").usable


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RssFile is Linux's /proc/self/status")
def test_reads_spread_over_a_contig_leave_no_pages_resident(fasta):
    path, seqs = fasta
    reader = BaseReader(path)
    before = _rss_file_kib()
    pos = np.arange(0, len(seqs["chrB"]), 997)  # one base in every 4 KB page of 8 MB
    got = reader.codes("chrB", pos)
    assert got.tobytes() == "".join(seqs["chrB"][p] for p in pos).encode()
    assert _rss_file_kib() - before < 2048  # without the release: ~8,500 KiB more
