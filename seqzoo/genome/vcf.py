"""Reading VCF records (plain or bgzipped), one :class:`VariantAllele` per ALT; seqzoo parses the text itself
(the same parser for every path), cyvcf2 only writes the annotated VCF."""
from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .fasta import BGZF_EOF, GenomeError
from .textfile import GZIP_MAGIC, open_text

if TYPE_CHECKING:
    import numpy as np

_ACGT = frozenset("ACGT")


def is_symbolic(alt: str) -> bool:
    """A symbolic (``<DEL>``) or breakend (``G]chr1:200]``) ALT: no sequence to apply."""
    return alt.startswith("<") or "[" in alt or "]" in alt


@dataclass(frozen=True)
class VariantAllele:
    """One ALT allele of one VCF record.

    ``pos`` is the VCF's 1-based POS; :attr:`start` / :attr:`end` give REF's 0-based half-open span
    on the forward strand. ``record`` is the 1-based index of the record among the VCF's records
    and ``alt_index`` the 0-based index of this ALT in the record's ALT list.
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    vcf_id: str | None
    record: int
    alt_index: int

    @property
    def start(self) -> int:
        return self.pos - 1

    @property
    def end(self) -> int:
        return self.pos - 1 + len(self.ref)

    @property
    def variant_id(self) -> str:
        """The VCF ID, or ``chrom:pos:ref>alt`` when the ID is '.'."""
        return self.vcf_id if self.vcf_id else f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"

    def allele_problem(self) -> tuple[str, str] | None:
        """(reason, detail) if this allele cannot be applied to a sequence, else None."""
        alt = self.alt
        if alt in (".", ""):
            return "no_alt_allele", "the record has no ALT allele ('.')"
        if alt == "*":
            return "spanning_deletion_alt", "ALT '*' (allele missing due to an upstream deletion)"
        if is_symbolic(alt):
            return "symbolic_alt", f"symbolic or breakend ALT {alt!r} cannot be applied to a sequence"
        if not set(self.ref) <= _ACGT:
            return "non_acgt_allele", f"REF {self.ref!r} contains a base other than A/C/G/T"
        if not set(alt) <= _ACGT:
            return "non_acgt_allele", f"ALT {alt!r} contains a base other than A/C/G/T"
        return None


def check_compressed(path: Path) -> None:
    """Refuse a truncated gzip/bgzip file before htslib reads it (htslib can crash on one).

    A bgzip file must end with the BGZF EOF block; a plain-gzip file is decompressed once to
    check that it is whole.
    """
    import gzip
    import zlib

    with open(path, "rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            return
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - len(BGZF_EOF)))
        if fh.read() == BGZF_EOF:
            return
    try:
        with gzip.open(path, "rb") as gz:
            while gz.read(1 << 22):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise GenomeError(f"VCF file {path} is a truncated or corrupt gzip file ({exc}). Re-download or "
                          f"re-create it (`bgzip` it again from the plain VCF).") from exc


def header_lines(path: str | os.PathLike) -> list[str]:
    """The '#' lines at the top of a (plain or gzipped) VCF, without line ends."""
    lines = []
    with open_text(path, "rb") as fh:
        for line in fh:
            if not line.startswith(b"#"):
                break
            lines.append(line.decode(errors="replace").rstrip("\r\n"))
    return lines


def first_record_contig(path: str | os.PathLike) -> str | None:
    """CHROM of the first record of a (plain or gzipped) VCF, or None (no record, or unreadable:
    reading the VCF says why)."""
    import zlib

    try:
        with open_text(path, "rb") as fh:
            for line in fh:
                if not line.startswith(b"#") and line.strip():
                    return line.split(b"\t", 1)[0].decode(errors="replace").strip()
    except (OSError, EOFError, zlib.error):
        return None
    return None


_CONTIG_LINE = re.compile(r"^##contig=<(.*)>$")
_ID = re.compile(r"(?:^|,)ID=([^,>]+)")
_LENGTH = re.compile(r"(?:^|,)length=(\d+)")


def header_contigs(path: str | os.PathLike) -> dict[str, int | None]:
    """{contig: length, or None where not given} from the VCF header's ``##contig=<ID=..>`` lines, in
    their order; {} when the header has none or cannot be read (:func:`iter_alleles` then says why)."""
    import zlib

    try:
        lines = header_lines(path)
    except (OSError, EOFError, zlib.error):
        return {}
    out = {}
    for line in lines:
        m = _CONTIG_LINE.match(line)
        if m:
            cid, length = _ID.search(m.group(1)), _LENGTH.search(m.group(1))
            if cid:
                out[cid.group(1)] = int(length.group(1)) if length else None
    return out


@dataclass
class RecordBlock:
    """Consecutive VCF records as parallel columns, as written (REF and ALT not yet upper-cased).

    ``first_record``: the 1-based number of the first record; ``pos``: 1-based POS (int64 array);
    ``ids``: the ID column (None for '.'); ``alt``: the ALT column ('A', 'A,T', '<DEL>', '.').
    """

    first_record: int
    chrom: list
    pos: "np.ndarray"
    ids: list
    ref: list
    alt: list

    def __len__(self) -> int:
        return len(self.chrom)

    def alleles(self, i: int) -> list:
        """The :class:`VariantAllele` objects of the block's ``i``-th record."""
        alt_field = self.alt[i]
        alts = alt_field.split(",") if alt_field not in (".", "") else ["."]
        ref = self.ref[i].upper()
        record = self.first_record + i
        return [VariantAllele(self.chrom[i], int(self.pos[i]), ref, alt if is_symbolic(alt) else alt.upper(),
                              self.ids[i], record, k) for k, alt in enumerate(alts)]


def iter_record_blocks(path: str | os.PathLike, block_size: int = 8192) -> Iterator[RecordBlock]:
    """The records of a VCF (plain or bgzipped) in file order, ``block_size`` at a time.

    Raises GenomeError for a missing or truncated file, a file without the ``#CHROM`` header line,
    and a record with fewer than 8 columns, a POS that is not a positive integer or an empty REF
    (naming the file, the record number and the line).
    """
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise GenomeError(f"VCF file {path} does not exist")
    check_compressed(path)
    with open_text(path, encoding="utf-8", errors="replace", newline="") as fh:
        line_no = 0
        for line in fh:  # the header
            line_no += 1
            if line.startswith("#CHROM"):
                break
            if line.startswith("#") or not line.strip():
                continue
            raise GenomeError(f"Cannot read VCF file {path}: line {line_no} is a record before the '#CHROM' header "
                              f"line. Is it a VCF (plain or bgzipped) with a '#CHROM POS ID REF ALT QUAL FILTER "
                              f"INFO' header line?")
        else:
            raise GenomeError(f"Cannot read VCF file {path}: no '#CHROM' header line. Is it a VCF (plain or "
                              f"bgzipped) with a '#CHROM POS ID REF ALT QUAL FILTER INFO' header line?")
        record = 0
        while True:
            lines = list(itertools.islice(fh, block_size))
            if not lines:
                return
            fields = [x.split("\t", 7) for x in lines]
            error = None
            # a blank (whitespace-only) line has fewer than 8 columns or an all-whitespace first column, so
            # only blocks with one of those (among their distinct CHROMs) are checked line by line
            if min(map(len, fields)) < 8 or any(not c.strip() for c in {f[0] for f in fields}):
                fields, error = _check_lines(path, fields, lines, record, line_no)  # blank lines out
            if fields:
                chrom, pos, ids, ref, alt = _columns(fields)
                try:
                    pos = np.array(pos, dtype=np.int64)
                except ValueError:
                    pos = None
                if pos is None or not all(ref) or (pos < 0).any():  # the records before the bad one, then the error
                    k, what = _first_bad(fields)
                    if k:
                        yield _block(record, fields[:k])
                    raise _malformed(path, record + k + 1, line_no + _line_of(lines, k), what)
                yield RecordBlock(record + 1, chrom, pos, [None if x == "." else x for x in ids], ref, alt)
                record += len(fields)
            if error is not None:
                raise error
            line_no += len(lines)


def _columns(fields: list) -> tuple[list, list, list, list, list]:
    """The CHROM, POS, ID, REF and ALT columns of split records, as lists (one comprehension per
    column: ~3x faster than transposing every field with ``zip(*fields)``)."""
    return ([f[0] for f in fields], [f[1] for f in fields], [f[2] for f in fields], [f[3] for f in fields],
            [f[4] for f in fields])


def _block(record: int, fields: list) -> RecordBlock:
    import numpy as np

    chrom, pos, ids, ref, alt = _columns(fields)
    return RecordBlock(record + 1, chrom, np.array(pos, dtype=np.int64), [None if x == "." else x for x in ids],
                       ref, alt)


def _first_bad(fields) -> tuple[int, str]:
    """(index, what) of the first record whose POS or REF cannot be read."""
    for k, f in enumerate(fields):
        try:
            p = int(f[1])
        except ValueError:
            return k, f"POS {f[1]!r} is not an integer"
        if p < 0 or not f[3]:
            return k, f"POS {f[1]} REF {f[3]!r}"
    raise AssertionError("no bad record found")


def _line_of(lines: list, k: int) -> int:
    """1-based offset in ``lines`` of the ``k``-th non-blank line."""
    seen = -1
    for offset, line in enumerate(lines, start=1):
        if line.strip():
            seen += 1
            if seen == k:
                return offset
    return len(lines)


def _malformed(path, record: int, line_no: int, what: str, columns: bool = False) -> GenomeError:
    """The error for a record that cannot be read: ``columns``, it has fewer than 8 columns (the
    message then says what a record holds and asks whether the file is truncated)."""
    if columns:
        fix = ("malformed record, expected 8+ tab-separated columns (CHROM POS ID REF ALT QUAL FILTER INFO). Is "
               "the file truncated?")
    else:
        fix = "malformed record: POS must be an integer (1-based) and REF not empty; fix or remove the record"
    return GenomeError(f"VCF file {path}, record {record} (line {line_no}: error parsing variant: {what}): {fix}")


def _check_lines(path, fields, lines, record: int, line_no: int) -> tuple[list, GenomeError | None]:
    """The fields of a block's non-blank lines up to the first line with too few columns, and the
    error for that line (None when every line has 8+ columns)."""
    kept = []
    for k, (f, line) in enumerate(zip(fields, lines)):
        if not line.strip():
            continue
        if len(f) < 8:
            return kept, _malformed(path, record + len(kept) + 1, line_no + k + 1,
                                    f"{len(f)} columns, contig {f[0].rstrip()!r}", columns=True)
        kept.append(f)
    return kept, None


def iter_alleles(path: str | os.PathLike) -> Iterator[VariantAllele]:
    """Yield every ALT of every record in file order; a record with ALT '.' yields one allele '.'.

    Alleles are upper-cased (symbolic and breakend ALTs are kept as written). Raises GenomeError for
    an unreadable file (see :func:`iter_record_blocks`).
    """
    for block in iter_record_blocks(path):
        for i in range(len(block)):
            yield from block.alleles(i)
