"""BPNet-OSKN windows: 1000 nt with the variant's first REF base at index 500; BED regions.

Checked against the genome string directly and against an independent re-implementation of the
authors' ``bpnet.extractors.extract_seq`` (kundajelab/bpnet 0cb7277): fetch [start, end - (len(ALT)
- len(REF))), replace REF by ALT at its offset — the same sequence for a window whose start is fixed.
"""
from __future__ import annotations

import gzip
import types
from pathlib import Path

import numpy as np
import pytest

from seqzoo.genome.fasta import Genome, GenomeError
from seqzoo.genome.names import ContigNames
from seqzoo.genome.vcf import VariantAllele
from seqzoo.scoring import Skip, VariantWindows
from seqzoo.synthetic import random_sequence, write_fasta
from seqzoo.windows.base import WindowPair
from seqzoo.windows.centered import (BedSkip, BedWindow, CenteredWindows, bed_window_span, centered_rule,
                                     iter_bed_windows, variant_window)

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "BPNet-OSKN"
EXAMPLES = MODEL_DIR / "example_files"
LENGTH = 3000
CONTIG = random_sequence(np.random.default_rng(23), LENGTH)


def _example_module():
    from conftest import load_script
    return load_script("make_bpnet_example.py")


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("centered")
    return Genome(write_fasta(d / "g.fa", {"chr1": CONTIG, "chr2": CONTIG[:900]}))


@pytest.fixture(scope="module")
def rule(genome):
    return CenteredWindows(genome)


def allele(pos1: int, ref: str, alt: str, chrom: str = "chr1") -> VariantAllele:
    return VariantAllele(chrom, pos1, ref, alt, None, 1, 0)


def extract_seq_like_bpnet(contig: str, start: int, end: int, a: VariantAllele) -> str | None:
    """bpnet.extractors.extract_seq for the interval [start, end): None where the reference window or
    the alt fetch leaves the contig (seqzoo also predicts the reference window)."""
    lendiff = len(a.alt) - len(a.ref)
    if start < 0 or end > len(contig) or end - lendiff > len(contig):
        return None
    seq = contig[start:end - lendiff]
    pos = a.pos - start - 1
    assert seq[pos:pos + len(a.ref)] == a.ref
    out = seq[:pos] + a.alt + seq[pos + len(a.ref):]
    assert len(out) == end - start
    return out


def one(rule, a, chrom="chr1") -> WindowPair:
    pairs, skips = rule.windows(a, chrom)
    assert not skips and len(pairs) == 1
    return pairs[0]


def test_snv_window_geometry(rule):
    p0 = 1234
    alt = "A" if CONTIG[p0] != "A" else "C"
    pair = one(rule, allele(p0 + 1, CONTIG[p0], alt))
    assert pair.ref_seq == CONTIG[p0 - 500:p0 + 500]
    assert len(pair.ref_seq) == len(pair.alt_seq) == 1000
    assert pair.ref_seq[500] == CONTIG[p0] and pair.alt_seq[500] == alt
    assert pair.alt_seq == pair.ref_seq[:500] + alt + pair.ref_seq[501:]
    assert (pair.feature_id, pair.gene_id, pair.strand) == (f"chr1:{p0 - 500}-{p0 + 500}", "", "+")
    assert pair.ref_key == f"chr1:{p0 - 500}-{p0 + 500}+@500"
    w = variant_window("chr1", p0)
    assert (w.start, w.end, w.anchor, w.split, w.strand) == (p0 - 500, p0 + 500, 500, p0, "+")


def test_indels_keep_1000_nt_anchored_at_500(rule):
    p0 = 1500
    # insertion of 7 nt after the padding base: ALT at 500..507, the right end trimmed by 7
    ins = one(rule, allele(p0 + 1, CONTIG[p0], CONTIG[p0] + "GATTACA"))
    assert ins.alt_seq == CONTIG[p0 - 500:p0] + CONTIG[p0] + "GATTACA" + CONTIG[p0 + 1:p0 + 493]
    assert ins.alt_seq[:500] == ins.ref_seq[:500] and ins.alt_seq[500:508] == CONTIG[p0] + "GATTACA"
    # deletion of 5 nt: REF 6 nt, 5 nt more reference pulled in at the right end
    dele = one(rule, allele(p0 + 1, CONTIG[p0:p0 + 6], CONTIG[p0]))
    assert dele.alt_seq == CONTIG[p0 - 500:p0 + 1] + CONTIG[p0 + 6:p0 + 505]
    # MNV: the same span, no shift
    mnv_alt = "".join("A" if b != "A" else "C" for b in CONTIG[p0:p0 + 3])
    mnv = one(rule, allele(p0 + 1, CONTIG[p0:p0 + 3], mnv_alt))
    assert mnv.alt_seq == CONTIG[p0 - 500:p0] + mnv_alt + CONTIG[p0 + 3:p0 + 500]
    # a deletion whose REF runs past the window's last index (REF 0-based 1500..2100)
    long_del = one(rule, allele(p0 + 1, CONTIG[p0:p0 + 601], CONTIG[p0]))
    assert long_del.ref_seq == CONTIG[p0 - 500:p0 + 500]
    assert long_del.alt_seq == CONTIG[p0 - 500:p0 + 1] + CONTIG[p0 + 601:p0 + 1100]
    # an insertion longer than 500 nt: only its first 500 nt fit
    big = "ACGT" * 150
    assert one(rule, allele(p0 + 1, CONTIG[p0], CONTIG[p0] + big)).alt_seq == CONTIG[p0 - 500:p0 + 1] + big[:499]
    for pair in (ins, dele, mnv, long_del):
        assert pair.ref_seq == CONTIG[p0 - 500:p0 + 500] and len(pair.alt_seq) == 1000


def test_contig_edges(rule):
    def skip_of(a, chrom="chr1"):
        pairs, skips = rule.windows(a, chrom)
        assert not pairs and len(skips) == 1
        return skips[0]

    def snv(p0, chrom="chr1"):
        return allele(p0 + 1, CONTIG[p0], "A" if CONTIG[p0] != "A" else "C", chrom)

    # first and last positions with a whole window
    assert one(rule, snv(500)).ref_seq == CONTIG[:1000]
    assert one(rule, snv(LENGTH - 500)).ref_seq == CONTIG[-1000:]
    s = skip_of(snv(499))
    assert s.reason == "window_past_contig_end" and s.feature_id == "chr1:-1-999"
    s = skip_of(snv(LENGTH - 499))
    assert s.reason == "window_past_contig_end" and "length 3000" in s.detail
    # a deletion whose window fits but which pulls 10 nt past the contig end
    p0 = LENGTH - 520
    assert skip_of(allele(p0 + 1, CONTIG[p0:p0 + 31], CONTIG[p0])).reason == "window_past_contig_end"
    # one nt fewer deleted: exactly reaches the end
    p0 = LENGTH - 510
    assert one(rule, allele(p0 + 1, CONTIG[p0:p0 + 11], CONTIG[p0])).alt_seq == CONTIG[p0 - 500:p0 + 1] + CONTIG[p0 + 11:]
    # an insertion at the last possible position trims, never reads past the end
    p0 = LENGTH - 500
    assert one(rule, allele(p0 + 1, CONTIG[p0], CONTIG[p0] + "TTT")).alt_seq == CONTIG[p0 - 500:p0 + 1] + "TTT" + \
        CONTIG[p0 + 1:p0 + 497]
    # a contig shorter than 1000 nt: no window fits at all
    assert skip_of(snv(599, "chr2"), "chr2").reason == "window_past_contig_end"


def test_random_variants_match_bpnet_extract_seq(rule):
    rng = np.random.default_rng(8)
    checked = edge = 0
    for _ in range(1500):
        p0 = int(rng.integers(0, LENGTH - 1))
        kind = int(rng.integers(4))
        if kind == 0:
            ref, alt = CONTIG[p0], str(rng.choice([b for b in "ACGT" if b != CONTIG[p0]]))
        elif kind == 1:
            ref, alt = CONTIG[p0], CONTIG[p0] + random_sequence(rng, int(rng.integers(1, 40)))
        elif kind == 2:
            n = int(rng.integers(1, 60))
            ref, alt = CONTIG[p0:p0 + n + 1], CONTIG[p0]
        else:
            n = int(rng.integers(2, 6))
            ref = CONTIG[p0:p0 + n]
            alt = random_sequence(rng, int(rng.integers(1, 8)))
        if p0 + len(ref) > LENGTH or ref == alt:
            continue
        a = allele(p0 + 1, ref, alt)
        want = extract_seq_like_bpnet(CONTIG, p0 - 500, p0 + 500, a)
        pairs, skips = rule.windows(a, "chr1")
        if want is None:
            edge += 1
            assert not pairs and [s.reason for s in skips] == ["window_past_contig_end"], (p0, ref, alt)
            continue
        checked += 1
        assert not skips and pairs[0].alt_seq == want, (p0, ref, alt)
        assert pairs[0].ref_seq == CONTIG[p0 - 500:p0 + 500]
    assert checked > 800 and edge > 50


def test_rule_needs_no_gtf(genome):
    rule = centered_rule(genome, None, ContigNames(genome.lengths))
    assert isinstance(rule, CenteredWindows)
    with pytest.raises(ValueError):
        CenteredWindows(genome, center=1000)


# -- through the shared scoring machinery, on the Kipoi example files ---------------------------
def _events(fasta, vcf):
    from seqzoo.registry import ModelSpec
    from seqzoo.weights import WeightsFile

    spec = ModelSpec(name="BPNet-OSKN", weights=WeightsFile("bpnet.model.h5", "", ""), build=None,
                     window_rule=centered_rule, outputs=(), effects=None, effect_names=(), needs_gtf=False)
    windows = VariantWindows(spec, fasta, None)
    events = list(windows.events(vcf))
    return windows.summary, [e for e in events if isinstance(e, WindowPair)], [e for e in events if isinstance(e, Skip)]


def test_example_files_are_the_generators_output(tmp_path):
    mod = _example_module()
    mod.make_centered_dataset(tmp_path, seed=0)
    for name in ("genome.fa", "variants.vcf", "regions.bed"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
    assert sum((EXAMPLES / n).stat().st_size for n in ("genome.fa", "variants.vcf", "regions.bed")) < 50_000


def test_example_vcf_rows_and_skips():
    mod = _example_module()
    summary, pairs, skips = _events(EXAMPLES / "genome.fa", EXAMPLES / "variants.vcf")
    summary.check()
    assert (summary.records, summary.alleles, summary.rows, summary.scored_alleles) == (34, 35, 29, 29)
    assert {s.allele.variant_id: s.reason for s in skips} == mod.PLANTED_SKIPS
    assert all(not s.feature_id for s in skips)  # whole-allele skips (one window per allele)
    contig = {name: seq for name, seq in _read_fasta(EXAMPLES / "genome.fa").items()}
    for p in pairs:
        fasta_chrom = p.feature_id.split(":")[0]
        p0 = p.allele.start
        assert p.feature_id == f"{fasta_chrom}:{p0 - 500}-{p0 + 500}" and p.strand == "+" and p.gene_id == ""
        assert p.ref_seq == contig[fasta_chrom][p0 - 500:p0 + 500]
        assert p.alt_seq == extract_seq_like_bpnet(contig[fasta_chrom], p0 - 500, p0 + 500, p.allele)
    multi = [p for p in pairs if p.allele.variant_id == "multi"]
    assert len(multi) == 2 and multi[0].ref_key == multi[1].ref_key and multi[0].alt_seq != multi[1].alt_seq
    assert {p.allele.chrom for p in pairs} == {"1", "chr2"}  # VCF names kept in the metadata


def _read_fasta(path) -> dict[str, str]:
    out, name = {}, None
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        else:
            out[name] += line.strip()
    return out


# -- BED windows ------------------------------------------------------------------------------
@pytest.mark.parametrize("start,end,want", [
    (1000, 2000, (1000, 2000)),      # 1000 nt: itself
    (3000, 3600, (2800, 3800)),      # shorter: extended 200 nt each side
    (4000, 5401, (4200, 5200)),      # 1401 nt: the central 1000 (odd excess: the right base goes)
    (1000, 1999, (999, 1999)),       # 999 nt: one more on the left
    (1000, 2001, (1000, 2000)),
    (1200, 1201, (700, 1700)),       # 1 nt: centred on it, the base at index 500
    (10, 10, (-490, 510)),           # empty region: its point
])
def test_bed_window_span(start, end, want):
    assert bed_window_span(start, end) == want
    try:
        from kipoiseq.transforms.functional import resize_interval
    except ImportError:
        return
    iv = types.SimpleNamespace(start=start, end=end)
    got = resize_interval(iv, 1000, anchor="center")
    assert (got.start, got.end) == want  # the resize of Kipoi's SeqIntervalDl(auto_resize_len=1000)


def test_bed_windows_on_the_example_regions():
    genome = Genome(EXAMPLES / "genome.fa")
    contig = _read_fasta(EXAMPLES / "genome.fa")
    events = list(iter_bed_windows(genome, EXAMPLES / "regions.bed"))
    wins = [e for e in events if isinstance(e, BedWindow)]
    skips = [e for e in events if isinstance(e, BedSkip)]
    assert [(w.name, w.chrom, w.start, w.end, w.line) for w in wins] == [
        ("peak_1000nt", "chr1", 1000, 2000, 2), ("peak_600nt", "chr1", 2800, 3800, 3),
        ("peak_1401nt", "chr1", 4200, 5200, 4), ("chr2:1200-1201", "chr2", 700, 1700, 6)]
    for w in wins:
        assert w.seq == contig[w.chrom][w.start:w.end] and len(w.seq) == 1000
    assert wins[1].bed_chrom == "1" and (wins[1].region_start, wins[1].region_end) == (3000, 3600)
    assert [(s.name, s.reason) for s in skips] == [("near_start", "window_past_contig_end"),
                                                   ("unknown", "contig_not_in_fasta")]


def test_bed_gzip_and_errors(tmp_path):
    genome = Genome(EXAMPLES / "genome.fa")
    gz = tmp_path / "r.bed.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("# comment\nchr1\t1000\t2000\tp\t0\t-\n\n")
    (w,) = list(iter_bed_windows(genome, gz))
    assert (w.name, w.start, w.end) == ("p", 1000, 2000)  # the strand column is ignored
    bad = tmp_path / "bad.bed"
    for text, what in [("chr1\t100\n", "at least 3"), ("chr1\tx\t200\n", "integers"), ("chr1\t300\t200\n", "start <= end")]:
        bad.write_text(text)
        with pytest.raises(GenomeError, match=what):
            list(iter_bed_windows(genome, bad))
    with pytest.raises(GenomeError, match="does not exist"):
        list(iter_bed_windows(genome, tmp_path / "missing.bed"))
