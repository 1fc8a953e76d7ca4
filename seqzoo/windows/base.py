"""The vocabulary shared by window rules."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..genome.vcf import VariantAllele


@dataclass(frozen=True)
class WindowPair:
    """The ref and alt model inputs for one (allele, feature).

    Sequences are in model orientation (reverse-complemented for '-' features). ``ref_key``
    identifies the reference window so that one reference prediction serves every variant in it
    (together with ``inputs``, which both ref and alt use).
    """

    allele: VariantAllele
    feature_id: str
    gene_id: str
    strand: str
    ref_seq: str
    alt_seq: str
    ref_key: str
    #: model inputs besides the sequence, per window (e.g. Xpresso ``halflife``: (6,) float32)
    inputs: dict | None = field(default=None, compare=False)
    #: extra output columns describing this row (e.g. Xpresso ``halflife_source``)
    notes: dict | None = field(default=None, compare=False)
    #: registry name of the model these windows are for (set by the scoring stream)
    model: str = ""
    #: (start, end, replacement) in model orientation with alt_seq == ref_seq[:start] + replacement +
    #: ref_seq[end:], where the rule knows it cheaply (None: derived from the two windows)
    edit: tuple | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class ReferenceWindow:
    """One feature's reference window, as the model sees it, with where each base lies.

    ``seq``: the window in model orientation (reverse-complemented on '-'); ``positions``: (len(seq),)
    int64, the 0-based forward-strand position on FASTA contig ``chrom`` of each model index (falling
    on '-', jumping across introns for a spliced 5'UTR); ``inputs`` / ``notes`` as in
    :class:`WindowPair`. In-silico mutagenesis mutates it base by base.
    """

    feature_id: str
    gene_id: str
    chrom: str
    strand: str
    seq: str
    positions: np.ndarray
    inputs: dict | None = None
    notes: dict | None = None


@dataclass(frozen=True)
class FeatureSkip:
    """A feature the allele touches but cannot be scored in (``reason`` is a fixed token)."""

    feature_id: str
    reason: str
    detail: str


def apply_allele(segment: str, segment_start: int, allele: VariantAllele) -> str:
    """Replace REF by ALT in ``segment`` (forward strand, starting at 0-based ``segment_start``).

    REF must lie inside the segment: [allele.start, allele.end) within [segment_start,
    segment_start + len(segment)).
    """
    offset = allele.start - segment_start
    if offset < 0 or offset + len(allele.ref) > len(segment):
        raise ValueError(f"allele {allele.variant_id} does not lie inside the segment")
    return segment[:offset] + allele.alt + segment[offset + len(allele.ref):]


@dataclass
class BlockSegments:
    """The segments a window rule offers the block path (:class:`seqzoo.windowing.FastIndex`): an
    allele of a clean record (REF and every ALT A/C/G/T; REF equal to the FASTA) whose REF lies
    inside every segment it overlaps, each ``usable``, gets one row per such segment, for the
    segment's ``feature``, and no feature skip (a record with several ALTs: when each ALT does); its
    edits come from the rule's ``block_edits``.

    Arrays of one entry per segment, forward strand, 0-based half-open on FASTA contig ``chrom[i]``:
    ``start``, ``end``, ``feature`` (the rule's feature index; one feature may own several segments,
    e.g. the exons of a 5'UTR), ``usable`` (False: records overlapping it take the per-allele path,
    e.g. a window past its contig end) and ``rank`` (a record's rows come in increasing rank, the
    per-allele path's order). ``indels_overhang``: an indel whose REF overlaps a segment but extends
    past it takes the block path too (fixed windows, where the anchor rule pulls in sequence).
    """

    chrom: list
    start: np.ndarray
    end: np.ndarray
    feature: np.ndarray
    usable: np.ndarray
    rank: np.ndarray
    indels_overhang: bool = False
