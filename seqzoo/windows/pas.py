"""APARENT2 windows: 205 nt around each transcript's 3' end (the cleavage site).

In transcript orientation (reverse-complemented on '-') the transcript's last base sits at index
100 and the expected polyadenylation signal at index 70, the anchor that indels keep in place
(see :mod:`seqzoo.windows.fixed`). Forward-strand window: [last - 100, last + 105) on '+' and
[first - 104, first + 101) on '-' (``last``/``first`` 0-based).

Kipoi's APARENT dataloader passes the strand string where a boolean is expected, so '+' transcripts
get reverse-complemented windows there; seqzoo does not reproduce that.
"""
from __future__ import annotations

from ..genome.gtf import read_spans
from .fixed import AnchoredWindow, AnchoredWindowRule

WINDOW = 205
CLEAVAGE_INDEX = 100
PAS_ANCHOR = 70
#: (reason, detail) of an allele outside every transcript's window
NO_FEATURE = ("not_in_pas_window", "the variant overlaps no transcript's 205-nt 3'-end (cleavage site) window")


def pas_window(feature_id: str, gene_id: str, chrom: str, strand: str, start: int, end: int) -> AnchoredWindow:
    """The window of a transcript spanning 0-based [start, end) on ``strand``."""
    if strand == "+":
        w_start = end - 1 - CLEAVAGE_INDEX
    else:
        w_start = start - (WINDOW - 1 - CLEAVAGE_INDEX)
    return AnchoredWindow(feature_id, gene_id, chrom, strand, w_start, w_start + WINDOW, PAS_ANCHOR)


def pas_rule(genome, gtf_path, names) -> AnchoredWindowRule:
    windows = [pas_window(t.feature_id, t.gene_id, t.chrom, t.strand, t.start, t.end)
               for t in read_spans(gtf_path, names, "transcript")]
    return AnchoredWindowRule(genome, windows, NO_FEATURE)
