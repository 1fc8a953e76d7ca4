"""Reading a reference FASTA with pyfaidx (0-based half-open fetches, always upper case)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import SeqzooError


class GenomeError(SeqzooError, ValueError):
    """A genome input file cannot be used; the message names the file and the fix."""


class Genome:
    """A FASTA file with random access.

    A missing ``.fai`` index is built next to the FASTA (a clear error if that folder is not
    writable). Soft-masked (lower-case) sequence is returned upper case.
    """

    def __init__(self, path: str | os.PathLike):
        import pyfaidx

        self.path = Path(path)
        if not self.path.is_file():
            raise GenomeError(f"FASTA file {self.path} does not exist")
        fai = Path(str(self.path) + ".fai")
        if not fai.exists() and not os.access(self.path.parent, os.W_OK):
            raise GenomeError(f"FASTA file {self.path} has no index {fai.name} and its folder is not writable, so "
                              f"seqzoo cannot build one. Run `samtools faidx {self.path}` where you can write, or "
                              f"copy the FASTA to a writable folder.")
        if str(self.path).endswith(".gz"):
            # pyfaidx reads bgzip-compressed FASTA only; plain gzip fails with a cryptic error.
            try:
                import Bio  # noqa: F401  (pyfaidx needs biopython for bgzf)
            except ImportError as exc:
                raise GenomeError(f"FASTA file {self.path} is compressed; decompress it (`gunzip`) or install "
                                  f"biopython for bgzip-compressed FASTA") from exc
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), sequence_always_upper=True, as_raw=True)
        except Exception as exc:  # pyfaidx raises several types for malformed files
            raise GenomeError(f"Cannot read FASTA file {self.path}: {exc}. Check that it is an uncompressed "
                              f"(or bgzip-compressed) FASTA with a consistent line width, or rebuild its "
                              f".fai index (`samtools faidx`).") from exc
        self.lengths: dict[str, int] = {name: rec.rlen for name, rec in self._fasta.faidx.index.items()}
        if not str(self.path).endswith(".gz"):
            self._check_index(fai)

    def _check_index(self, fai: Path) -> None:
        """Refuse an index that does not describe this FASTA (it changed after indexing)."""
        if not self._index_matches_file():
            raise GenomeError(f"FASTA index {fai} does not match FASTA file {self.path} (the FASTA changed after "
                              f"it was indexed). Delete {fai.name} (seqzoo rebuilds it) or run "
                              f"`samtools faidx {self.path}`.")

    def _index_matches_file(self) -> bool:
        """Each contig's sequence starts right after a line end, with a base, and the last contig
        ends at the end of the file (allowing a final line end)."""
        index = self._fasta.faidx.index
        if not index:
            return True
        size = self.path.stat().st_size
        with open(self.path, "rb") as fh:
            for rec in index.values():
                if rec.offset > size:
                    return False
                fh.seek(max(rec.offset - 1, 0))
                before, first = fh.read(1), fh.read(1)
                if before != b"\n" or (rec.rlen and first in (b">", b"\n", b"")):
                    return False
        last = max(index.values(), key=lambda r: r.offset)
        full, rest = divmod(last.rlen, last.lenc) if last.lenc else (0, last.rlen)
        end = last.offset + full * last.lenb + rest
        return end <= size <= end + (last.lenb - last.lenc) + 1

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of ``chrom`` over 0-based half-open [start, end), upper case, forward strand.

        Raises GenomeError if the interval is outside the contig.
        """
        length = self.lengths.get(chrom)
        if length is None:
            raise GenomeError(f"contig {chrom!r} is not in FASTA file {self.path}")
        if start < 0 or end > length or start > end:
            raise GenomeError(f"interval {chrom}:{start}-{end} (0-based) is outside contig {chrom} "
                              f"(length {length}) of {self.path}")
        if start == end:
            return ""
        return self._fasta[chrom][start:end]

    def close(self):
        self._fasta.close()
