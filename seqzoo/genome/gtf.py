"""Reading GTF annotations (Ensembl or GENCODE style, plain or gzipped) into transcript models.

A GFF3 file (Ensembl's or GENCODE's) is read too: :func:`iter_gtf` recognises it (a
``##gff-version 3`` header, or ``key=value`` attributes) and reads it through
:mod:`seqzoo.genome.gff3`, which gives the same lines a GTF of the same annotation gives.

GTF (and GFF3) coordinates are 1-based closed; everything returned here is 0-based half-open.
"""
from __future__ import annotations

import bisect
import functools
import logging
import operator
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .fasta import GenomeError
from .names import ALIAS_FIX, ContigMismatchError, ContigNames, some_names
from .textfile import open_text

log = logging.getLogger("seqzoo.genome")

_ATTR = re.compile(r'(\S+)\s+"([^"]*)"')
_GFF3_ATTR = re.compile(r'^\s*[^\s=;"]+=')

#: the attributes the readers here use (``transcript_id`` and ``gene_id`` are also the ids of
#: :func:`read_spans`' two levels)
KEYS = ("transcript_id", "gene_id", "gene_name")

#: feature types read as 5'UTR exons directly (Ensembl; UCSC genePredToGtf writes "5UTR")
FIVE_PRIME_UTR_TYPES = ("five_prime_utr", "5UTR")


@dataclass
class Transcript:
    """A transcript and some of its exonic segments (``exons``: sorted 0-based half-open spans).

    ``chrom`` is the FASTA's contig name; ``gtf_chrom`` the name as written in the GTF.
    """

    transcript_id: str
    gene_id: str
    gene_name: str
    chrom: str
    gtf_chrom: str
    strand: str
    exons: list[tuple[int, int]] = field(default_factory=list)


def annotation_format(path: Path) -> str:
    """``"gff3"`` for a file with a ``##gff-version 3`` header or whose first feature line has
    ``key=value`` attributes, else ``"gtf"`` (a file that is neither fails as a GTF, by line)."""
    with open_text(path) as fh:
        for line in fh:
            if line.startswith("##gff-version"):
                return "gff3" if line.split()[1:2] and line.split()[1].startswith("3") else "gtf"
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n\r").split("\t")
            if len(fields) == 9 and not _ATTR.search(fields[8]) and _GFF3_ATTR.match(fields[8]):
                return "gff3"
            return "gtf"
    return "gtf"


def iter_gtf(path: str | os.PathLike, feature_types: Iterable[str], keys: Iterable[str] | None = None
             ) -> Iterator[tuple[int, list[str], dict]]:
    """Yield (line number, 9 fields, attributes) for GTF lines whose feature type is wanted.

    ``keys``: the attributes the caller reads (None: all). Each of them is in the dict exactly when
    and as a parse of the whole column has it (:func:`gtf_attributes`); read no other key then.
    A GFF3 file yields the lines a GTF of the same annotation would (:mod:`seqzoo.genome.gff3`).
    """
    path = Path(path)
    if not path.is_file():
        raise GenomeError(f"GTF file {path} does not exist")
    wanted = set(feature_types)
    try:
        if annotation_format(path) == "gff3":
            from .gff3 import iter_gff3
            yield from iter_gff3(path, wanted)
            return
        with open_text(path) as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.rstrip("\n\r").split("\t")
                if len(fields) != 9:
                    raise GenomeError(f"GTF file {path}, line {line_no}: expected 9 tab-separated columns, "
                                      f"found {len(fields)}. Is this a GTF or GFF3 file (not BED)?")
                if fields[2] not in wanted:
                    continue
                attrs = dict(_ATTR.findall(fields[8])) if keys is None else gtf_attributes(fields[8], keys)
                yield line_no, fields, attrs
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise GenomeError(f"Cannot read GTF file {path}: {exc}") from exc


def gtf_attributes(text: str, keys: Sequence[str]) -> dict[str, str]:
    """The ``key "value"`` pairs of a GTF attribute column as ``dict(_ATTR.findall(text))`` gives
    them (a key given twice: its last value) for the keys ``keys``, scanning only up to the second
    quote after the last place any of them occurs.

    Why that is the same for ``keys``: a pair for key k starts where k occurs, so at or before that
    last place; it ends at its closing quote, which is one of the next two quotes when the last
    occurrence is in its own key or inside a pair's value (a value holds no quote). A scan
    stopped at ``endpos`` finds exactly the pairs of the whole scan that end by then: one crossing
    it would need two quotes before it. Pairs further on are left out, so another key may be
    missing or hold an earlier value of its own. GENCODE's ids and names come first of ~17 pairs."""
    last = max(map(text.rfind, keys))
    if last < 0:
        return {}
    opening = text.find('"', last)
    closing = text.find('"', opening + 1) if opening >= 0 else -1
    return dict(_ATTR.findall(text, 0, closing + 1 if closing >= 0 else len(text)))


def map_contigs(path: Path, names: ContigNames, gtf_chroms: Iterable[str]) -> dict[str, str | None]:
    """{GTF contig: FASTA contig, or None} for the contigs of the features read.

    Each unmatched contig is reported once (a warning, and the run summary's unmatched contigs);
    when none matches, :class:`ContigMismatchError` names the GTF, some of its contigs and of the
    FASTA's, what was tried and the fix.
    """
    chroms = list(dict.fromkeys(gtf_chroms))
    found = {c: names.resolve(c, "GTF", report=False) for c in chroms}
    if chroms and not any(found.values()):
        raise ContigMismatchError(
            f"GTF file {path}: none of its contigs matches a contig of {names.fasta_label()} (GTF: "
            f"{some_names(chroms)}; FASTA: {some_names(names.fasta_order)}; {names.rules_tried()}), so no feature "
            f"could be scored. The GTF is for another assembly or names contigs another way: {ALIAS_FIX}, or the FASTA "
            f"the GTF was made for.")
    for chrom in chroms:
        names.resolve(chrom, "GTF")  # unmatched ones (and matches by case only) reported once, by name
    return found


def check_contig_ends(path: Path, names: ContigNames, extents: Sequence[tuple[str, str, int]], what: str) -> None:
    """Features that reach past the end of their FASTA contig (``extents``: (id, FASTA contig, end:
    0-based exclusive = 1-based last base) of each ``what``, e.g. "genes"), which no GTF of the
    FASTA's assembly has: :class:`ContigMismatchError` when all do (nothing could be scored), else a
    warning naming how many and the first (alleles whose windows reach past the end are skipped as
    window_past_contig_end)."""
    lengths = names.lengths
    past = [(fid, chrom, end) for fid, chrom, end in extents if chrom in lengths and end > lengths[chrom]]
    if not past:
        return
    fid, chrom, end = past[0]
    text = (f"GTF file {path}: {len(past):,} of its {len(extents):,} {what} on FASTA contigs reach past the end of "
            f"their contig (e.g. {fid} ends at {chrom}:{end:,}, 1-based, but FASTA contig {chrom} has "
            f"{lengths[chrom]:,} nt)")
    if len(past) == len(extents):
        raise ContigMismatchError(f"{text}, so none could be scored. The GTF is for another assembly than the FASTA "
                                  f"(e.g. GRCh37 vs GRCh38), or the FASTA is truncated: give the GTF made for the "
                                  f"FASTA's assembly, or the FASTA the GTF was made for.")
    log.warning("%s: the GTF is probably for another assembly than the FASTA (e.g. GRCh37 vs GRCh38), or the FASTA is "
                "truncated; alleles whose windows reach past a contig's end are skipped as window_past_contig_end",
                text)


def feature_id(path: Path, line_no: int, fields: list[str], attrs: dict, key: str) -> str:
    """The ``key`` attribute (e.g. ``transcript_id``) of a GTF line, or a GenomeError naming the line."""
    value = attrs.get(key)
    if value is None:
        raise GenomeError(f"GTF file {path}, line {line_no}: {fields[2]} feature without a {key} attribute")
    return value


def feature_span(path: Path, line_no: int, fields: list[str]) -> tuple[int, int]:
    """0-based half-open [start, end) of a GTF line (1-based closed columns 4-5), validated."""
    try:
        start, end = int(fields[3]) - 1, int(fields[4])
    except ValueError:
        raise GenomeError(f"GTF file {path}, line {line_no}: start/end {fields[3]!r}/{fields[4]!r} are not "
                          f"integers") from None
    if end <= start:
        raise GenomeError(f"GTF file {path}, line {line_no}: {fields[2]} ends ({fields[4]}) before it starts "
                          f"({fields[3]})")
    return start, end


def read_utr5_transcripts(path: str | os.PathLike, names: ContigNames) -> list[Transcript]:
    """Transcripts with their 5'UTR exons, in the GTF's order of first appearance.

    Uses ``five_prime_utr`` (or ``5UTR``) features when the file has any; otherwise GENCODE-style
    ``UTR`` features lying 5' of the transcript's CDS in transcript orientation (left of the CDS
    start on '+', right of the CDS end on '-'). Transcripts on contigs absent from the FASTA are
    dropped (the contig is reported once by name). Exons are sorted by position, a repeated identical
    line read once (:func:`distinct_exons`). Raises GenomeError if no 5'UTR is found or two 5'UTR exons
    of a transcript on a FASTA contig overlap, and :class:`ContigMismatchError` if no transcript is on a
    FASTA contig.
    """
    path = Path(path)
    direct: dict[str, Transcript] = {}
    generic: dict[str, Transcript] = {}
    cds: dict[str, tuple[int, int]] = {}
    line_of: dict[tuple, int] = {}  # (transcript, start, end) -> the first line giving that exon
    for line_no, f, attrs in iter_gtf(path, FIVE_PRIME_UTR_TYPES + ("UTR", "CDS"), KEYS):
        tid = feature_id(path, line_no, f, attrs, "transcript_id")
        start, end = feature_span(path, line_no, f)
        if f[2] == "CDS":
            lo, hi = cds.get(tid, (start, end))
            cds[tid] = (min(lo, start), max(hi, end))
            continue
        if f[6] not in "+-" or len(f[6]) != 1:
            raise GenomeError(f"GTF file {path}, line {line_no}: strand {f[6]!r} of {f[2]} feature of {tid} "
                              f"must be '+' or '-'")
        table = direct if f[2] in FIVE_PRIME_UTR_TYPES else generic
        tx = table.get(tid)
        if tx is None:
            tx = table[tid] = Transcript(tid, attrs.get("gene_id", ""), attrs.get("gene_name", ""),
                                         f[0], f[0], f[6])
        elif tx.strand != f[6] or tx.gtf_chrom != f[0]:
            raise GenomeError(f"GTF file {path}, line {line_no}: transcript {tid} has features on "
                              f"{tx.gtf_chrom}{tx.strand} and {f[0]}{f[6]}")
        tx.exons.append((start, end))
        line_of.setdefault((tid, start, end), line_no)
    if direct:
        transcripts = list(direct.values())
    else:
        transcripts = []
        for tid, tx in generic.items():
            if tid not in cds:
                continue  # a UTR of a transcript without CDS cannot be classified 5' or 3'
            cds_start, cds_end = cds[tid]
            tx.exons = [(s, e) for s, e in tx.exons if (e <= cds_start if tx.strand == "+" else s >= cds_end)]
            if tx.exons:
                transcripts.append(tx)
    if not transcripts:
        raise GenomeError(f"GTF file {path} has no 5'UTR: looked for features of type "
                          f"{' / '.join(FIVE_PRIME_UTR_TYPES)} and for GENCODE 'UTR' features 5' of a 'CDS' "
                          f"of the same transcript_id. Use an Ensembl or GENCODE GTF with UTR annotation.")
    contigs = map_contigs(path, names, (tx.gtf_chrom for tx in transcripts))
    kept = []
    for tx in transcripts:
        chrom = contigs[tx.gtf_chrom]
        if chrom is None:
            continue
        tx.exons = distinct_exons(path, tx, line_of, "5'UTR exons", "its 5'UTR would hold the overlap twice")
        tx.chrom = chrom
        kept.append(tx)
    check_contig_ends(path, names, [(tx.transcript_id, tx.chrom, tx.exons[-1][1]) for tx in kept], "5'UTRs")
    return kept


def distinct_exons(path: Path, tx: Transcript, line_of: dict, what: str, why: str) -> list[tuple[int, int]]:
    """The exons of ``tx`` sorted by position (0-based half-open), a repeated identical line read
    once (a 5'UTR would otherwise hold that exon twice). GenomeError naming the file, both lines
    (``line_of``: (transcript_id, start, end) -> line number) and the transcript where two of them
    overlap (``what``: the features, e.g. "5'UTR exons"; ``why``: what the overlap would do)."""
    exons = sorted(set(tx.exons))
    for (s0, e0), (s1, e1) in zip(exons, exons[1:]):
        if s1 < e0:
            tid = tx.transcript_id
            raise GenomeError(f"GTF file {path}, lines {line_of[(tid, s0, e0)]} and {line_of[(tid, s1, e1)]}: {what} "
                              f"{tx.gtf_chrom}:{s0 + 1}-{e0} and {s1 + 1}-{e1} (1-based) of transcript {tid} overlap; "
                              f"{why}. Correct or remove one of these lines (each exon once, as in Ensembl and "
                              f"GENCODE annotations)")
    return exons


def _pick(values: Sequence, rows: list[int]) -> list:
    """``[values[i] for i in rows]`` (rows not empty)."""
    return [values[rows[0]]] if len(rows) == 1 else list(operator.itemgetter(*rows)(values))


class SegmentIndex:
    """Overlap queries over many (chrom, start, end, payload) segments, 0-based half-open."""

    def __init__(self, segments: Iterable[tuple[str, int, int, object]]):
        by_chrom: dict[str, list[tuple[int, int, object]]] = defaultdict(list)
        for chrom, start, end, payload in segments:
            by_chrom[chrom].append((start, end, payload))
        self._starts: dict[str, list[int]] = {}
        self._items: dict[str, list[tuple[int, int, object]]] = {}
        self._max_len: dict[str, int] = {}
        for chrom, items in by_chrom.items():
            items.sort(key=lambda t: (t[0], t[1]))
            self._items[chrom] = items
            self._starts[chrom] = [s for s, _, _ in items]
            self._max_len[chrom] = max(e - s for s, e, _ in items)

    @classmethod
    def from_columns(cls, chroms: Sequence[str], starts: Sequence[int], ends: Sequence[int]) -> "SegmentIndex":
        """The index of segments given as columns (lists of contig names and of int starts and
        ends), each segment's payload its row number: the same index as
        ``SegmentIndex(zip(chroms, starts, ends, range(n)))``, sorted with numpy (one stable sort
        per contig instead of a sort of tuples); the int objects of ``starts`` and ``ends`` are
        shared, not copied."""
        import numpy as np

        from ..ragged import rows_by_value

        self = cls.__new__(cls)
        self._starts, self._items, self._max_len = {}, {}, {}
        start = np.fromiter(starts, np.int64, len(starts))
        end = np.fromiter(ends, np.int64, len(ends))
        for chrom, rows in rows_by_value(chroms).items():
            rows = rows[np.lexsort((end[rows], start[rows]))]  # by (start, end), ties in row order
            order = rows.tolist()
            s, e = _pick(starts, order), _pick(ends, order)
            self._starts[chrom] = s
            self._items[chrom] = list(zip(s, e, order))
            self._max_len[chrom] = int((end[rows] - start[rows]).max())
        return self

    def overlapping(self, chrom: str, start: int, end: int) -> list[tuple[int, int, object]]:
        """Segments overlapping [start, end); a zero-length query [p, p) matches segments holding p."""
        starts = self._starts.get(chrom)
        if not starts:
            return []
        end = max(end, start + 1)
        lo = bisect.bisect_left(starts, start - self._max_len[chrom] + 1)
        hi = bisect.bisect_left(starts, end)
        return [it for it in self._items[chrom][lo:hi] if it[1] > start]


@dataclass(frozen=True)
class Span:
    """A transcript or gene: 0-based half-open [start, end) on FASTA contig ``chrom``."""

    feature_id: str
    gene_id: str
    gene_name: str
    chrom: str
    strand: str
    start: int
    end: int


def read_spans(path: str | os.PathLike, names: ContigNames, level: str) -> list[Span]:
    """Transcripts (``level='transcript'``) or genes (``level='gene'``) with their extents.

    Uses the GTF's own ``transcript`` / ``gene`` lines when it has any; otherwise the extent of the
    ``exon`` lines sharing the ID. Spans on contigs absent from the FASTA are dropped (reported once
    by name). Order: first appearance in the GTF. Raises GenomeError if nothing is found, and
    :class:`ContigMismatchError` if nothing is on a FASTA contig. The file
    is parsed once per (file, level, ``names``): the five Xpresso models of one run share it.
    """
    if level not in ("transcript", "gene"):
        raise ValueError(f"level must be 'transcript' or 'gene', not {level!r}")
    p = Path(path)
    if not p.is_file():
        raise GenomeError(f"GTF file {p} does not exist")
    st = p.stat()
    return list(_read_spans_once(str(p), st.st_size, st.st_mtime_ns, names, level))


@functools.lru_cache(maxsize=8)
def _read_spans_once(path: str, size: int, mtime_ns: int, names: ContigNames, level: str) -> tuple[Span, ...]:
    return tuple(_read_spans(path, names, level))


def _read_spans(path: str | os.PathLike, names: ContigNames, level: str) -> list[Span]:
    path = Path(path)
    id_key = f"{level}_id"
    own: dict[str, list] = {}
    from_exons: dict[str, list] = {}
    for line_no, f, attrs in iter_gtf(path, (level, "exon"), KEYS):  # (KEYS holds id_key)
        fid = feature_id(path, line_no, f, attrs, id_key)
        start, end = feature_span(path, line_no, f)
        if f[6] not in ("+", "-"):
            raise GenomeError(f"GTF file {path}, line {line_no}: strand {f[6]!r} of {fid} must be '+' or '-'")
        table = own if f[2] == level else from_exons
        rec = table.get(fid)
        if rec is None:
            table[fid] = [fid, attrs.get("gene_id", ""), attrs.get("gene_name", ""), f[0], f[6], start, end]
        else:
            if rec[3] != f[0] or rec[4] != f[6]:
                raise GenomeError(f"GTF file {path}, line {line_no}: {level} {fid} has features on "
                                  f"{rec[3]}{rec[4]} and {f[0]}{f[6]}")
            rec[5], rec[6] = min(rec[5], start), max(rec[6], end)
    table = own or from_exons
    if not table:
        raise GenomeError(f"GTF file {path} has no {level}s: looked for '{level}' lines and for 'exon' lines "
                          f"with a {id_key} attribute")
    contigs = map_contigs(path, names, (rec[3] for rec in table.values()))
    spans = []
    for fid, gene_id, gene_name, gtf_chrom, strand, start, end in table.values():
        chrom = contigs[gtf_chrom]
        if chrom is not None:
            spans.append(Span(fid, gene_id, gene_name, chrom, strand, start, end))
    check_contig_ends(path, names, [(s.feature_id, s.chrom, s.end) for s in spans], f"{level}s")
    return spans
