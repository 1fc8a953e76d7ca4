"""Writing result tables chunk by chunk: TSV, gzipped TSV, Parquet, HDF5 (and, in
:mod:`seqzoo.vcf_output`, the annotated VCF), all behind one interface over column batches
(:class:`seqzoo.table.Table`):

* ``write(table, through_record=None)``: append a chunk of rows (``through_record``: the last VCF
  record the stream has passed, for writers that copy records, i.e. the VCF);
* ``checkpoint(sync=True)``: everything written is handed to the operating system (with
  ``sync``, a TSV file is also fsynced; HDF5 is flushed, Parquet parts are whole files); returns a
  small JSON-able state (None for a writer that cannot be resumed); ``sync()``: the same sync
  without a state (OSError when the file system reports a lost write);
* ``suspend(state)``: cut back to ``state`` and close without finishing (``--resume`` goes on
  from it); ``close()``: finish the file; ``abort()``: remove a partial output.

A writer opened with ``resume=state`` cuts the file back to that state (dropping whatever a killed
run wrote after it) and appends. The schema (columns, kinds, per-position shapes) is fixed when
the writer opens: it never depends on the data (a model without rows still has its columns).
Per-position outputs stay numpy arrays until the file format takes them.
"""
from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import SeqzooError, UsageError
from .table import Column, Table, text_column

TABLE_SUFFIXES = (".tsv", ".tsv.gz", ".parquet", ".h5")
#: outputs that are the input VCF annotated with INFO fields (see :mod:`seqzoo.vcf_output`)
VCF_SUFFIXES = (".vcf.gz", ".vcf")


class ResumeError(SeqzooError, ValueError):
    """An output that cannot be resumed from its progress note."""


class MissingDependencyError(SeqzooError, ImportError):
    """An optional package a requested feature needs is not installed (the message says how to get it)."""


def table_format(path: str | os.PathLike, vcf: bool = False) -> str:
    """The output's format by suffix; ``vcf=True`` also accepts .vcf.gz / .vcf."""
    name = str(path)
    for suffix in TABLE_SUFFIXES + (VCF_SUFFIXES if vcf else ()):
        if name.endswith(suffix):
            return suffix
    allowed = TABLE_SUFFIXES + (VCF_SUFFIXES if vcf else ())
    raise UsageError(f"output {name} must end in {', '.join(allowed)}")


def has_vectors(path: str | os.PathLike) -> bool:
    """Whether the output format holds per-position outputs (Parquet, HDF5)."""
    return str(path).endswith((".parquet", ".h5"))


def open_table(path: str | os.PathLike, columns: Sequence[Column | str], metadata_columns: Sequence[str] = (),
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


# -- schemas ------------------------------------------------------------------------------------
def _legacy_column(name: str, value, string_columns, list_columns) -> Column:
    """The kind of a column given by name only, from a value of it (or the hints)."""
    if isinstance(value, np.ndarray) and value.ndim:
        return Column(name, str(value.dtype) if value.dtype.kind == "f" else "float64", value.shape)
    if name in list_columns:
        return Column(name, "float32", (0,))
    if name in string_columns or isinstance(value, str):
        return Column(name, "str")
    if isinstance(value, (bool, np.bool_)):
        return Column(name, "int")
    if isinstance(value, (int, np.integer)):
        return Column(name, "int")
    if isinstance(value, np.float32):
        return Column(name, "float32")
    return Column(name, "float64")


class _Schema:
    """A writer's columns: Column objects, or names whose kinds the first chunk of row dicts gives."""

    def __init__(self, columns: Sequence[Column | str], string_columns=(), list_columns=()):
        self.names = [c.name if isinstance(c, Column) else c for c in columns]
        self.columns = [c for c in columns if isinstance(c, Column)]
        if len(self.columns) != len(self.names):
            self.columns = None  # names only: kinds from the data
        self._hints = (set(string_columns), set(list_columns))

    def table(self, rows) -> Table:
        """A Table of ``rows`` (a Table already, or row dicts)."""
        if isinstance(rows, Table):
            return rows
        rows = list(rows)
        if self.columns is None:
            first = {}
            for r in rows:
                for k, v in r.items():
                    if v is not None and k not in first:
                        first[k] = v
            self.columns = [_legacy_column(n, first.get(n), *self._hints) for n in self.names]
        if any(c.shape for c in self.columns):
            return _rows_with_vectors(rows, self.columns)
        return Table.from_rows(rows, self.columns)


def _rows_with_vectors(rows, columns: Sequence[Column]) -> Table:
    scalar = [c for c in columns if not c.shape]
    table = Table.from_rows(rows, scalar)
    for c in columns:
        if c.shape:
            values = [r.get(c.name) for r in rows]
            present = np.array([v is not None for v in values])
            arr = np.stack([np.asarray(v, np.float64) if v is not None else np.full(_shape_of(values), np.nan)
                            for v in values]) if values else np.empty((0,) + c.shape)
            table.columns[c.name] = arr
            if not present.all():
                table.present[c.name] = present
    table.columns = {c.name: table.columns[c.name] for c in columns}
    return table


def _shape_of(values) -> tuple:
    return next(np.shape(v) for v in values if v is not None)


# -- TSV ----------------------------------------------------------------------------------------
def _cell_format(arr: np.ndarray) -> str:
    """printf format of a column's cells: text, integer, 9 (float32) or 12 (float64) significant digits."""
    if arr.dtype == object:
        return "%s"
    if arr.dtype.kind in "iub":
        return "%d"
    return "%.9g" if arr.dtype == np.float32 else "%.12g"


#: columns of at least this many rows whose values repeat in runs (at most one run start per
#: RUN_SHARE values) are formatted once per run (:func:`_formatted_runs`)
RUN_MIN_ROWS = 64
RUN_SHARE = 2


def _text_cells(arr: np.ndarray, mask: np.ndarray | None) -> tuple[str, np.ndarray]:
    """(printf format, cells as a 1-d object array) of a column for :func:`tsv_lines`: the values
    themselves (Python objects), or text already formatted where some cells are absent (empty text)
    or the values repeat in runs."""
    fmt = _cell_format(arr)
    if mask is not None:
        values = arr.tolist() if arr.dtype != object else list(arr)
        return "%s", text_column([fmt % v if m else "" for v, m in zip(values, mask)])
    if arr.dtype == object:
        return fmt, arr
    runs = _formatted_runs(arr, fmt)
    return ("%s", runs) if runs is not None else (fmt, arr.astype(object))


def _formatted_runs(arr: np.ndarray, fmt: str) -> np.ndarray | None:
    """The cells of a 1-d integer, bool, float32 or float64 column formatted with ``fmt``, each run
    of bit-equal values once (a reference score repeated on every row of its window; -0.0 and 0.0
    are not equal here), or None where runs are too few to pay (or the column is short or of
    another dtype)."""
    native = arr.dtype.kind in "iub" or arr.dtype in (np.float32, np.float64)  # not float16, long double
    if arr.ndim != 1 or arr.size < RUN_MIN_ROWS or not native:
        return None
    bits = arr.view(f"u{arr.itemsize}") if arr.dtype.kind == "f" else arr
    first = np.flatnonzero(np.concatenate([[True], bits[1:] != bits[:-1]]))  # run starts
    if RUN_SHARE * first.size > arr.size:
        return None
    text = np.empty(first.size, dtype=object)
    text[:] = [fmt % v for v in arr[first].tolist()]
    return text.repeat(np.diff(np.append(first, arr.size)))


def tsv_lines(table: Table, names: Sequence[str]) -> str:
    """The rows of ``table`` as TSV text (columns ``names``; absent cells empty): one printf of a
    row template repeated ``table.n`` times over every cell in row order (the cells gathered
    column by column into an (n, columns) object array)."""
    if not table.n:
        return ""
    fmts = []
    cells = np.empty((table.n, len(names)), dtype=object)
    for j, name in enumerate(names):
        fmt, cells[:, j] = _text_cells(table.columns[name], table.present.get(name))
        fmts.append(fmt)
    row = "\t".join(fmts) + "\n"
    return (row * table.n) % tuple(cells.reshape(-1).tolist())


def render_tsv(table: Table, names: Sequence[str], gzipped: bool) -> bytes:
    """The bytes a TSV (``gzipped``: .tsv.gz, one gzip member) writer puts in its file for ``table``
    (:func:`tsv_lines`, UTF-8)."""
    return _tsv_bytes(tsv_lines(table, names), gzipped)


def _tsv_bytes(text: str, gzipped: bool) -> bytes:
    data = text.encode()
    return gzip.compress(data, compresslevel=6, mtime=0) if gzipped else data


# -- writers ------------------------------------------------------------------------------------
class Hdf5Writer:
    """Rows to HDF5 in Kipoi's layout: ``metadata/<column>`` for the metadata columns and
    ``preds/<column>`` for the rest, one resizable dataset per column, all created when the file
    opens: strings UTF-8, integers int64 (absent: -1), scalar floats float64 (absent: NaN),
    per-position outputs float32 of their declared shape. The file is flushed after every chunk;
    ``resume={"rows": n}`` reopens it and cuts every dataset back to n rows.
    """

    resumable = True

    def __init__(self, path: str | os.PathLike, columns: Sequence[Column | str], metadata_columns: Sequence[str] = (),
                 resume: dict | None = None):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._schema = _Schema(columns)
        self.columns = self._schema.names
        self.metadata = set(metadata_columns) | {c.name for c in self._schema.columns or () if c.metadata}
        self._datasets: dict[str, object] = {}
        self._n = 0
        if resume is None:
            self._h5 = h5py.File(self.path, "w")
            if self._schema.columns is not None:
                for col in self._schema.columns:
                    self._create(col)
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
                raise ResumeError(f"cannot resume: the HDF5 output {self.path} is damaged ({exc}); start again "
                                  f"without --resume") from exc
        self._saved = self._n

    def _cut(self, n: int) -> None:
        if n and not self._datasets:
            raise ResumeError(f"{self.path} has no datasets but should hold {n} rows")
        for column, ds in list(self._datasets.items()):
            if ds.shape[0] < n:
                raise ResumeError(f"{self.path}: dataset {ds.name} has {ds.shape[0]} rows, the progress note "
                                  f"says {n}; the file was changed after the run stopped")
            ds.resize(n, axis=0)
        self._n = n

    def _group(self, column: str) -> str:
        return ("metadata/" if column in self.metadata else "preds/") + column

    def _create(self, col: Column):
        import h5py

        if col.kind == "str":
            dtype = h5py.string_dtype()
        elif col.kind == "int":
            dtype = np.int64
        else:
            dtype = np.float32 if col.shape else np.float64
        ds = self._h5.create_dataset(self._group(col.name), shape=(self._n,) + col.shape,
                                     maxshape=(None,) + col.shape, dtype=dtype, chunks=True, fillvalue=col.fill)
        self._datasets[col.name] = ds
        return ds

    def write(self, rows, through_record: int | None = None) -> None:
        table = self._schema.table(rows)
        if not self._datasets and self._schema.columns is not None:  # names only: created now
            for col in self._schema.columns:
                self._create(col)
        if not table.n:
            return
        n0, n1 = self._n, self._n + table.n
        for column in self.columns:
            ds = self._datasets[column]
            ds.resize(n1, axis=0)
            values = table.columns[column]
            ds[n0:n1] = values.astype(ds.dtype) if ds.dtype.kind != "O" else values
        self._n = n1

    def checkpoint(self, sync: bool = True) -> dict:
        self.sync()
        self._saved = self._n
        return {"rows": self._n}

    def sync(self) -> None:
        """Flush the file (HDF5's own flush; no fsync)."""
        try:
            self._h5.flush()
        except RuntimeError as exc:  # h5py's way of saying the disk is full
            raise OSError(f"writing {self.path} failed: {exc}") from exc

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

    def abort(self) -> None:
        self.suspend(None)

    def close(self) -> None:
        if not self._datasets and self._schema.columns is None:  # names only and never written: empty floats
            for name in self.columns:
                self._create(Column(name, "float64"))
        self._h5.close()


class TableWriter:
    """Writes rows under fixed ``columns`` to ``path``, chunk by chunk.

    TSV: flushed after every chunk, so a killed run leaves every written chunk readable.
    TSV.gz: one gzip member per chunk (a valid multi-member gzip file after every chunk).
    Parquet: one file per chunk in :func:`parts_dir` (each readable; the folder reads as one
    dataset), joined into ``path`` (one row group per chunk) by :meth:`close`. Types: text ->
    string, integers -> int64, floats -> double, per-position outputs -> lists of doubles (nested
    for 2-D cells); absent cells are null.
    """

    resumable = True

    def __init__(self, path: str | os.PathLike, columns: Sequence[Column | str], string_columns: Sequence[str] = (),
                 list_columns: Sequence[str] = (), resume: dict | None = None):
        self.path = Path(path)
        self._schema = _Schema(columns, string_columns, list_columns)
        self.columns = self._schema.names
        self.format = table_format(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise MissingDependencyError("Parquet output needs pyarrow: pip install 'seqzoo[parquet]'") from exc
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
            self.path.unlink(missing_ok=True)
            self._saved = self._n_parts
        else:
            if resume is None:
                self._fh = open(self.path, "wb")
                self._put(_tsv_bytes("\t".join(self.columns) + "\n", self.format == ".tsv.gz"))
            else:
                check_resume_state(self.path, resume)
                self._fh = open(self.path, "r+b")
                self._fh.truncate(resume["bytes"])
                self._fh.seek(resume["bytes"])
            self._saved = self._fh.tell()

    def _put(self, data: bytes) -> None:
        self._fh.write(data)
        self._fh.flush()

    @property
    def text(self) -> bool:
        """Whether the rows are text (.tsv, .tsv.gz), which :meth:`write_text` takes preformatted."""
        return self.format != ".parquet"

    def table(self, rows) -> Table:
        """``rows`` (a Table, or row dicts) as the Table that :meth:`write` writes."""
        return self._schema.table(rows)

    def write(self, rows, through_record: int | None = None) -> None:
        table = self._schema.table(rows)
        if not table.n:
            return
        if self.format == ".parquet":
            import pyarrow.parquet as pq
            pq.write_table(self._arrow(table), str(part_file(self.path, self._n_parts)))
            self._n_parts += 1
        else:
            self._put(render_tsv(table, self.columns, self.format == ".tsv.gz"))

    def write_text(self, data: bytes) -> None:
        """Write rows already formatted by :func:`render_tsv` (with this writer's columns and
        format) as :meth:`write` would."""
        self._put(data)

    # -- Parquet ------------------------------------------------------------------------------
    def _arrow_schema(self):
        import pyarrow as pa

        fields = []
        for col in self._schema.columns:
            if col.kind == "str":
                t = pa.string()
            elif col.kind == "int":
                t = pa.int64()
            else:
                t = pa.float64()
                for _ in col.shape:
                    t = pa.list_(t)
            fields.append(pa.field(col.name, t))
        return pa.schema(fields)

    def _arrow(self, table: Table):
        import pyarrow as pa

        arrays = []
        for col in self._schema.columns:
            values = table.columns[col.name]
            mask = table.present.get(col.name)
            inv = None if mask is None else ~mask
            if col.kind == "str":
                arrays.append(pa.array(list(values), type=pa.string(), mask=inv))
            elif not col.shape:
                arrays.append(pa.array(values.astype(np.int64 if col.kind == "int" else np.float64), mask=inv))
            else:
                arrays.append(_nested_lists(values, inv))
        return pa.Table.from_arrays(arrays, schema=self._arrow_schema())

    def _drop_parts_from(self, first: int) -> None:
        for part in self._parts.glob("part-*.parquet"):
            if int(part.stem.split("-")[1]) >= first:
                part.unlink()

    def checkpoint(self, sync: bool = True) -> dict:
        """Everything written so far is handed to the operating system (with ``sync``, a TSV is
        also fsynced: on disk); the state to resume from."""
        if self.format == ".parquet":
            self._saved = self._n_parts
            return {"parts": self._n_parts}
        if sync:
            self.sync()
        else:
            self._fh.flush()
        self._saved = self._fh.tell()
        return {"bytes": self._saved}

    def sync(self) -> None:
        """Everything written so far on disk (TSV: flush and fsync; Parquet parts are whole files)."""
        if self.format != ".parquet":
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def suspend(self, state: dict | None = None) -> None:
        """Cut back to ``state`` (default: the last checkpoint) and close, leaving the file
        resumable (Parquet: the parts)."""
        if self.format == ".parquet":
            self._drop_parts_from(int(state["parts"]) if state else self._saved)
        else:
            self._fh.truncate(int(state["bytes"]) if state else self._saved)
            self._fh.close()

    def abort(self) -> None:
        self.suspend(None)

    def close(self) -> None:
        if self.format != ".parquet":
            self._fh.close()
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        tmp = self.path.with_name(self.path.name + ".tmp")  # OUT appears whole or not at all
        if self._schema.columns is None:  # names only and no rows at all: text columns
            self._schema.columns = [Column(n, "str") for n in self.columns]
        schema = self._arrow_schema()
        with pq.ParquetWriter(str(tmp), schema) as out:
            if not self._n_parts:
                out.write_table(pa.Table.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema))
            for i in range(self._n_parts):
                out.write_table(pq.read_table(part_file(self.path, i), schema=schema))
        os.replace(tmp, self.path)
        shutil.rmtree(self._parts, ignore_errors=True)


def _nested_lists(values: np.ndarray, absent):
    """(n, *shape) floats -> pyarrow lists of doubles (nested once per cell dimension), no Python
    lists; ``absent`` (bool, or None): rows that are null (empty lists, as Parquet needs)."""
    import pyarrow as pa

    keep = values if absent is None else values[~absent]
    flat = pa.array(np.ascontiguousarray(keep, dtype=np.float64).reshape(-1))
    for size in reversed(values.shape[2:]):  # inner dimensions: every list full
        count = len(flat) // size
        flat = pa.ListArray.from_arrays(pa.array(np.arange(count + 1, dtype=np.int32) * size), flat)
    lengths = np.full(values.shape[0], values.shape[1], dtype=np.int32)
    if absent is not None:
        lengths[absent] = 0
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=None if absent is None else pa.array(absent))


def check_resume_state(path: str | os.PathLike, state: dict) -> None:
    """Refuse (:class:`ResumeError`) to resume ``path`` from a progress note's ``state`` that its
    files no longer match; checked for every file before any is cut back."""
    path = Path(path)
    again = "; start again without --resume"
    if "bytes" in state:
        if not path.is_file():
            raise ResumeError(f"cannot resume: {path} is gone{again}")
        if path.stat().st_size < state["bytes"]:
            raise ResumeError(f"cannot resume: {path} has {path.stat().st_size} bytes, the progress note says "
                              f"{state['bytes']}: the file was changed after the run stopped{again}")
    elif "parts" in state:
        missing = [part_file(path, i).name for i in range(int(state["parts"])) if not part_file(path, i).is_file()]
        if missing:
            raise ResumeError(f"cannot resume: {parts_dir(path)} lacks {', '.join(missing[:3])}"
                              f"{' ...' if len(missing) > 3 else ''}{again}")
    elif "rows" in state and not path.is_file():
        raise ResumeError(f"cannot resume: {path} is gone{again}")


def default_skip_path(out: str | os.PathLike) -> Path:
    """``OUT.skipped.tsv`` next to the output ``OUT``."""
    return Path(str(out) + ".skipped.tsv")


def default_summary_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".summary.json")


def default_outside_path(out: str | os.PathLike) -> Path:
    """``OUT.outside.tsv``: runs of alleles outside every model's features."""
    return Path(str(out) + ".outside.tsv")
