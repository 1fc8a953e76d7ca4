"""Opening input files that may be plain or gzip/bgzip-compressed (VCF, GTF/GFF3, BED, chromAlias).

The compression is read from the first two bytes (the gzip magic ``1f 8b``), not from the file name,
so ``variants.vcf`` that is really bgzipped, or ``annotation.gtf.gz`` that is really plain, both read.
A bgzip file is a series of gzip members, so :func:`gzip.open` reads it whole.
"""
from __future__ import annotations

import gzip
import os

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: str | os.PathLike) -> bool:
    """Whether the file starts with the gzip magic (gzip or bgzip)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_text(path: str | os.PathLike, mode: str = "rt", **kwargs):
    """``path`` opened for reading, decompressed if it is gzip or bgzip (see :func:`is_gzip`).

    ``mode``: ``"rt"`` (text; ``kwargs`` such as ``encoding``, ``errors``, ``newline`` go to the
    text layer, as for :func:`open`) or ``"rb"`` (bytes)."""
    if mode not in ("rt", "rb"):
        raise ValueError(f"open_text: mode must be 'rt' or 'rb', not {mode!r}")
    if is_gzip(path):
        return gzip.open(path, mode, **kwargs)
    return open(path, mode, **kwargs)
