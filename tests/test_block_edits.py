"""The block path's edits (many alleles at once, numpy) equal the per-allele window rules' windows.

Anchored windows (APARENT2, Xpresso, HAL): :meth:`AnchoredWindowRule.block_edits` against
:func:`forward_alt_window` for every REF span of 1-3 bases inside small windows (indels also
overhanging their edges by up to 2 bases) and ALTs of 1-4 bases, on both strands, with the anchor at the first, an inner and the last index, windows at both
contig ends (an indel that pulls in sequence past a contig end is not usable: the per-allele path
skips it with ``window_past_contig_end``). 5'UTRs (Framepool): :meth:`Utr5Windows.block_edits`
against :meth:`Utr5Windows.windows` for every allele inside multi-exon UTRs on both strands.
"""
from __future__ import annotations

import numpy as np
import pytest

from seqzoo.genome.bases import BaseReader
from seqzoo.genome.fasta import Genome
from seqzoo.genome.names import ContigNames
from seqzoo.genome.vcf import VariantAllele
from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf
from seqzoo.windows.fixed import AnchoredWindow, AnchoredWindowRule, WindowPastContigEnd, forward_alt_window
from seqzoo.windows.utr5 import Utr5Windows

CONTIG = 48


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("block_edits")
    seq = random_sequence(np.random.default_rng(3), CONTIG)
    seq = seq[:20] + "NN" + seq[22:]  # an N run: read as N on both paths
    path = write_fasta(d / "genome.fa", {"1": seq})
    g = Genome(path)
    return g, BaseReader(path), seq


def _alleles(w_start: int, w_end: int, seq: str, overhang: int = 0):
    """Every allele whose REF (1-3 bases) lies inside [w_start, w_end), ALT 1-4 A/C/G/T bases; with
    ``overhang``, also indels whose REF overlaps the window and extends up to that far past it."""
    rng = np.random.default_rng(w_start * 100 + w_end)
    for vs in range(max(0, w_start - overhang), w_end):
        for r in (1, 2, 3):
            inside = vs >= w_start and vs + r <= w_end
            if vs + r <= w_start or vs + r > len(seq) or (not inside and vs + r > w_end + overhang):
                continue
            for p in (1, 2, 3, 4):
                if p == r and (not inside or rng.random() < 0.7):
                    continue
                alt = seq[vs] + random_sequence(rng, p - 1) if rng.random() < 0.5 else random_sequence(rng, p)
                yield vs, vs + r, alt


@pytest.mark.parametrize("strand", ["+", "-"])
@pytest.mark.parametrize("anchor", [0, 5, 11])
def test_anchored_block_edits_equal_forward_alt_window(genome, strand, anchor):
    g, reader, seq = genome
    windows = [AnchoredWindow(f"w{a}", "g", "1", strand, a, a + 12, anchor) for a in (0, 1, 3, 18, 34, 35, 36)]
    rule = AnchoredWindowRule(g, windows, ("none", "none"))
    rule.block_segments()
    seg, vs, ve, alts, want = [], [], [], [], []
    for k, w in enumerate(windows):
        for a, b, alt in _alleles(w.start, w.end, seq, overhang=2):
            allele = VariantAllele("1", a + 1, seq[a:b], alt, None, 1, 0)
            try:
                fwd = forward_alt_window(g, w, allele, seq[w.start:w.end])
            except WindowPastContigEnd:
                fwd = None
            seg.append(k), vs.append(a), ve.append(b), alts.append(alt), want.append(fwd)
    starts, ends, repl, usable = rule.block_edits(np.array(seg), np.array(vs), np.array(ve), alts,
                                                  lambda pos: reader.codes("1", pos), CONTIG)
    assert repl.dtype == object
    # ALTs as a numpy '<U4' array (a fixed width shorter than the replacements) give the same edits
    as_array = rule.block_edits(np.array(seg), np.array(vs), np.array(ve), np.array(alts),
                                lambda pos: reader.codes("1", pos), CONTIG)
    assert as_array[2].tolist() == repl.tolist() and max(map(len, repl.tolist())) > 4
    assert len(want) > 700
    assert usable.tolist() == [w is not None for w in want]
    assert (~usable).sum() > 10  # deletions near both contig ends pull in sequence past them
    for i, fwd in enumerate(want):
        if fwd is None:
            continue
        w = windows[seg[i]]
        ref = rule.block_reference(seg[i])
        assert len(repl[i]) == ends[i] - starts[i]
        assert ref[:starts[i]] + repl[i] + ref[ends[i]:] == rule.orient(w, fwd), (w, vs[i], ve[i], alts[i])


def test_anchored_block_references_read_at_once_equal_per_window(tmp_path):
    """``block_references`` (the windows not cached read in one gather per contig) gives what
    ``block_reference`` gives window by window: lower case read upper, N runs, both strands, two
    contigs, a window repeated and one already cached, a window past a contig end left to the
    per-window read (which raises)."""
    rng = np.random.default_rng(8)
    a, b = random_sequence(rng, 300), random_sequence(rng, 90)
    a = a[:40] + a[40:70].lower() + "NNNN" + a[74:]
    path = write_fasta(tmp_path / "genome.fa", {"1": a, "2": b}, line_width=17)
    windows = [AnchoredWindow(f"w{i}", "g", chrom, strand, start, start + 25, 10)
               for i, (chrom, strand, start) in enumerate([("1", "+", 0), ("1", "-", 55), ("2", "+", 64),
                                                           ("1", "+", 275), ("2", "-", 3), ("1", "-", 200)])]
    rule = AnchoredWindowRule(Genome(path), windows, ("none", "none"))
    assert rule.block_reference(5) == reverse_complement_of(a[200:225])  # cached before
    got = rule.block_references(np.array([0, 1, 2, 4, 1, 5, 3]))
    fresh = AnchoredWindowRule(Genome(path), windows, ("none", "none"))
    assert got == [fresh.block_reference(k) for k in (0, 1, 2, 4, 1, 5, 3)]
    assert got[1] == reverse_complement_of(a[55:80].upper()) and "NNNN" in got[1]
    past = AnchoredWindowRule(Genome(path), windows + [AnchoredWindow("w6", "g", "2", "+", 80, 105, 10)],
                              ("none", "none"))
    with pytest.raises(WindowPastContigEnd):
        past.block_references(np.array([0, 6]))
    assert past.block_references(np.array([0, 2])) == [got[0], got[2]]


def reverse_complement_of(seq: str) -> str:
    from seqzoo.encoding import reverse_complement
    return reverse_complement(seq)


@pytest.fixture(scope="module")
def utr_rule(tmp_path_factory):
    d = tmp_path_factory.mktemp("block_utr")
    rng = np.random.default_rng(5)
    seq = random_sequence(rng, 2000)
    lines = []
    # 1, 2 and 3 exons, both strands; exons of one transcript 10 bases apart
    for t, (left, sizes, strand) in enumerate([(100, [30], "+"), (300, [12, 20], "-"), (600, [9, 25, 14], "+"),
                                               (900, [16, 8, 30], "-"), (1200, [40, 7], "+")]):
        pos, exons = left, []
        for size in sizes:
            exons.append((pos, pos + size - 1))
            pos += size + 10
        tid = f"T{t}"
        lines.append(gtf_line("1", "transcript", left, pos + 100, strand, tid, f"G{t}"))
        for s, e in exons:
            lines.append(gtf_line("1", "five_prime_utr", s, e, strand, tid, f"G{t}"))
        cds = (pos, pos + 90) if strand == "+" else (left - 100, left - 10)
        lines.append(gtf_line("1", "CDS", *cds, strand, tid, f"G{t}"))
    fasta = write_fasta(d / "genome.fa", {"1": seq})
    g = Genome(fasta)
    rule = Utr5Windows(g, write_gtf(d / "annotation.gtf", lines), ContigNames(g.lengths))
    return rule, seq


def test_utr5_block_edits_equal_windows(utr_rule):
    rule, seq = utr_rule
    segs = rule.block_segments()
    assert segs.feature.tolist() == [0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4]
    seg, vs, ve, alts, pairs = [], [], [], [], []
    for i in range(len(segs.start)):
        for a, b, alt in _alleles(int(segs.start[i]), int(segs.end[i]), seq):
            allele = VariantAllele("1", a + 1, seq[a:b], alt, None, 1, 0)
            got, skips = rule.windows(allele, "1")
            assert len(got) == 1 and not skips
            seg.append(i), vs.append(a), ve.append(b), alts.append(alt), pairs.append(got[0])
    starts, ends, repl, usable = rule.block_edits(np.array(seg), np.array(vs), np.array(ve), alts)
    assert repl.dtype == object and rule.block_edits(np.array(seg), np.array(vs), np.array(ve),
                                                     np.array(alts))[2].tolist() == repl.tolist()
    assert usable.all() and len(pairs) > 700
    for i, pair in enumerate(pairs):
        ref = rule.block_reference(int(segs.feature[seg[i]]))
        assert ref == pair.ref_seq
        assert ref[:starts[i]] + repl[i] + ref[ends[i]:] == pair.alt_seq
        assert rule.block_row(int(segs.feature[seg[i]]))[:3] == (pair.feature_id, pair.gene_id, pair.strand)


def test_every_case_of_the_anchor_split_is_met(genome):
    """The cases of forward_alt_window (left of the split, right of it, straddling it, and a '-'
    insertion anchored on the anchor base) all occur in the test above."""
    g, _, seq = genome
    w = AnchoredWindow("w", "g", "1", "-", 18, 30, 5)
    split = w.split
    kinds = set()
    for a, b, alt in _alleles(w.start, w.end, seq):
        if len(alt) == b - a:
            continue
        kinds.add("-insertion at split" if b == split and len(alt) > b - a else
                  "left" if b <= split else "right" if a >= split else "straddle")
    assert kinds == {"-insertion at split", "left", "right", "straddle"}
