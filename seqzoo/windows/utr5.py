"""5'UTR windows (Framepool), with the Kipoi/kipoiseq ``SingleVariantUTRDataLoader`` semantics.

A transcript's 5'UTR is its 5'UTR exons (see :func:`seqzoo.genome.gtf.read_utr5_transcripts`)
joined in genomic order and reverse-complemented on '-', i.e. in transcript orientation 5'->3',
ending right before the start codon. A variant is applied inside the exon that holds its whole
REF; the alt 5'UTR changes length with indels. Every transcript whose 5'UTR holds the variant gives
one row. Deviations from kipoiseq: a REF that overlaps a 5'UTR exon but extends beyond it (into an
intron or the CDS) is skipped with ``crosses_utr_exon_boundary`` instead of being clipped to the
exon; N in the FASTA is kept (kipoiseq's reverse complement crashes on it).
"""
from __future__ import annotations

import functools

import numpy as np

from ..encoding import reverse_complement, reverse_complements
from ..genome.fasta import Genome, outside_contig
from ..genome.gtf import SegmentIndex, Transcript, read_utr5_transcripts
from ..genome.names import ContigNames
from ..genome.vcf import VariantAllele
from ..table import as_text_column, text_column
from .base import BlockSegments, FeatureSkip, WindowPair, apply_allele
from .cache import SequenceCache
from .fixed import WindowPastContigEnd

#: (reason, detail) of an allele outside every 5'UTR exon
NO_FEATURE = ("not_in_5utr", "the variant overlaps no 5'UTR exon in the GTF")


class Utr5Windows:
    """Window rule: allele -> one :class:`WindowPair` per transcript whose 5'UTR holds its REF."""

    def __init__(self, genome: Genome, gtf_path, names: ContigNames):
        self.genome = genome
        self.transcripts: list[Transcript] = read_utr5_transcripts(gtf_path, names)
        self.index = SegmentIndex((tx.chrom, s, e, (ti, ei))
                                  for ti, tx in enumerate(self.transcripts)
                                  for ei, (s, e) in enumerate(tx.exons))
        # reference sequences, bounded (a GENCODE-size GTF has ~100,000 5'UTRs)
        self._exon_seqs: SequenceCache[list[str]] = SequenceCache(size=lambda seqs: sum(map(len, seqs)) + 64)
        self._ref_utrs: SequenceCache[str] = SequenceCache()

    def exon_sequences(self, ti: int) -> list[str]:
        """Forward-strand sequences of transcript ``ti``'s 5'UTR exons (cached).

        Raises :class:`~seqzoo.windows.fixed.WindowPastContigEnd` when an exon leaves its contig (a
        GTF of another assembly); a FASTA error (e.g. a character that is not a nucleotide letter)
        stays a GenomeError."""
        tx = self.transcripts[ti]

        def read() -> list[str]:
            past = self._exon_past_contig_end(tx)
            if past is not None:
                _, s, e, length = past
                raise WindowPastContigEnd(f"{outside_contig(tx.chrom, s, e, length)} of {self.genome.path}")
            return [self.genome.fetch(tx.chrom, s, e) for s, e in tx.exons]
        return self._exon_seqs.get(ti, read)

    def _exon_past_contig_end(self, tx: Transcript) -> tuple[int, int, int, int] | None:
        """(index, start, end, contig length) of the first of ``tx``'s 5'UTR exons that leaves its
        contig, or None."""
        length = self.genome.lengths[tx.chrom]
        return next(((k, s, e, length) for k, (s, e) in enumerate(tx.exons) if s < 0 or e > length), None)

    def utr_sequence(self, ti: int, exon_seqs: list[str] | None = None) -> str:
        """Transcript ``ti``'s 5'UTR in transcript orientation, from ``exon_seqs`` (forward strand,
        genomic order) or, by default, from the reference (cached)."""
        if exon_seqs is None:
            return self._ref_utrs.get(ti, lambda: self._orient(ti, "".join(self.exon_sequences(ti))))
        return self._orient(ti, "".join(exon_seqs))

    def _orient(self, ti: int, forward: str) -> str:
        return reverse_complement(forward) if self.transcripts[ti].strand == "-" else forward

    def windows(self, allele: VariantAllele, chrom: str) -> tuple[list[WindowPair], list[FeatureSkip]]:
        hits = self.index.overlapping(chrom, allele.start, allele.end)
        pairs, skips = [], []
        by_tx: dict[int, list[int]] = {}
        for _, _, (ti, ei) in hits:
            by_tx.setdefault(ti, []).append(ei)
        for ti in sorted(by_tx):
            tx = self.transcripts[ti]
            exon_ids = by_tx[ti]
            s, e = tx.exons[exon_ids[0]]
            if len(exon_ids) > 1 or allele.start < s or allele.end > e:
                skips.append(FeatureSkip(tx.transcript_id, "crosses_utr_exon_boundary",
                                         f"REF {allele.chrom}:{allele.start}-{allele.end} is not inside one 5'UTR "
                                         f"exon of {tx.transcript_id} (exon {allele.chrom}:{s}-{e}; both 0-based, "
                                         f"half-open)"))
                continue
            try:
                exon_seqs = self.exon_sequences(ti)
            except WindowPastContigEnd as exc:  # an annotated exon past the contig end (GTF of another assembly)
                skips.append(FeatureSkip(tx.transcript_id, "window_past_contig_end", str(exc)))
                continue
            alt_exons = list(exon_seqs)
            alt_exons[exon_ids[0]] = apply_allele(exon_seqs[exon_ids[0]], s, allele)
            pairs.append(WindowPair(allele, tx.transcript_id, tx.gene_id, tx.strand,
                                    self.utr_sequence(ti), self.utr_sequence(ti, alt_exons),
                                    ref_key=tx.transcript_id))
        return pairs, skips

    # -- the block path (seqzoo.windowing.FastIndex) ------------------------------------------------
    def block_segments(self) -> BlockSegments:
        """Every 5'UTR exon is a segment of its transcript, ranked by transcript (the per-allele path's
        row order); the exons of a transcript with an exon past its contig end are not usable."""
        seg = self._exon_segments
        return BlockSegments(seg["chrom"], seg["start"], seg["end"], seg["feature"], seg["usable"], seg["feature"])

    @functools.cached_property
    def _exon_segments(self) -> dict:
        """Every 5'UTR exon, transcript by transcript in genomic order: ``chrom``, ``start``, ``end``,
        ``feature`` (transcript index), ``usable``, ``offset`` (its start in the joined exons),
        ``total`` (its transcript's 5'UTR length) and ``minus`` (on '-'?), arrays by segment."""
        chrom, start, end, feature, offset, usable = [], [], [], [], [], []
        total = np.zeros(len(self.transcripts), dtype=np.int64)
        for ti, tx in enumerate(self.transcripts):
            length = self.genome.lengths.get(tx.chrom, -1)
            inside = all(0 <= s and e <= length for s, e in tx.exons)
            for s, e in tx.exons:  # genomic order
                chrom.append(tx.chrom)
                start.append(s)
                end.append(e)
                feature.append(ti)
                offset.append(total[ti])
                usable.append(inside)
                total[ti] += e - s
        feature = np.asarray(feature, dtype=np.int64)
        minus = np.fromiter((tx.strand == "-" for tx in self.transcripts), bool, len(self.transcripts))
        return {"chrom": chrom, "start": np.asarray(start, dtype=np.int64), "end": np.asarray(end, dtype=np.int64),
                "feature": feature, "usable": np.asarray(usable, dtype=bool),
                "offset": np.asarray(offset, dtype=np.int64), "total": total[feature], "minus": minus[feature]}

    def block_edits(self, seg: np.ndarray, vs: np.ndarray, ve: np.ndarray, alts, codes=None,
                    contig_length: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The edits of alleles inside 5'UTR exons, as :meth:`windows` gives them, for many at once.

        Row i: REF at forward [vs[i], ve[i]) inside exon segment ``seg[i]``, ALT ``alts[i]`` (forward
        strand; a ``str`` column, a list or any array of str). Returns (starts, ends, replacements (a ``str`` column),
        usable): REF's span in the 5'UTR in transcript
        orientation and ALT in that orientation (the alt 5'UTR changes length with indels); every
        row is usable. ``codes`` and ``contig_length`` are not needed (nothing is pulled in)."""
        segments = self._exon_segments
        seg_start, seg_offset, total, minus = (segments[k][seg] for k in ("start", "offset", "total", "minus"))
        forward = seg_offset + (vs - seg_start)  # REF's start in the joined exons, forward strand
        starts = np.where(minus, total - forward - (ve - vs), forward)
        out = as_text_column(alts).copy()
        turn = np.flatnonzero(minus)
        if turn.size:
            out[turn] = text_column(reverse_complements(out[turn].tolist()))
        return starts, starts + (ve - vs), out, np.ones(len(seg), dtype=bool)

    def block_reference(self, ti: int) -> str:
        """Transcript ``ti``'s reference 5'UTR in transcript orientation."""
        return self.utr_sequence(ti)

    def block_row(self, ti: int) -> tuple[str, str, str, None, None]:
        """(feature_id, gene_id, strand, inputs, notes) of transcript ``ti``'s rows."""
        tx = self.transcripts[ti]
        return tx.transcript_id, tx.gene_id, tx.strand, None, None

    def feature_ids(self) -> list[str]:
        return [tx.transcript_id for tx in self.transcripts]

    def reference_window(self, feature_id: str):
        """The :class:`~seqzoo.windows.base.ReferenceWindow` of transcript ``feature_id``'s 5'UTR (None
        if unknown): its exons joined, 5'->3' in transcript orientation, each base's genome position.

        Raises :class:`~seqzoo.windows.fixed.WindowPastContigEnd` when an exon leaves its contig."""
        from .base import ReferenceWindow

        ti = next((i for i, tx in enumerate(self.transcripts) if tx.transcript_id == feature_id), None)
        if ti is None:
            return None
        tx = self.transcripts[ti]
        past = self._exon_past_contig_end(tx)
        if past is not None:  # (score_vcf skips its variants as window_past_contig_end)
            k, s, e, length = past
            raise WindowPastContigEnd(f"5'UTR exon {k + 1} of {len(tx.exons)} {outside_contig(tx.chrom, s, e, length)}")
        positions = np.concatenate([np.arange(s, e, dtype=np.int64) for s, e in tx.exons])
        return ReferenceWindow(tx.transcript_id, tx.gene_id, tx.chrom, tx.strand, self.utr_sequence(ti),
                               positions if tx.strand == "+" else positions[::-1].copy())

    def spans(self) -> list[tuple[str, int, int]]:
        """Every 5'UTR exon, (FASTA contig, start, end) 0-based half-open: an allele whose REF overlaps
        none of them gets no window and no feature skip."""
        return [(tx.chrom, s, e) for tx in self.transcripts for s, e in tx.exons]

    @staticmethod
    def no_feature_reason() -> tuple[str, str]:
        return NO_FEATURE
