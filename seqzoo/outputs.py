"""Writing result tables incrementally: TSV, gzipped TSV, Parquet; and the skip report (TSV)."""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Sequence

import numpy as np

TABLE_SUFFIXES = (".tsv", ".tsv.gz", ".parquet", ".h5")
#: outputs that are the input VCF annotated with INFO fields (see :mod:`seqzoo.vcf_output`)
VCF_SUFFIXES = (".vcf.gz", ".vcf")


def table_format(path: str | os.PathLike, vcf: bool = False) -> str:
    """The output's format by suffix; ``vcf=True`` also accepts .vcf.gz / .vcf."""
    name = str(path)
    for suffix in TABLE_SUFFIXES + (VCF_SUFFIXES if vcf else ()):
        if name.endswith(suffix):
            return suffix
    allowed = TABLE_SUFFIXES + (VCF_SUFFIXES if vcf else ())
    raise ValueError(f"output {name} must end in {', '.join(allowed)}")


def _cell(value) -> str:
    if value is None:  # a column of another model (several models in one run)
        return ""
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".9g") if isinstance(value, np.float32) else format(float(value), ".12g")
    return str(value)


def open_table(path: str | os.PathLike, columns: Sequence[str], metadata_columns: Sequence[str] = (),
               string_columns: Sequence[str] = (), list_columns: Sequence[str] = ()):
    """A TSV / TSV.gz / Parquet :class:`TableWriter` or an :class:`Hdf5Writer` by suffix."""
    if str(path).endswith(".h5"):
        return Hdf5Writer(path, columns, metadata_columns)
    return TableWriter(path, columns, string_columns, list_columns)


class Hdf5Writer:
    """Rows to HDF5 in Kipoi's layout: ``metadata/<column>`` for the metadata columns and
    ``preds/<column>`` for the rest, one resizable dataset per column (strings UTF-8, numbers
    float64 or int64, per-position vectors 2-D). A column first seen empty (another model's,
    several models in one run) is filled with NaN / "" where it has no value.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], metadata_columns: Sequence[str] = ()):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns = list(columns)
        self.metadata = set(metadata_columns)
        self._h5 = h5py.File(self.path, "w")
        self._n = 0
        self._datasets: dict[str, object] = {}

    def _group(self, column: str) -> str:
        return ("metadata/" if column in self.metadata else "preds/") + column

    def _create(self, column: str, sample):
        import h5py

        if isinstance(sample, str):
            ds = self._h5.create_dataset(self._group(column), shape=(self._n,), maxshape=(None,),
                                         dtype=h5py.string_dtype(), chunks=True, fillvalue="")
        elif isinstance(sample, np.ndarray):
            ds = self._h5.create_dataset(self._group(column), shape=(self._n,) + sample.shape,
                                         maxshape=(None,) + sample.shape, dtype=np.float32, chunks=True,
                                         fillvalue=np.nan)
        elif isinstance(sample, (int, np.integer)) and not isinstance(sample, bool):
            ds = self._h5.create_dataset(self._group(column), shape=(self._n,), maxshape=(None,),
                                         dtype=np.int64, chunks=True, fillvalue=-1)
        else:
            ds = self._h5.create_dataset(self._group(column), shape=(self._n,), maxshape=(None,),
                                         dtype=np.float64, chunks=True, fillvalue=np.nan)
        self._datasets[column] = ds
        return ds

    def write(self, rows: Sequence[dict]) -> None:
        if not rows:
            return
        n0, n1 = self._n, self._n + len(rows)
        for column in self.columns:
            values = [r.get(column) for r in rows]
            present = [i for i, v in enumerate(values) if v is not None]
            ds = self._datasets.get(column)
            if ds is None:
                if not present:
                    continue
                ds = self._create(column, values[present[0]])
            ds.resize(n1, axis=0)
            if len(present) == len(values):
                ds[n0:n1] = np.asarray(values, dtype=ds.dtype) if ds.dtype.kind != "O" else values
            else:
                for i in present:
                    ds[n0 + i] = values[i]
        self._n = n1
        for ds in self._datasets.values():  # columns absent from this chunk
            if ds.shape[0] < self._n:
                ds.resize(self._n, axis=0)

    def close(self) -> None:
        for column in self.columns:  # never-filled columns still exist, all empty
            if column not in self._datasets:
                self._h5.create_dataset(self._group(column), shape=(self._n,), dtype=np.float64,
                                        fillvalue=np.nan)
        self._h5.close()


class TableWriter:
    """Writes rows (dicts) under fixed ``columns`` to ``path``, chunk by chunk.

    A TSV is flushed after every chunk, so a killed run leaves every written chunk readable.
    Parquet is written as one row group per chunk (readable only once closed).
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], string_columns: Sequence[str] = (),
                 list_columns: Sequence[str] = ()):
        self.path = Path(path)
        self.columns = list(columns)
        # Parquet types of columns that are empty in the first chunk (another model's, several
        # models in one run): strings, lists of floats, else float64
        self.string_columns, self.list_columns = set(string_columns), set(list_columns)
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
            self._schema = pa.schema([f if not pa.types.is_null(f.type) else pa.field(f.name, self._type_of(f.name))
                                      for f in table.schema])
            self._parquet = pq.ParquetWriter(str(self.path), self._schema)
        if table is not None:
            self._parquet.write_table(table.cast(self._schema))

    def _type_of(self, column: str):
        import pyarrow as pa
        if column in self.list_columns:
            return pa.list_(pa.float64())
        return pa.string() if column in self.string_columns else pa.float64()

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
