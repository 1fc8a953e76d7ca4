"""Writing result tables incrementally: TSV, gzipped TSV, Parquet; and the skip report (TSV)."""
from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path
from typing import Sequence

import numpy as np

TABLE_SUFFIXES = (".tsv", ".tsv.gz", ".parquet")


def table_format(path: str | os.PathLike) -> str:
    name = str(path)
    for suffix in TABLE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"output {name} must end in {', '.join(TABLE_SUFFIXES)}")


def _cell(value) -> str:
    if value is None:  # a column of another model (several models in one run)
        return ""
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".9g") if isinstance(value, np.float32) else format(float(value), ".12g")
    return str(value)


class TableWriter:
    """Writes rows (dicts) under fixed ``columns`` to ``path``, chunk by chunk.

    A TSV is flushed after every chunk, so a killed run leaves every written chunk readable.
    Parquet is written as one row group per chunk (readable only once closed).
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.format = table_format(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._parquet = None
        if self.format == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise ImportError("Parquet output needs pyarrow: pip install 'seqzoo[parquet]'") from exc
            self._fh = None
        else:
            self._fh = gzip.open(self.path, "wt", newline="") if self.format == ".tsv.gz" else \
                open(self.path, "w", newline="")
            self._fh.write("\t".join(self.columns) + "\n")
            self._fh.flush()

    def write(self, rows: Sequence[dict]) -> None:
        if self.format == ".parquet":
            self._write_parquet(rows)
            return
        for row in rows:
            self._fh.write("\t".join(_cell(row.get(c)) for c in self.columns) + "\n")
        self._fh.flush()

    def _write_parquet(self, rows: Sequence[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: [_py(r.get(c)) for r in rows] for c in self.columns}) if rows else None
        if self._parquet is None:
            if table is None:
                return
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(str(self.path), self._schema)
        if table is not None:
            self._parquet.write_table(table.cast(self._schema))

    def close(self) -> None:
        if self.format == ".parquet":
            if self._parquet is None:  # no rows at all: still write a file with the columns
                import pyarrow as pa
                import pyarrow.parquet as pq
                pq.write_table(pa.table({c: pa.array([], type=pa.string()) for c in self.columns}), str(self.path))
            else:
                self._parquet.close()
        else:
            self._fh.close()


def _py(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def default_skip_path(out: str | os.PathLike) -> Path:
    """``OUT.skipped.tsv`` next to the output ``OUT``."""
    return Path(str(out) + ".skipped.tsv")


def default_summary_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".summary.json")
