"""Reading a reference FASTA (0-based half-open fetches, always upper case).

A plain FASTA is read with pyfaidx; a bgzip-compressed one (BGZF, ``bgzip genome.fa``) with pysam,
which builds its ``.fai`` and ``.gzi`` indexes. A FASTA compressed with plain gzip cannot be read
at random positions and is refused with the command that fixes it.
"""
from __future__ import annotations

import bisect
import functools
import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Callable, NamedTuple

from ..encoding import LETTERS_TEXT, first_non_letter
from ..errors import SeqzooError
from .textfile import GZIP_MAGIC


def outside_contig(chrom: str, start: int, end: int, length: int) -> str:
    """Says how far 0-based half-open [start, end) reaches past contig ``chrom`` of ``length`` nt:
    ``chr1:[-401, 599) (0-based half-open) reaches 401 nt before the start of FASTA contig chr1 (length
    3000)`` (a window may reach past both ends; the FASTA's name, which a VCF or GTF may write otherwise)."""
    past = ([f"{-start} nt before the start"] if start < 0 else []) + \
        ([f"{end - length} nt past the end"] if end > length else [])
    return (f"{chrom}:[{start}, {end}) (0-based half-open) reaches {' and '.join(past) or 'no base past the ends'} "
            f"of FASTA contig {chrom} (length {length})")


class GenomeError(SeqzooError, ValueError):
    """A genome input file cannot be used; the message names the file and the fix."""


#: the empty BGZF block every complete bgzip file ends with (SAM/BAM spec, section 4.1.2)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def not_a_letter(path, chrom: str, char: str, position: int) -> "GenomeError":
    """The error for a FASTA character that is not a nucleotide letter at 0-based ``position``."""
    return GenomeError(f"FASTA file {path}, contig {chrom}: {char!r} at position {position + 1:,} (1-based) is not a "
                       f"nucleotide letter ({LETTERS_TEXT}): the file is damaged or not a genome sequence; fix or "
                       f"replace it")


def compression(path: str | os.PathLike) -> str | None:
    """``"bgzf"`` (bgzip), ``"gzip"`` (plain gzip) or None (not compressed), from the first bytes.

    A BGZF block is a gzip member with the extra subfield ``BC`` (SAM/BAM spec, section 4.1).
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:2] != GZIP_MAGIC:
            return None
        if len(head) < 12 or not head[3] & 4:  # FLG.FEXTRA
            return "gzip"
        extra = fh.read(struct.unpack("<H", head[10:12])[0])
    i = 0
    while i + 4 <= len(extra):
        size = struct.unpack("<H", extra[i + 2:i + 4])[0]
        if extra[i:i + 2] == b"BC" and size == 2:
            return "bgzf"
        i += 4 + size
    return "gzip"


class FaiRecord(NamedTuple):
    """One ``.fai`` line: sequence length, byte offset of its first base (in the uncompressed
    file), bases per line, bytes per line."""

    length: int
    offset: int
    linebases: int
    linewidth: int


def read_fai(path: Path) -> dict[str, FaiRecord]:
    """{contig: FaiRecord} from a ``.fai`` file (samtools faidx format)."""
    out = {}
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 5:
            out[fields[0]] = FaiRecord(*(int(x) for x in fields[1:5]))
    return out


def index_matches_file(records, read_at: Callable[[int, int], bytes], size: int) -> bool:
    """Whether ``records`` (:class:`FaiRecord`) describe the file: each contig's sequence starts
    right after a line end, with a base, and the last contig ends at the end of the file (allowing
    a final line end). ``read_at(offset, n)`` reads the (uncompressed) file, ``size`` is its size."""
    records = list(records)
    if not records:
        return True
    for rec in sorted(records, key=lambda r: r.offset):
        if rec.offset > size:
            return False
        two = read_at(max(rec.offset - 1, 0), 2)
        before, first = two[:1], two[1:2]
        if before != b"\n" or (rec.length and first in (b">", b"\n", b"")):
            return False
    last = max(records, key=lambda r: r.offset)
    full, rest = divmod(last.length, last.linebases) if last.linebases else (0, last.length)
    end = last.offset + full * last.linewidth + rest
    return end <= size <= end + (last.linewidth - last.linebases) + 1


class BgzfReader:
    """Random reads of a bgzip file's uncompressed bytes through its ``.gzi`` index (used to check
    that the indexes describe the file; sequences are fetched with pysam).

    ``.gzi``: a little-endian uint64 count, then (compressed offset, uncompressed offset) uint64
    pairs of block starts; the first block, (0, 0), is implicit. Raises ValueError for a ``.gzi``
    or a block that cannot be read.
    """

    def __init__(self, path: Path, gzi: Path):
        self.path = path
        data = gzi.read_bytes()
        if len(data) < 8:
            raise ValueError(f"{gzi} is too short")
        n = struct.unpack("<Q", data[:8])[0]
        if len(data) != 8 + 16 * n:
            raise ValueError(f"{gzi} holds {len(data)} bytes, not 8 + 16 x {n}")
        pairs = struct.unpack(f"<{2 * n}Q", data[8:])
        self.starts = [(0, 0)] + sorted(zip(pairs[1::2], pairs[0::2]))  # (uncompressed, compressed)
        self._cache: tuple[int, bytes, int] | None = None  # (compressed offset, payload, next offset)

    def _block(self, fh, coffset: int) -> tuple[bytes, int]:
        """The payload of the block at ``coffset`` and the next block's offset."""
        if self._cache is not None and self._cache[0] == coffset:
            return self._cache[1], self._cache[2]
        fh.seek(coffset)
        head = fh.read(12)
        if len(head) < 12 or head[:2] != GZIP_MAGIC or not head[3] & 4:
            raise ValueError(f"no BGZF block at byte {coffset}")
        extra = fh.read(struct.unpack("<H", head[10:12])[0])
        bsize = None
        i = 0
        while i + 4 <= len(extra):
            size = struct.unpack("<H", extra[i + 2:i + 4])[0]
            if extra[i:i + 2] == b"BC" and size == 2:
                bsize = struct.unpack("<H", extra[i + 4:i + 6])[0] + 1
            i += 4 + size
        if bsize is None:
            raise ValueError(f"no BGZF block at byte {coffset}")
        body = fh.read(bsize - 12 - len(extra))
        try:
            payload = zlib.decompress(body[:-8], -15)
        except zlib.error as exc:
            raise ValueError(f"corrupt BGZF block at byte {coffset}: {exc}") from None
        self._cache = (coffset, payload, coffset + bsize)
        return payload, coffset + bsize

    def read_at(self, offset: int, n: int) -> bytes:
        """Up to ``n`` uncompressed bytes from uncompressed ``offset``."""
        i = bisect.bisect_right(self.starts, (offset, float("inf"))) - 1
        u, c = self.starts[i]
        out = b""
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            while c < size and len(out) < n:
                payload, c = self._block(fh, c)
                if u + len(payload) > offset:
                    out += payload[max(offset - u, 0):]
                u += len(payload)
        return out[:n]

    def size(self) -> int:
        """The uncompressed size (blocks after the last ``.gzi`` entry are read)."""
        u, c = self.starts[-1]
        with open(self.path, "rb") as fh:
            end = os.fstat(fh.fileno()).st_size
            while c < end:
                payload, c = self._block(fh, c)
                u += len(payload)
        return u


class Genome:
    """A FASTA file with random access: plain (pyfaidx) or bgzip-compressed (pysam).

    A missing ``.fai`` index (and, for bgzip, ``.gzi``) is built next to the FASTA (a clear error if
    that folder is not writable); an index that no longer describes the FASTA is refused. A plain
    gzip FASTA is refused with the command to recompress it. Soft-masked (lower-case) sequence is
    returned upper case.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise GenomeError(f"FASTA file {self.path} does not exist")
        kind = compression(self.path)
        if kind == "gzip":
            raise GenomeError(f"FASTA file {self.path} is compressed with plain gzip, which cannot be read at random "
                              f"positions. Recompress it with bgzip (`gunzip -c {self.path} | bgzip > genome.fa.gz`, "
                              f"from htslib/samtools) or decompress it (`gunzip {self.path}`).")
        fai = Path(str(self.path) + ".fai")
        indexes = [fai] + ([Path(str(self.path) + ".gzi")] if kind == "bgzf" else [])
        missing = [p for p in indexes if not p.exists()]
        if missing and not os.access(self.path.parent, os.W_OK):
            raise GenomeError(f"FASTA file {self.path} has no index {' and '.join(p.name for p in missing)} and its "
                              f"folder is not writable, so seqzoo cannot build one. Run `samtools faidx {self.path}` "
                              f"where you can write, or copy the FASTA to a writable folder.")
        if kind == "bgzf":
            self._open_bgzf(fai, indexes[1], built=bool(missing))
        else:
            self._open_plain(fai)

    # -- plain FASTA: pyfaidx --------------------------------------------------------------------
    def _open_plain(self, fai: Path) -> None:
        import pyfaidx

        try:
            self._fasta = pyfaidx.Fasta(str(self.path), sequence_always_upper=True, as_raw=True)
        except Exception as exc:  # pyfaidx raises several types for malformed files
            raise GenomeError(f"Cannot read FASTA file {self.path}: {exc}. Check that it is an uncompressed "
                              f"(or bgzip-compressed) FASTA with a consistent line width, or rebuild its "
                              f".fai index (`samtools faidx`).") from exc
        records = {name: FaiRecord(rec.rlen, rec.offset, rec.lenc, rec.lenb)
                   for name, rec in self._fasta.faidx.index.items()}
        self.lengths: dict[str, int] = {name: rec.length for name, rec in records.items()}

        def read_at(offset: int, n: int) -> bytes:
            with open(self.path, "rb") as fh:
                fh.seek(offset)
                return fh.read(n)

        if not index_matches_file(records.values(), read_at, self.path.stat().st_size):
            raise GenomeError(f"FASTA index {fai} does not match FASTA file {self.path} (the FASTA changed after "
                              f"it was indexed). Delete {fai.name} (seqzoo rebuilds it) or run "
                              f"`samtools faidx {self.path}`.")
        self._fetch = lambda chrom, start, end: self._fasta[chrom][start:end]

    # -- bgzip FASTA: pysam ----------------------------------------------------------------------
    def _open_bgzf(self, fai: Path, gzi: Path, built: bool) -> None:
        import pysam

        with open(self.path, "rb") as fh:
            fh.seek(max(0, self.path.stat().st_size - len(BGZF_EOF)))
            if fh.read() != BGZF_EOF:
                raise GenomeError(f"FASTA file {self.path} is a truncated bgzip file (it lacks the BGZF end-of-file "
                                  f"block). Re-download it, or compress the plain FASTA again with `bgzip`.")
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise GenomeError(f"Cannot read FASTA file {self.path}: {exc}. Check that it is a bgzip-compressed "
                              f"FASTA with a consistent line width, or delete {fai.name} and {gzi.name} so that "
                              f"seqzoo rebuilds them (or run `samtools faidx {self.path}`).") from exc
        stale = GenomeError(f"FASTA index {fai} or {gzi} does not match FASTA file {self.path} (the FASTA changed "
                            f"after it was indexed). Delete {fai.name} and {gzi.name} (seqzoo rebuilds them) or run "
                            f"`samtools faidx {self.path}`.")
        records = read_fai(fai)
        if built:
            self._refuse_duplicate_names(len(records))
        try:
            reader = BgzfReader(self.path, gzi)
            matches = index_matches_file(records.values(), reader.read_at, reader.size())
        except (OSError, ValueError):
            matches = False
        if not matches or set(records) != set(self._fasta.references):
            self._fasta.close()
            raise stale
        self.lengths = {name: rec.length for name, rec in records.items()}
        self._fetch = lambda chrom, start, end: self._fasta.fetch(reference=chrom, start=start, end=end).upper()

    def _refuse_duplicate_names(self, indexed: int) -> None:
        """htslib indexes only the first of several sequences with one name (pyfaidx refuses such a
        FASTA): count the headers once, when the index is built."""
        names: dict[bytes, int] = {}
        with gzip.open(self.path, "rb") as fh:
            for line in fh:
                if line.startswith(b">"):
                    name = line[1:].split(None, 1)[0] if line[1:].strip() else b""
                    names[name] = names.get(name, 0) + 1
        twice = [n.decode(errors="replace") for n, k in names.items() if k > 1]
        if twice or sum(names.values()) != indexed:
            self._fasta.close()
            for p in (Path(str(self.path) + ".fai"), Path(str(self.path) + ".gzi")):
                p.unlink(missing_ok=True)
            raise GenomeError(f"Cannot read FASTA file {self.path}: sequence name(s) {', '.join(twice[:5])} appear "
                              f"more than once. Give every sequence its own name.")

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of ``chrom`` over 0-based half-open [start, end), upper case, forward strand.

        Raises GenomeError if the interval is outside the contig or holds a character that is not
        a nucleotide letter (:data:`seqzoo.encoding.LETTERS`).
        """
        length = self.lengths.get(chrom)
        if length is None:
            raise GenomeError(f"contig {chrom!r} is not in FASTA file {self.path}")
        if start > end:
            raise GenomeError(f"interval {chrom}:[{start}, {end}) (0-based half-open) of {self.path} ends before it "
                              f"starts")
        if start < 0 or end > length:
            raise GenomeError(f"{outside_contig(chrom, start, end, length)} of {self.path}")
        if start == end:
            return ""
        seq = self._fetch(chrom, start, end)
        at = first_non_letter(seq)
        if at >= 0:
            raise not_a_letter(self.path, chrom, seq[at], start + at)
        return seq

    @functools.cached_property
    def bases(self):
        """A :class:`~seqzoo.genome.bases.BaseReader` of this FASTA: many bases at once through its
        ``.fai`` and one memory map, shared by everything reading this genome that way (not
        ``usable`` for a bgzip FASTA)."""
        from .bases import BaseReader

        return BaseReader(self.path)

    def close(self):
        self._fasta.close()
