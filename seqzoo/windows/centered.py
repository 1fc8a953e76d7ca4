"""Windows centred on the variant (BPNet-OSKN), and on BED regions for plain prediction.

Variant windows: 1000 nt on the forward strand with the variant's first REF base at index 500
(0-based): genome [p0 - 500, p0 + 500) for the 0-based position p0 of REF's first base (VCF POS
- 1). The window is the anchored window of :mod:`seqzoo.windows.fixed` with strand '+', anchor
500 and start p0 - 500, so its split point is p0 and REF lies right of it: the 500 nt left of the
variant are the same in ref and alt, ALT starts at index 500, and an indel trims sequence (an
insertion) or pulls more reference sequence in (a deletion) at the right end — the sequence the
authors' ``bpnet.extractors.extract_seq`` builds for an interval whose start it keeps fixed. One
window (one row) per allele: ``feature_id`` names the window ``chrom:start-end`` (FASTA contig
name, 0-based half-open, the ref window), ``gene_id`` is empty, ``strand`` '+'. A window — or the
sequence a deletion pulls in — past either contig end is skipped with ``window_past_contig_end``.
No GTF is needed (``gtf_path`` is ignored and may be None).

BED windows (:func:`iter_bed_windows`): for each region of a BED file (0-based half-open, as BED
is), the 1000 nt centred on its midpoint: mid = (start + end) // 2, window [mid - 500, mid + 500)
— kipoiseq's ``resize_interval(interval, 1000, anchor='center')``, i.e. what Kipoi's BPNet-OSKN
dataloader (``SeqIntervalDl(auto_resize_len=1000)``) feeds the model. A 1000-nt region is its own
window; a shorter one is extended and a longer one cut around its midpoint (for an odd length
difference the left side gets the extra base when extending and keeps it when cutting: [s, s + 999)
gives [s - 1, s + 999), [s, s + 1001) gives [s, s + 1000)). Only the forward strand is used (BPNet
predicts both strands; a strand column is ignored). A region on a contig missing from the FASTA is
skipped with ``contig_not_in_fasta``, a window past a contig end with ``window_past_contig_end``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..genome.fasta import Genome, GenomeError, outside_contig
from ..genome.textfile import open_text
from ..genome.vcf import VariantAllele
from .base import FeatureSkip, WindowPair
from .fixed import AnchoredWindow, WindowPastContigEnd, _fetch, forward_alt_window

WINDOW = 1000
CENTER = 500
#: every allele gets a window: the reason exists for the protocol only
NO_FEATURE = ("no_window", "no window could be built for the variant")


def variant_window(chrom: str, p0: int, width: int = WINDOW, center: int = CENTER) -> AnchoredWindow:
    """The window of a variant whose REF starts at 0-based ``p0`` on FASTA contig ``chrom``."""
    start = p0 - center
    return AnchoredWindow(f"{chrom}:{start}-{start + width}", "", chrom, "+", start, start + width, center)


class CenteredWindows:
    """Window rule: one 1000-nt window per allele, REF's first base at index 500.

    ``windows(allele, chrom)`` -> ([WindowPair], []) or ([], [FeatureSkip window_past_contig_end]).
    Alleles at the same position share the reference window (``ref_key``) and its prediction.
    """

    def __init__(self, genome: Genome, gtf_path=None, names=None, width: int = WINDOW, center: int = CENTER):
        if not 0 <= center < width:
            raise ValueError(f"center {center} must lie in [0, {width})")
        self.genome = genome
        self.width = width
        self.center = center
        self._last: tuple[str, str] | None = None  # (window key, ref sequence): VCFs are position-sorted

    def no_feature_reason(self) -> tuple[str, str]:  # every allele gets a window; kept for the protocol
        return NO_FEATURE

    @staticmethod
    def spans() -> None:
        """None: every position has a window (see :meth:`seqzoo.windows.fixed.AnchoredWindowRule.spans`)."""
        return None

    def _ref(self, w: AnchoredWindow) -> str:
        if self._last is not None and self._last[0] == w.key:
            return self._last[1]
        seq = _fetch(self.genome, w.chrom, w.start, w.end)
        self._last = (w.key, seq)
        return seq

    def windows(self, allele: VariantAllele, chrom: str) -> tuple[list[WindowPair], list[FeatureSkip]]:
        w = variant_window(chrom, allele.start, self.width, self.center)
        try:
            ref = self._ref(w)
            alt = forward_alt_window(self.genome, w, allele, ref)
        except WindowPastContigEnd as exc:
            return [], [FeatureSkip(w.feature_id, "window_past_contig_end",
                                    f"the {self.width}-nt window centred on the variant needs sequence past a "
                                    f"contig end: {exc}")]
        return [WindowPair(allele, w.feature_id, w.gene_id, w.strand, ref, alt, ref_key=w.key)], []


def centered_rule(genome, gtf_path, names) -> CenteredWindows:
    """``ModelSpec.window_rule`` for BPNet-OSKN (``gtf_path`` unused, may be None)."""
    return CenteredWindows(genome, gtf_path, names)


# -- BED regions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BedWindow:
    """One BED region's model input: ``seq`` = forward strand [start, end) of FASTA contig ``chrom``.

    ``name`` is the BED name column, or ``chrom:region_start-region_end`` (as in the BED) when the
    file has none or it is '.'; ``bed_chrom`` the contig as written in the BED; ``line`` the
    1-based line number.
    """

    name: str
    bed_chrom: str
    region_start: int
    region_end: int
    chrom: str
    start: int
    end: int
    seq: str
    line: int


@dataclass(frozen=True)
class BedSkip:
    """A BED region that gives no window, with a fixed ``reason`` token and a ``detail``."""

    name: str
    bed_chrom: str
    region_start: int
    region_end: int
    reason: str
    detail: str
    line: int


def bed_window_span(start: int, end: int, width: int = WINDOW) -> tuple[int, int]:
    """The [start, end) of the ``width``-nt window centred on BED region [start, end)."""
    mid = (start + end) // 2
    w_start = mid - width // 2
    return w_start, w_start + width


def iter_bed_windows(genome: Genome, bed_path: str | os.PathLike, names=None,
                     width: int = WINDOW) -> Iterator[BedWindow | BedSkip]:
    """Yield a :class:`BedWindow` or a :class:`BedSkip` for every region of ``bed_path``, in file order.

    ``names``: a :class:`seqzoo.genome.names.ContigNames` for the FASTA (built here if None) that
    maps BED contig names (with or without ``chr``, chrM/MT, case). Header lines (``#``, ``track``,
    ``browser``) and blank lines are skipped; a line with fewer than 3 columns, non-integer
    coordinates or start > end raises :class:`GenomeError` naming the file and the line.
    Plain or gzipped (bgzip) BED.
    """
    from ..genome.names import ContigNames

    path = Path(bed_path)
    if not path.is_file():
        raise GenomeError(f"BED file {path} does not exist")
    if names is None:
        names = ContigNames(genome.lengths)
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith(("#", "track", "browser")):
                continue
            fields = text.split("\t")
            if len(fields) < 3:
                raise GenomeError(f"BED file {path}, line {line_no}: expected at least 3 tab-separated columns "
                                  f"(chrom, start, end), found {len(fields)}")
            bed_chrom = fields[0]
            try:
                r_start, r_end = int(fields[1]), int(fields[2])
            except ValueError:
                raise GenomeError(f"BED file {path}, line {line_no}: start and end must be integers, got "
                                  f"{fields[1]!r}, {fields[2]!r}") from None
            if r_start < 0 or r_start > r_end:
                raise GenomeError(f"BED file {path}, line {line_no}: need 0 <= start <= end, got {r_start}, {r_end}")
            name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else f"{bed_chrom}:{r_start}-{r_end}"
            chrom = names.resolve(bed_chrom, "BED")
            if chrom is None:
                yield BedSkip(name, bed_chrom, r_start, r_end, "contig_not_in_fasta",
                              f"contig {bed_chrom!r} matches no FASTA contig ({names.tried(bed_chrom)})", line_no)
                continue
            w_start, w_end = bed_window_span(r_start, r_end, width)
            length = genome.lengths[chrom]
            if w_start < 0 or w_end > length:
                yield BedSkip(name, bed_chrom, r_start, r_end, "window_past_contig_end",
                              f"the {width}-nt window {outside_contig(chrom, w_start, w_end, length)}", line_no)
                continue
            yield BedWindow(name, bed_chrom, r_start, r_end, chrom, w_start, w_end,
                            genome.fetch(chrom, w_start, w_end), line_no)
