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

import operator
from dataclasses import dataclass

import numpy as np

from ..encoding import COMPLEMENT_BYTE, first_non_letter_byte, reverse_complement, reverse_complements
from ..genome.fasta import Genome, outside_contig
from ..genome.gtf import SegmentIndex
from ..genome.vcf import VariantAllele
from ..ragged import rows_by_value, run_offsets, run_positions
from ..table import as_text_column, text_column
from .base import BlockSegments, FeatureSkip, WindowPair
from .cache import SequenceCache


class WindowPastContigEnd(Exception):
    """The window (or the sequence an indel pulls in) extends past a contig end."""


@dataclass(frozen=True)
class AnchoredWindow:
    """A feature's window: forward-strand [start, end) on FASTA contig ``chrom``, ``anchor`` index
    in model orientation (0 .. end - start: the bases before it stay left of the split), ``strand``
    '+' or '-'. ValueError for an empty window, an anchor outside it or another strand (a plug-in's
    window rule would otherwise fail deep inside the alt-window arithmetic)."""

    feature_id: str
    gene_id: str
    chrom: str
    strand: str
    start: int
    end: int
    anchor: int

    def __post_init__(self):
        if self.end <= self.start or not 0 <= self.anchor <= self.end - self.start or self.strand not in ("+", "-"):
            raise ValueError(f"window of {self.feature_id!r}: [{self.start}, {self.end}) on strand {self.strand!r} "
                             f"with anchor index {self.anchor}; a window needs start < end, an anchor index in "
                             f"0..{max(self.end - self.start, 0)} (model orientation) and strand '+' or '-'")

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
        raise WindowPastContigEnd(outside_contig(chrom, start, end, genome.lengths[chrom]))
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


def anchored_indel_edits(w_start, w_end, split, minus, vs, ve, alts: list, codes, contig_length: int):
    """:func:`forward_alt_window` for many indels at once, as the changed part of each window.

    Arrays of one entry per indel (forward strand, 0-based): window [w_start, w_end) splitting at
    ``split``, on '-' when ``minus``; REF [vs, ve) overlapping the window; ALT ``alts[i]`` (len != ve - vs).
    Returns (lo, hi, text, offsets, usable): the alt window differs from the reference at most on
    forward [lo, hi), whose alt bases are ``text[offsets[i]:offsets[i + 1]]`` in model orientation
    (reverse-complemented on '-'); ``usable`` False where the window would pull in sequence past the
    contig end.

    Each side of the split the allele touches gets a piece (a, b, P): REF [a, b) on that side becomes
    P (the part of ALT on that side; cut as :func:`forward_alt_window` cuts it). Left of the split
    the window keeps its bases >= b, holds P just left of b, and left of that the reference shifted
    by d = len(P) - (b - a) (position x reads x + d); right of the split it keeps its bases < a,
    holds P from a, and right of that reads x - d.
    """
    p = np.fromiter(map(len, alts), np.int64, len(alts))
    r = ve - vs
    case1 = minus & (ve == split) & (p > r)  # '-': an insertion anchored on the anchor base goes right
    left_only = ~case1 & (ve <= split)
    right_only = ~case1 & (vs >= split)
    has_left, has_right = ~right_only, ~left_only  # (neither only: REF straddles the split, or case1)
    mid = np.minimum(split - vs, p)  # ALT bases left of the split when REF straddles it
    b_left = np.where(left_only, ve, split)
    p_left = np.where(case1, r, np.where(left_only, p, mid))
    a_right = np.where(right_only, vs, split)
    b_right = np.where(case1, split, ve)
    o_right = np.where(case1, r, np.where(right_only, 0, mid))  # where the right piece starts in ALT
    p_right = p - o_right
    d_left = p_left - (b_left - vs)
    d_right = p_right - (b_right - a_right)
    lo = np.where(has_left, w_start, a_right)
    hi = np.where(has_right, w_end, b_left)
    # the changed part is four runs, each contiguous in the genome or in ALT: left of the split the
    # shifted reference (x + d_left), then the left piece's ALT bases up to b_left; right of the split
    # the right piece's ALT bases from a_right, then the shifted reference (x - d_right)
    zero = np.zeros_like(lo)
    alt_left = np.where(has_left, np.minimum(p_left, b_left - w_start), zero)
    gen_left = np.where(has_left, b_left - alt_left - w_start, zero)
    alt_right = np.where(has_right, np.minimum(p_right, w_end - a_right), zero)
    gen_right = np.where(has_right, w_end - a_right - alt_right, zero)
    alt_off = np.zeros(len(p) + 1, dtype=np.int64)
    np.cumsum(p, out=alt_off[1:])
    lens = gen_left + alt_left + alt_right + gen_right
    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    g_left = w_start + d_left  # genome position of the left run's first base
    g_right = a_right + alt_right - d_right
    usable = ((gen_left == 0) | (g_left >= 0)) & ((gen_right == 0) | (g_right + gen_right <= contig_length))
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    at = offsets[:-1]
    # (an unusable row reads its window's own first bases instead, so that every read lies in the
    # contig and near the others; the row is dropped)
    genome_runs = [(at, np.where(usable, g_left, w_start), gen_left),
                   (at + gen_left + alt_left + alt_right, np.where(usable, g_right, w_start), gen_right)]
    alt_runs = [(at + gen_left, alt_off[:-1] + p_left - alt_left, alt_left),
                (at + gen_left + alt_left, alt_off[:-1] + o_right, alt_right)]
    dest_g, src_g = _runs(genome_runs)
    if src_g.size:
        out[dest_g] = codes(src_g)
    dest_a, src_a = _runs(alt_runs)
    if src_a.size:
        out[dest_a] = np.frombuffer("".join(alts).encode("ascii"), dtype=np.uint8)[src_a]
    if minus.any():  # '-' windows: each row's changed part reverse-complemented (model orientation)
        rows = np.flatnonzero(minus)
        n, first = lens[rows], offsets[:-1][rows]
        within = run_offsets(n)
        out[np.repeat(first, n) + within] = COMPLEMENT_BYTE[out[np.repeat(first + n - 1, n) - within]]
    return lo, hi, out.tobytes().decode("ascii"), offsets, usable


def _runs(runs) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (destination, source) indices of runs given as (destination starts, source starts,
    lengths) arrays."""
    return (np.concatenate([run_positions(d, n) for d, _, n in runs]),
            np.concatenate([run_positions(s, n) for _, s, n in runs]))


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
        self.genome = genome
        self.features = features
        # every window's columns, read from the objects once (numpy from here on)
        n = len(features)
        self._chroms, starts, ends = (list(map(operator.attrgetter(name), features)) for name in ("chrom", "start", "end"))
        start, end = np.fromiter(starts, np.int64, n), np.fromiter(ends, np.int64, n)
        anchor = np.fromiter(map(operator.attrgetter("anchor"), features), np.int64, n)
        minus = np.fromiter(map("-".__eq__, map(operator.attrgetter("strand"), features)), bool, n)
        #: every window's (start, end, split, on '-'?) as arrays, by feature index (AnchoredWindow.split)
        self._window_arrays = (start, end, np.where(minus, end - anchor, start + anchor), minus)
        self.index = SegmentIndex.from_columns(self._chroms, starts, ends)  # (the windows' own int objects)
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
        start, end, _, _ = self._window_arrays
        return list(zip(self._chroms, start.tolist(), end.tolist()))

    def span_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """:meth:`spans` by FASTA contig as (starts, ends) int64 arrays, in feature order."""
        start, end, _, _ = self._window_arrays
        return {chrom: (start[rows], end[rows]) for chrom, rows in rows_by_value(self._chroms).items()}

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

    # -- the block path (seqzoo.windowing.FastIndex) ------------------------------------------------
    def block_segments(self) -> BlockSegments:
        """Every window is a segment of its own feature, ranked in (start, end) order (the per-allele
        path's row order); a window past its contig end is not usable."""
        n = len(self.features)
        start, end, _, _ = self._window_arrays
        contig = np.full(n, -1, dtype=np.int64)
        for chrom, rows in rows_by_value(self._chroms).items():
            contig[rows] = self.genome.lengths.get(chrom, -1)
        rank = np.empty(n, dtype=np.int64)
        rank[np.lexsort((end, start))] = np.arange(n)
        return BlockSegments(list(self._chroms), start, end, np.arange(n, dtype=np.int64),
                             (start >= 0) & (end <= contig), rank, indels_overhang=True)

    def block_edits(self, seg: np.ndarray, vs: np.ndarray, ve: np.ndarray, alts, codes, contig_length: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The edits of alleles inside windows, as :meth:`windows` gives them, for many at once.

        Row i: REF at forward [vs[i], ve[i]) inside window ``seg[i]`` (one contig; an indel's REF may
        extend past the window), ALT ``alts[i]`` (forward strand, A/C/G/T; a ``str`` column, a list
        or any array of str). Returns (starts, ends, replacements (a ``str`` column), usable): the edit of the
        window in model orientation, ``alt_window ==
        ref_window[:start] + replacement + ref_window[end:]`` with ``len(replacement) == end -
        start``. A substitution is its own edit;
        an indel (:func:`anchored_indel_edits`) replaces the window's bases from the variant to the
        far end of its side of the anchor (both sides when REF straddles it). ``codes(positions)``
        reads upper-case ASCII bases of the contig (length ``contig_length``); a row whose window
        would pull in sequence past the contig end is not usable (the per-allele path skips it).
        """
        w_start, w_end, split, minus = (a[seg] for a in self._window_arrays)
        n = len(seg)
        alts = as_text_column(alts)
        p = np.fromiter(map(len, alts.tolist()), np.int64, n)
        starts = np.where(minus, w_end - ve, vs - w_start)
        ends = starts + (ve - vs)
        out = alts.copy()
        indel = p != ve - vs
        turn = np.flatnonzero(minus & ~indel)  # substitutions on '-': ALT reverse-complemented
        if turn.size:
            out[turn] = text_column(reverse_complements(alts[turn].tolist()))
        usable = np.ones(n, dtype=bool)
        indel = np.flatnonzero(indel)
        if indel.size:
            lo, hi, text, offsets, ok = anchored_indel_edits(w_start[indel], w_end[indel], split[indel],
                                                             minus[indel], vs[indel], ve[indel],
                                                             alts[indel].tolist(), codes, contig_length)
            starts[indel] = np.where(minus[indel], w_end[indel] - hi, lo - w_start[indel])
            ends[indel] = starts[indel] + (hi - lo)
            usable[indel] = ok
            bounds = offsets.tolist()
            out[indel] = text_column([text[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
        return starts, ends, out, usable

    def block_reference(self, k: int) -> str:
        """Feature ``k``'s reference window in model orientation."""
        return self.orient_cached(k, self.ref_forward(k))

    def block_references(self, ks: np.ndarray) -> list[str]:
        """:meth:`block_reference` of each feature index in ``ks``. The forward windows not cached yet
        are read from a plain FASTA in one gather per contig (:attr:`Genome.bases`, a BaseReader:
        upper case, as :meth:`Genome.fetch`), not one FASTA read each; a window past its contig's end
        raises :class:`WindowPastContigEnd` as in :meth:`block_reference`."""
        ks = np.asarray(ks, dtype=np.int64).tolist()
        missing = [k for k in dict.fromkeys(ks) if k not in self._ref_forward]
        if len(missing) > 1 and self.genome.bases.usable:
            self._read_forward(missing)
        return [self.block_reference(k) for k in ks]

    def _read_forward(self, ks: list[int]) -> None:
        """Put the forward windows of features ``ks`` into the reference cache, read per contig in one
        gather (windows past a contig end and text that is not nucleotide letters are left to
        :meth:`ref_forward`)."""
        start, end, _, _ = self._window_arrays
        by_chrom: dict[str, list[int]] = {}
        for k in ks:
            by_chrom.setdefault(self.features[k].chrom, []).append(k)
        for chrom, idx in by_chrom.items():
            idx = np.asarray(idx, dtype=np.int64)
            inside = (start[idx] >= 0) & (end[idx] <= self.genome.lengths.get(chrom, -1))
            idx = idx[inside]
            if not idx.size or chrom not in self.genome.bases.index:
                continue
            lengths = end[idx] - start[idx]
            codes = self.genome.bases.codes(chrom, run_positions(start[idx], lengths))
            if first_non_letter_byte(codes.tobytes()) >= 0:  # (non-ASCII too) ref_forward's fetch names it
                continue
            text = codes.tobytes().decode("ascii")
            bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
            for k, a, b in zip(idx.tolist(), bounds[:-1], bounds[1:]):
                self._ref_forward.get(k, lambda piece=text[a:b]: piece)

    def block_row(self, k: int) -> tuple[str, str, str, dict | None, dict | None]:
        """(feature_id, gene_id, strand, inputs, notes) of feature ``k``'s rows."""
        w = self.features[k]
        return (w.feature_id, w.gene_id, w.strand, *self.window_extras(w))

    def orient_cached(self, i: int, forward: str) -> str:
        """Feature ``i``'s reference window in model orientation (reverse complements cached)."""
        w = self.features[i]
        if w.strand == "+":
            return forward
        return self._ref_model.get(i, lambda: reverse_complement(forward))
