"""Xpresso windows: 10,500 nt around each gene's TSS.

In transcript orientation (reverse-complemented on '-') the TSS — gene start on '+', gene end on
'-' — sits at index 7000: 7,000 nt upstream, the TSS and 3,499 nt downstream. The TSS is the
anchor that indels keep in place (see :mod:`seqzoo.windows.fixed`). Forward-strand window:
[tss - 7000, tss + 3500) on '+', [tss - 3499, tss + 7001) on '-' (``tss`` 0-based).
"""
from __future__ import annotations

from ..genome.gtf import read_spans
from .fixed import AnchoredWindow, AnchoredWindowRule

WINDOW = 10_500
TSS_INDEX = 7_000


def tss_window(feature_id: str, gene_id: str, chrom: str, strand: str, start: int, end: int) -> AnchoredWindow:
    """The window of a gene spanning 0-based [start, end) on ``strand``."""
    if strand == "+":
        w_start = start - TSS_INDEX
    else:
        w_start = (end - 1) - (WINDOW - 1 - TSS_INDEX)
    return AnchoredWindow(feature_id, feature_id, chrom, strand, w_start, w_start + WINDOW, TSS_INDEX)


def tss_rule(genome, gtf_path, names) -> AnchoredWindowRule:
    windows = [tss_window(g.feature_id, g.gene_id, g.chrom, g.strand, g.start, g.end)
               for g in read_spans(gtf_path, names, "gene")]
    return AnchoredWindowRule(genome, windows, (
        "not_in_promoter_window", "the variant overlaps no gene's 10,500-nt TSS window"))
