"""Fixed-length windows with an anchor: indels keep the window length (APARENT2, Xpresso, ...).

A window is [start, end) on the forward strand (0-based half-open) with an anchor index in model
orientation (transcript orientation: reverse-complemented on '-'). The anchor base keeps its index
whatever the variant: an indel on one side of the anchor trims sequence, or pulls more reference
sequence in, at that side's far end — kipoiseq's ``VariantSeqExtractor(..., anchor, fixed_len=True)``
semantics with the anchor meaning the window index it should mean. A variant whose REF straddles the
anchor is split there (REF and ALT cut at the same offset, as kipoiseq does). Inserted bases never
take the anchor's index: on both strands an insertion next to the anchor goes to its 5' side
(model orientation) when it is anchored on the base 5' of it, and to its 3' side otherwise.

On the forward strand the split point is ``start + anchor`` on '+' and ``end - anchor`` on '-'
(on '-', model index ``anchor`` is forward index ``L - 1 - anchor``, the last base left of the
split, which becomes the first base right of the anchor after reverse complementing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..encoding import reverse_complement
from ..genome.fasta import Genome
from ..genome.vcf import VariantAllele
from .base import FeatureSkip, WindowPair
from .cache import SequenceCache


class WindowPastContigEnd(Exception):
    """The window (or the sequence an indel pulls in) extends past a contig end."""


@dataclass(frozen=True)
class AnchoredWindow:
    """A feature's window: forward-strand [start, end) on FASTA contig ``chrom``, ``anchor`` index
    in model orientation, ``strand`` '+' or '-'."""

    feature_id: str
    gene_id: str
    chrom: str
    strand: str
    start: int
    end: int
    anchor: int

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def split(self) -> int:
        """Forward-strand 0-based position where the window splits: bases < split lie left of the anchor."""
        return self.start + self.anchor if self.strand == "+" else self.end - self.anchor

    @property
    def key(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}{self.strand}@{self.anchor}"


def _fetch(genome: Genome, chrom: str, start: int, end: int) -> str:
    if start < 0 or end > genome.lengths[chrom]:
        raise WindowPastContigEnd(f"{chrom}:{start}-{end} (0-based) is outside contig {chrom} "
                                  f"(length {genome.lengths[chrom]})")
    return genome.fetch(chrom, start, end)


def forward_alt_window(genome: Genome, w: AnchoredWindow, allele: VariantAllele, ref_forward: str) -> str:
    """The window's forward-strand sequence with ``allele`` applied, length kept, anchor fixed.

    ``ref_forward`` is the window's reference sequence (forward strand), used instead of re-reading
    the FASTA where it suffices.
    """
    L, g = w.length, w.split
    vs, ve = allele.start, allele.end
    alt = allele.alt
    n_left = g - w.start

    def ref_seq(a: int, b: int) -> str:  # forward reference [a, b), from the cached window if inside
        if a >= w.start and b <= w.end:
            return ref_forward[a - w.start:b - w.start]
        return _fetch(genome, w.chrom, a, b)

    # split the allele at the anchor (REF and ALT cut at the same offset). On '-' the anchor base is
    # the last one left of the split: a VCF insertion anchored on it (REF ends at the split) puts its
    # new bases right of the split, i.e. 5' of the anchor in model orientation, as on '+'.
    if w.strand == "-" and ve == g and len(alt) > len(allele.ref):
        mid = len(allele.ref)
        left, right = (vs, g, alt[:mid]), (g, g, alt[mid:])
    elif ve <= g:
        left, right = (vs, ve, alt), None
    elif vs >= g:
        left, right = None, (vs, ve, alt)
    else:
        mid = g - vs
        left, right = (vs, g, alt[:mid]), (g, ve, alt[mid:])
    if left is None:
        left_seq = ref_forward[:n_left]
    else:
        a, b, piece = left
        tail = piece + ref_seq(b, g)  # everything from the variant to the split
        need = n_left - len(tail)
        left_seq = (ref_seq(a - need, a) + tail) if need > 0 else tail[len(tail) - n_left:]
    if right is None:
        right_seq = ref_forward[n_left:]
    else:
        a, b, piece = right
        head = ref_seq(g, a) + piece
        need = (L - n_left) - len(head)
        right_seq = (head + ref_seq(b, b + need)) if need > 0 else head[:L - n_left]
    seq = left_seq + right_seq
    assert len(seq) == L, (len(seq), L)
    return seq


def _substitution(w: AnchoredWindow, allele: VariantAllele) -> tuple[int, int, str] | None:
    """The edit (start, end, replacement) in model orientation of a substitution (SNV, MNV) that lies
    inside window ``w`` (then the anchor rule moves nothing); None otherwise."""
    n = len(allele.ref)
    if n != len(allele.alt) or allele.start < w.start or allele.end > w.end:
        return None
    if w.strand == "+":
        start = allele.start - w.start
        return start, start + n, allele.alt
    start = w.end - allele.end
    return start, start + n, reverse_complement(allele.alt)


class AnchoredWindowRule:
    """Window rule over fixed-length anchored windows (one per feature).

    ``windows(allele, chrom)`` gives one :class:`WindowPair` per feature whose window overlaps the
    allele's REF span; a window past a contig end is a :class:`FeatureSkip` with
    ``window_past_contig_end``. Reference windows are read once per feature and cached.
    """

    def __init__(self, genome: Genome, features: list[AnchoredWindow], no_feature: tuple[str, str]):
        from ..genome.gtf import SegmentIndex

        self.genome = genome
        self.features = features
        self.index = SegmentIndex((w.chrom, w.start, w.end, i) for i, w in enumerate(features))
        self._no_feature = no_feature
        self._ref_forward: SequenceCache[str] = SequenceCache()  # bounded: 60,000 genes x 10.5 kb would be 630 MB
        self._ref_model: SequenceCache[str] = SequenceCache()  # the '-' windows reverse-complemented

    def no_feature_reason(self) -> tuple[str, str]:
        return self._no_feature

    def feature_ids(self) -> list[str]:
        return [w.feature_id for w in self.features]

    def reference_window(self, feature_id: str):
        """The :class:`~seqzoo.windows.base.ReferenceWindow` of feature ``feature_id`` (None if unknown).

        Raises :class:`WindowPastContigEnd` when the window leaves its contig."""
        from .base import ReferenceWindow

        i = self._feature_index().get(feature_id)
        if i is None:
            return None
        w = self.features[i]
        positions = np.arange(w.start, w.end, dtype=np.int64)
        return ReferenceWindow(w.feature_id, w.gene_id, w.chrom, w.strand, self.orient(w, self.ref_forward(i)),
                               positions if w.strand == "+" else positions[::-1].copy(),
                               *self.window_extras(w))

    def window_extras(self, w: AnchoredWindow) -> tuple[dict | None, dict | None]:
        """(inputs, notes) of the rows of window ``w`` (none here; Xpresso's half-life features)."""
        return None, None

    def _feature_index(self) -> dict[str, int]:
        if getattr(self, "_by_id", None) is None:
            self._by_id = {w.feature_id: i for i, w in enumerate(self.features)}
        return self._by_id

    def spans(self) -> list[tuple[str, int, int]]:
        """Every feature's window, (FASTA contig, start, end) forward strand, 0-based half-open: an
        allele whose REF overlaps none of them gets no window and no feature skip."""
        return [(w.chrom, w.start, w.end) for w in self.features]

    def ref_forward(self, i: int) -> str:
        """Feature ``i``'s reference window, forward strand (cached, least recently used dropped)."""
        w = self.features[i]
        return self._ref_forward.get(i, lambda: _fetch(self.genome, w.chrom, w.start, w.end))

    def orient(self, w: AnchoredWindow, forward: str) -> str:
        return reverse_complement(forward) if w.strand == "-" else forward

    def windows(self, allele: VariantAllele, chrom: str) -> tuple[list[WindowPair], list[FeatureSkip]]:
        pairs, skips = [], []
        for _, _, i in self.index.overlapping(chrom, allele.start, allele.end):
            w = self.features[i]
            try:
                ref_fwd = self.ref_forward(i)
                alt_fwd = forward_alt_window(self.genome, w, allele, ref_fwd)
            except WindowPastContigEnd as exc:
                skips.append(FeatureSkip(w.feature_id, "window_past_contig_end",
                                         f"window of {w.feature_id} needs sequence past a contig end: {exc}"))
                continue
            inputs, notes = self.window_extras(w)
            pairs.append(WindowPair(allele, w.feature_id, w.gene_id, w.strand, self.orient_cached(i, ref_fwd),
                                    self.orient(w, alt_fwd), ref_key=w.key, inputs=inputs, notes=notes,
                                    edit=_substitution(w, allele)))
        return pairs, skips

    def orient_cached(self, i: int, forward: str) -> str:
        """Feature ``i``'s reference window in model orientation (reverse complements cached)."""
        w = self.features[i]
        if w.strand == "+":
            return forward
        return self._ref_model.get(i, lambda: reverse_complement(forward))
