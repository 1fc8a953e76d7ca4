"""Writing result tables incrementally: TSV, gzipped TSV, Parquet, HDF5; and the skip report (TSV).

Every writer can be checkpointed and resumed: :meth:`checkpoint` flushes and returns a small
JSON-able state; a writer opened with ``resume=state`` cuts the file back to that state (dropping
whatever a killed run wrote after it) and appends; :meth:`suspend` cuts back to the last
checkpoint and closes without finishing the file, so that ``--resume`` can go on from it.
"""
from __future__ import annotations

import gzip
import os
import shutil
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
               string_columns: Sequence[str] = (), list_columns: Sequence[str] = (), resume: dict | None = None):
    """A TSV / TSV.gz / Parquet :class:`TableWriter` or an :class:`Hdf5Writer` by suffix."""
    if str(path).endswith(".h5"):
        return Hdf5Writer(path, columns, metadata_columns, resume=resume)
    return TableWriter(path, columns, string_columns, list_columns, resume=resume)


def parts_dir(path: str | os.PathLike) -> Path:
    """Where a Parquet output lives while it is written: ``OUT.parts/part-NNNNNN.parquet``."""
    return Path(str(path) + ".parts")


def part_file(path: str | os.PathLike, i: int) -> Path:
    """The ``i``-th (0-based) chunk of the Parquet output ``path`` in :func:`parts_dir`."""
    return parts_dir(path) / f"part-{i:06d}.parquet"


class Hdf5Writer:
    """Rows to HDF5 in Kipoi's layout: ``metadata/<column>`` for the metadata columns and
    ``preds/<column>`` for the rest, one resizable dataset per column (strings UTF-8, numbers
    float64 or int64, per-position vectors 2-D). A column first seen empty (another model's,
    several models in one run) is filled with NaN / "" where it has no value. The file is flushed
    after every chunk; ``resume={"rows": n}`` reopens it and cuts every dataset back to n rows.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], metadata_columns: Sequence[str] = (),
                 resume: dict | None = None):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns = list(columns)
        self.metadata = set(metadata_columns)
        self._datasets: dict[str, object] = {}
        self._n = 0
        if resume is None:
            self._h5 = h5py.File(self.path, "w")
        else:
            check_resume_state(self.path, resume)
            try:
                self._h5 = h5py.File(self.path, "a")
                self._n = int(resume["rows"])
                for column in self.columns:
                    if self._group(column) in self._h5:
                        self._datasets[column] = self._h5[self._group(column)]
                self._cut(self._n)
            except (OSError, RuntimeError, KeyError) as exc:
                raise ValueError(f"cannot resume: the HDF5 output {self.path} is damaged ({exc}); start again "
                                 f"without --resume") from exc
        self._saved = self._n

    def _cut(self, n: int) -> None:
        if n and not self._datasets:
            raise ValueError(f"{self.path} has no datasets but should hold {n} rows")
        for column, ds in list(self._datasets.items()):
            if ds.shape[0] < n:
                raise ValueError(f"{self.path}: dataset {ds.name} has {ds.shape[0]} rows, the progress note "
                                 f"says {n}; the file was changed after the run stopped")
            ds.resize(n, axis=0)
        self._n = n

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

    def checkpoint(self) -> dict:
        try:
            self._h5.flush()
        except RuntimeError as exc:  # h5py's way of saying the disk is full
            raise OSError(f"writing {self.path} failed: {exc}") from exc
        self._saved = self._n
        return {"rows": self._n}

    def suspend(self, state: dict | None = None) -> None:
        """Cut back to ``state`` (default: the last checkpoint) and close (best effort: this runs
        after a failure, which may be the file's own)."""
        try:
            self._cut(int(state["rows"]) if state else self._saved)
        except (OSError, RuntimeError, ValueError):
            pass
        finally:
            try:
                self._h5.close()
            except (OSError, RuntimeError):
                pass

    def close(self) -> None:
        for column in self.columns:  # never-filled columns still exist, all empty
            if column not in self._datasets:
                self._h5.create_dataset(self._group(column), shape=(self._n,), dtype=np.float64,
                                        fillvalue=np.nan)
        self._h5.close()


class TableWriter:
    """Writes rows (dicts) under fixed ``columns`` to ``path``, chunk by chunk.

    TSV: flushed after every chunk, so a killed run leaves every written chunk readable.
    TSV.gz: one gzip member per chunk (a valid multi-member gzip file after every chunk).
    Parquet: one file per chunk in :func:`parts_dir` (each readable; the folder reads as one
    dataset), joined into ``path`` (one row group per chunk) by :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], string_columns: Sequence[str] = (),
                 list_columns: Sequence[str] = (), resume: dict | None = None):
        self.path = Path(path)
        self.columns = list(columns)
        # Parquet types of columns that are empty in the first chunk (another model's, several
        # models in one run): strings, lists of floats, else float64
        self.string_columns, self.list_columns = set(string_columns), set(list_columns)
        self.format = table_format(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._schema = None
        if self.format == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise ImportError("Parquet output needs pyarrow: pip install 'seqzoo[parquet]'") from exc
            self._fh = None
            self._parts = parts_dir(self.path)
            self._n_parts = 0
            if resume is None:
                shutil.rmtree(self._parts, ignore_errors=True)
                self._parts.mkdir(parents=True)
            else:
                check_resume_state(self.path, resume)
                self._n_parts = int(resume["parts"])
                self._drop_parts_from(self._n_parts)
                if self._n_parts:
                    import pyarrow.parquet as pq
                    self._schema = pq.read_schema(self._part(0))
            self.path.unlink(missing_ok=True)
            self._saved = self._n_parts
        else:
            if resume is None:
                self._fh = open(self.path, "wb")
                self._put("\t".join(self.columns) + "\n")
            else:
                check_resume_state(self.path, resume)
                self._fh = open(self.path, "r+b")
                self._fh.truncate(resume["bytes"])
                self._fh.seek(resume["bytes"])
            self._saved = self._fh.tell()

    def _put(self, text: str) -> None:
        data = text.encode()
        self._fh.write(gzip.compress(data, compresslevel=6, mtime=0) if self.format == ".tsv.gz" else data)
        self._fh.flush()

    def write(self, rows: Sequence[dict]) -> None:
        if self.format == ".parquet":
            self._write_parquet(rows)
        elif rows:
            self._put("".join("\t".join(_cell(row.get(c)) for c in self.columns) + "\n" for row in rows))

    def _part(self, i: int) -> Path:
        return part_file(self.path, i)

    def _drop_parts_from(self, first: int) -> None:
        for part in self._parts.glob("part-*.parquet"):
            if int(part.stem.split("-")[1]) >= first:
                part.unlink()

    def _write_parquet(self, rows: Sequence[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows:
            return
        table = pa.table({c: [_py(r.get(c)) for r in rows] for c in self.columns})
        if self._schema is None:
            self._schema = pa.schema([f if not pa.types.is_null(f.type) else pa.field(f.name, self._type_of(f.name))
                                      for f in table.schema])
        pq.write_table(table.cast(self._schema), str(self._part(self._n_parts)))
        self._n_parts += 1

    def _type_of(self, column: str):
        import pyarrow as pa
        if column in self.list_columns:
            return pa.list_(pa.float64())
        return pa.string() if column in self.string_columns else pa.float64()

    def checkpoint(self) -> dict:
        """Everything written so far is on disk; the state to resume from."""
        if self.format == ".parquet":
            self._saved = self._n_parts
            return {"parts": self._n_parts}
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._saved = self._fh.tell()
        return {"bytes": self._saved}

    def suspend(self, state: dict | None = None) -> None:
        """Cut back to ``state`` (default: the last checkpoint) and close, leaving the file
        resumable (Parquet: the parts)."""
        if self.format == ".parquet":
            self._drop_parts_from(int(state["parts"]) if state else self._saved)
        else:
            self._fh.truncate(int(state["bytes"]) if state else self._saved)
            self._fh.close()

    def close(self) -> None:
        if self.format != ".parquet":
            self._fh.close()
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        tmp = self.path.with_name(self.path.name + ".tmp")  # OUT appears whole or not at all
        if self._schema is None:  # no rows at all: still write a file with the columns
            pq.write_table(pa.table({c: pa.array([], type=pa.string()) for c in self.columns}), str(tmp))
        else:
            with pq.ParquetWriter(str(tmp), self._schema) as out:
                for i in range(self._n_parts):
                    out.write_table(pq.read_table(self._part(i)))
        os.replace(tmp, self.path)
        shutil.rmtree(self._parts, ignore_errors=True)


def check_resume_state(path: str | os.PathLike, state: dict) -> None:
    """Refuse (ValueError) to resume ``path`` from a progress note's ``state`` that its files no
    longer match; checked for every file before any is cut back."""
    path = Path(path)
    again = "; start again without --resume"
    if "bytes" in state:
        if not path.is_file():
            raise ValueError(f"cannot resume: {path} is gone{again}")
        if path.stat().st_size < state["bytes"]:
            raise ValueError(f"cannot resume: {path} has {path.stat().st_size} bytes, the progress note says "
                             f"{state['bytes']}: the file was changed after the run stopped{again}")
    elif "parts" in state:
        missing = [part_file(path, i).name for i in range(int(state["parts"])) if not part_file(path, i).is_file()]
        if missing:
            raise ValueError(f"cannot resume: {parts_dir(path)} lacks {', '.join(missing[:3])}"
                             f"{' ...' if len(missing) > 3 else ''}{again}")
    elif "rows" in state and not path.is_file():
        raise ValueError(f"cannot resume: {path} is gone{again}")


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
