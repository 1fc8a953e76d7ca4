"""HAL windows: 160 nt around every 5' splice donor (80 exonic + 80 intronic nt).

A donor is the last base of each exon of a multi-exon transcript except the transcript's last exon,
in transcript orientation. Its window, in transcript orientation (reverse-complemented on '-'), holds
the exon's last 80 bases at indices 0..79 and the intron's first 80 bases at 80..159; index 80, the
first intronic base (the G of a GT donor), is the anchor that indels keep in place (see
:mod:`seqzoo.windows.fixed`). Forward-strand window, 0-based half-open, for the exon [s, e):
``[e - 80, e + 80)`` on '+' and ``[s - 80, s + 80)`` on '-' (the window split, where the exonic and
intronic halves meet, is ``e`` on '+' and ``s`` on '-'). An indel on the exonic side trims or pulls
in sequence at the window's 5' (exonic) end, one on the intronic side at its 3' end; a REF that
straddles the boundary is cut there (the inserted or remaining bases of the exonic part stay left
of index 80). The window is the genome as is: a short exon or intron lets the window reach into
the neighbouring intron or exon, as in Kipoi's HAL dataloader.

Exons come from the GTF's ``exon`` lines grouped by ``transcript_id`` (no ``transcript``/``gene``
lines needed); ``feature_id`` is ``<transcript_id>:donor<k>``, ``k`` counted from 1 at the
transcript's 5' end (the donor of its first exon is ``donor1``; on '-' the first exon is the one
with the highest coordinates). A donor shared by several transcripts (the same exon end on the same
strand, hence the same window) gives one row: ``feature_id`` and ``gene_id`` of the transcript that
appears first in the GTF, and the note column ``donor_ids`` listing every ``<transcript_id>:donor<k>``
that has this window (GTF order, comma-separated, the row's own ``feature_id`` first).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..genome.fasta import GenomeError
from ..genome.gtf import (KEYS, Transcript, check_contig_ends, distinct_exons, feature_id, feature_span, iter_gtf,
                          map_contigs)
from ..genome.names import ContigNames
from ..genome.vcf import VariantAllele
from .fixed import AnchoredWindow, AnchoredWindowRule

EXONIC = 80
INTRONIC = 80
WINDOW = EXONIC + INTRONIC
DONOR_ANCHOR = EXONIC        # model index of the first intronic base
NOTE_COLUMN = "donor_ids"
#: (reason, detail) of an allele outside every donor window
NO_FEATURE = ("not_in_donor_window", "the variant overlaps no 160-nt 5' splice-donor window (80 exonic + 80 intronic "
                                     "nt) of a multi-exon transcript")


def read_transcript_exons(path: str | os.PathLike, names: ContigNames) -> list[Transcript]:
    """Transcripts with all their exons (GTF ``exon`` lines), in the GTF's order of first appearance.

    Exons are sorted by position (0-based half-open); a repeated identical exon line is read once.
    Transcripts on contigs absent from the FASTA are dropped (the contig is reported once by name).
    Raises GenomeError for an exon without ``transcript_id``, a transcript on two contigs or strands,
    overlapping exons of one transcript on a FASTA contig (:func:`seqzoo.genome.gtf.distinct_exons`),
    or a GTF without exon lines; ContigMismatchError when no transcript is on a FASTA contig.
    """
    path = Path(path)
    table: dict[str, Transcript] = {}
    line_of: dict[tuple, int] = {}  # (transcript, start, end) -> the first line giving that exon
    for line_no, f, attrs in iter_gtf(path, ("exon",), KEYS):
        tid = feature_id(path, line_no, f, attrs, "transcript_id")
        start, end = feature_span(path, line_no, f)
        if f[6] not in ("+", "-"):
            raise GenomeError(f"GTF file {path}, line {line_no}: strand {f[6]!r} of exon of {tid} must be '+' or '-'")
        tx = table.get(tid)
        if tx is None:
            tx = table[tid] = Transcript(tid, attrs.get("gene_id", ""), attrs.get("gene_name", ""), f[0], f[0], f[6])
        elif tx.strand != f[6] or tx.gtf_chrom != f[0]:
            raise GenomeError(f"GTF file {path}, line {line_no}: transcript {tid} has exons on "
                              f"{tx.gtf_chrom}{tx.strand} and {f[0]}{f[6]}")
        tx.exons.append((start, end))
        line_of.setdefault((tid, start, end), line_no)
    if not table:
        raise GenomeError(f"GTF file {path} has no 'exon' lines: HAL's splice-donor windows come from the exons "
                          f"of each transcript_id")
    contigs = map_contigs(path, names, (tx.gtf_chrom for tx in table.values()))
    kept = []
    for tx in table.values():
        chrom = contigs[tx.gtf_chrom]
        if chrom is None:
            continue
        tx.exons = distinct_exons(path, tx, line_of, "exons", "its introns and splice donors would be wrong")
        tx.chrom = chrom
        kept.append(tx)
    check_contig_ends(path, names, [(tx.transcript_id, tx.chrom, tx.exons[-1][1]) for tx in kept], "transcripts")
    return kept


def donor_window(feature_id: str, gene_id: str, chrom: str, strand: str, exon_start: int, exon_end: int
                 ) -> AnchoredWindow:
    """The window of the donor of exon [exon_start, exon_end) (0-based half-open) on ``strand``."""
    boundary = exon_end if strand == "+" else exon_start   # forward position of the window split
    return AnchoredWindow(feature_id, gene_id, chrom, strand, boundary - WINDOW // 2, boundary + WINDOW // 2,
                          DONOR_ANCHOR)


def donor_windows(transcripts: list[Transcript]) -> tuple[list[AnchoredWindow], dict[str, str]]:
    """One window per distinct donor and, per window's ``feature_id``, its ``donor_ids`` note."""
    windows: list[AnchoredWindow] = []
    members: dict[tuple, list[str]] = {}
    for tx in transcripts:
        ordered = tx.exons if tx.strand == "+" else tx.exons[::-1]   # 5' -> 3' in transcript orientation
        for k, (s, e) in enumerate(ordered[:-1], start=1):
            w = donor_window(f"{tx.transcript_id}:donor{k}", tx.gene_id, tx.chrom, tx.strand, s, e)
            key = (w.chrom, w.strand, w.start)
            if key not in members:
                members[key] = []
                windows.append(w)
            members[key].append(w.feature_id)
    notes = {ids[0]: ",".join(ids) for ids in members.values()}
    return windows, notes


class DonorWindows(AnchoredWindowRule):
    """5' splice-donor windows of every multi-exon transcript; pairs carry the ``donor_ids`` note."""

    def __init__(self, genome, gtf_path, names):
        self.transcripts = read_transcript_exons(gtf_path, names)
        windows, self.donor_ids = donor_windows(self.transcripts)
        if not windows:
            raise GenomeError(f"GTF file {gtf_path} has no multi-exon transcript on a contig of the FASTA "
                              f"({len(self.transcripts)} transcripts with exon lines there): HAL scores 5' splice "
                              f"donors, the ends of all but the last exon of each transcript")
        super().__init__(genome, windows, NO_FEATURE)

    def window_extras(self, w):
        return None, {NOTE_COLUMN: self.donor_ids[w.feature_id]}

    def reference_window(self, feature_id: str):
        """As :meth:`AnchoredWindowRule.reference_window`; any ``<transcript>:donor<k>`` sharing the window
        names it."""
        own = next((first for first, ids in self.donor_ids.items() if feature_id in ids.split(",")), feature_id)
        return super().reference_window(own)


def donor_rule(genome, gtf_path, names) -> DonorWindows:
    return DonorWindows(genome, gtf_path, names)
