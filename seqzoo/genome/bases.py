"""Many single bases of a plain FASTA at once: numpy gathers through its ``.fai`` and a memory map
(the per-call cost of a FASTA library is the bottleneck when millions of REF alleles are checked)."""
from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32


class BaseReader:
    """Bases of an uncompressed, indexed FASTA by 0-based position, upper case (ASCII codes).

    ``usable`` is False for a compressed FASTA or one without a ``.fai`` (callers then fetch record by
    record). Positions must lie inside their contig.
    """

    def __init__(self, fasta: str | Path):
        self.path = Path(fasta)
        self.index: dict[str, tuple[int, int, int, int]] = {}
        self._data = None
        fai = Path(str(self.path) + ".fai")
        if str(self.path).endswith((".gz", ".bgz")) or not fai.is_file():
            return
        for line in fai.read_text().splitlines():
            f = line.split("\t")
            if len(f) >= 5:  # name, length, offset, bases per line, bytes per line
                self.index[f[0]] = (int(f[1]), int(f[2]), int(f[3]), int(f[4]))
        with open(self.path, "rb") as fh:
            try:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file
                return
        self._data = np.frombuffer(self._map, dtype=np.uint8)

    @property
    def usable(self) -> bool:
        return self._data is not None

    def codes(self, chrom: str, positions: np.ndarray) -> np.ndarray:
        """Upper-case ASCII codes (uint8) of ``chrom``'s bases at 0-based ``positions``."""
        _, offset, per_line, line_bytes = self.index[chrom]
        positions = np.asarray(positions, dtype=np.int64)
        # offset + (p // per_line) * line_bytes + p % per_line, with one integer division
        where = positions // per_line
        where *= line_bytes - per_line
        where += positions
        where += offset
        out = _UPPER[self._data[where]]
        if where.size:
            self._release(int(where.min()), int(where.max()) + 1)
        return out

    def _release(self, lo: int, hi: int) -> None:
        """Drop the mapped pages of bytes [lo, hi) from this process's resident set (the page cache
        keeps them). Without this, a VCF spread over the genome would leave every page of the FASTA
        it touched resident: up to the whole genome (3 GB for GRCh38) counted in the run's RSS."""
        start = lo - lo % mmap.PAGESIZE
        try:
            self._map.madvise(mmap.MADV_DONTNEED, start, hi - start)
        except (AttributeError, OSError, ValueError):  # no madvise on this platform: pages stay resident
            pass
