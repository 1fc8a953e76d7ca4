"""Anchored fixed-length windows (indels keep the length, the anchor base keeps its index)."""
from __future__ import annotations

import numpy as np
import pytest

from seqzoo.encoding import reverse_complement
from seqzoo.genome.fasta import Genome
from seqzoo.genome.vcf import VariantAllele
from seqzoo.synthetic import random_sequence, write_fasta
from seqzoo.windows.fixed import AnchoredWindow, AnchoredWindowRule, WindowPastContigEnd, forward_alt_window

CONTIG = random_sequence(np.random.default_rng(11), 300)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("fixed")
    return Genome(write_fasta(d / "g.fa", {"1": CONTIG}))


def expected_window(w: AnchoredWindow, allele: VariantAllele) -> str | None:
    """Independent rule: apply the allele to the whole contig, follow the split point, cut L around it."""
    vs, ve, ref, alt = allele.start, allele.end, allele.ref, allele.alt
    g = w.split
    alt_contig = CONTIG[:vs] + alt + CONTIG[ve:]
    if w.strand == "-" and ve == g and len(alt) > len(ref):
        g2 = vs + len(ref)  # the inserted bases go right of the split: 5' of the anchor in model orientation
    elif ve <= g:
        g2 = g + len(alt) - len(ref)
    elif vs >= g:
        g2 = g
    else:
        g2 = vs + len(alt[:g - vs])
    n_left = g - w.start
    a, b = g2 - n_left, g2 + (w.length - n_left)
    if a < 0 or b > len(alt_contig):
        return None
    seq = alt_contig[a:b]
    return reverse_complement(seq) if w.strand == "-" else seq


def allele(pos1: int, ref: str, alt: str) -> VariantAllele:
    return VariantAllele("1", pos1, ref, alt, None, 1, 0)


def test_exact_small_cases(genome):
    # '+' window [100, 141), anchor 10: split at 110 (the base at 110 is model index 10)
    w = AnchoredWindow("f", "g", "1", "+", 100, 141, 10)
    ref = CONTIG[100:141]
    # SNV at the anchor base (0-based 110 = VCF pos 111)
    snv = "A" if CONTIG[110] != "A" else "C"
    assert forward_alt_window(genome, w, allele(111, CONTIG[110], snv), ref) == ref[:10] + snv + ref[11:]
    # 2-nt insertion after 0-based 104 (left of the anchor): left side shifts left, trims at the far end
    ins = forward_alt_window(genome, w, allele(105, CONTIG[104], CONTIG[104] + "GG"), ref)
    assert ins == CONTIG[102:105] + "GG" + CONTIG[105:141]
    assert ins[10:] == ref[10:]  # anchor base and everything right of it unchanged
    # 3-nt deletion right of the anchor (0-based 120..122 deleted): pulls in 3 nt at the right end
    dele = forward_alt_window(genome, w, allele(120, CONTIG[119:123], CONTIG[119]), ref)
    assert dele == CONTIG[100:120] + CONTIG[123:144]
    # '-' window: model index 10 is forward index 30 (= 0-based 130), split at 131
    wm = AnchoredWindow("f", "g", "1", "-", 100, 141, 10)
    assert wm.split == 131
    out = reverse_complement(forward_alt_window(genome, wm, allele(126, CONTIG[125], CONTIG[125] + "T"), ref))
    assert out == reverse_complement(CONTIG[101:126] + "T" + CONTIG[126:141])
    assert out[:11] == reverse_complement(ref)[:11]  # model indices 0..10 (anchor side kept) unchanged


@pytest.mark.parametrize("strand", ["+", "-"])
def test_random_indels_match_the_independent_rule(genome, strand):
    rng = np.random.default_rng(5 if strand == "+" else 6)
    rule_windows = [AnchoredWindow("f", "g", "1", strand, 100, 141, 10),
                    AnchoredWindow("e", "g", "1", strand, 2, 43, 30)]  # near the contig start
    n_checked = n_edge = 0
    for _ in range(600):
        w = rule_windows[int(rng.integers(2))]
        p0 = int(rng.integers(max(0, w.start - 4), w.end + 1))
        kind = int(rng.integers(3))
        if kind == 0:
            ref, alt = CONTIG[p0], str(rng.choice([b for b in "ACGT" if b != CONTIG[p0]]))
        elif kind == 1:
            ref, alt = CONTIG[p0], CONTIG[p0] + random_sequence(rng, int(rng.integers(1, 15)))
        else:
            k = int(rng.integers(1, 15))
            ref, alt = CONTIG[p0:p0 + k + 1], CONTIG[p0]
        a = allele(p0 + 1, ref, alt)
        if a.end <= w.start or a.start >= w.end:
            continue
        exp = expected_window(w, a)
        try:
            got = forward_alt_window(genome, w, a, CONTIG[w.start:w.end])
            got = reverse_complement(got) if strand == "-" else got
        except WindowPastContigEnd:
            got = None
        assert got == exp, (strand, w, a)
        n_checked += 1
        n_edge += exp is None
    assert n_checked > 300 and n_edge > 0


def test_rule_rows_and_contig_edge_skip(genome):
    features = [AnchoredWindow("ok", "G1", "1", "+", 100, 141, 10),
                AnchoredWindow("same_window", "G1", "1", "+", 100, 141, 10),
                AnchoredWindow("edge", "G2", "1", "-", 280, 321, 10)]  # past the contig end
    rule = AnchoredWindowRule(genome, features, ("not_in_window", "no window holds the variant"))
    pairs, skips = rule.windows(allele(121, CONTIG[120], "A" if CONTIG[120] != "A" else "C"), "1")
    assert [p.feature_id for p in pairs] == ["ok", "same_window"] and pairs[0].ref_key == pairs[1].ref_key
    assert len(pairs[0].alt_seq) == 41 and pairs[0].ref_seq == CONTIG[100:141]
    pairs, skips = rule.windows(allele(290, CONTIG[289], "A" if CONTIG[289] != "A" else "C"), "1")
    assert pairs == [] and [(s.feature_id, s.reason) for s in skips] == [("edge", "window_past_contig_end")]
    assert rule.windows(allele(10, CONTIG[9], "A"), "1") == ([], [])


def test_reverse_complements_of_many_sequences():
    """The one-translate form equals reverse_complement per sequence (order kept; empty ones, IUPAC,
    lower case, U), and falls back per sequence where one holds the tab it joins them with."""
    from seqzoo.encoding import reverse_complements
    seqs = ["ACGT", "", "a", "NNRYu", "GATTACA", "", "cgT"]
    assert reverse_complements(seqs) == ["ACGT", "", "t", "aRYNN", "TGTAATC", "", "Acg"]
    assert reverse_complements(seqs) == [reverse_complement(s) for s in seqs]
    assert reverse_complements(["AC\tG", "T"]) == ["C\tGT", "A"]
    assert reverse_complements([]) == [] and reverse_complements([""]) == [""]
    assert reverse_complements(np.array(["AAC", "G"], dtype=object)) == ["GTT", "C"]


@pytest.mark.parametrize("start, end, strand, anchor", [(10, 10, "+", 0), (10, 20, "+", 11), (10, 20, "-", -1),
                                                        (10, 20, ".", 3), (10, 20, "", 3)])
def test_anchored_window_refuses_an_anchor_outside_it(start, end, strand, anchor):
    """A plug-in building its own windows learns at once what is wrong (the alt-window arithmetic
    assumed a split inside the window and failed with an AssertionError)."""
    with pytest.raises(ValueError, match="window of 'w': .*a window needs start < end, an anchor index in 0.."):
        AnchoredWindow("w", "g", "1", strand, start, end, anchor)
    assert AnchoredWindow("w", "g", "1", "+", 10, 20, 10).split == 20  # both ends are anchors
    assert AnchoredWindow("w", "g", "1", "-", 10, 20, 0).split == 20
