"""Output rows as columns: the schema of every seqzoo table (derived from the model specs, never from
the data) and :class:`Table`, a chunk of rows held as numpy arrays.

Column kinds: ``str`` (object array of str), ``int`` (int64), ``float32`` / ``float64`` (a model's
float32 predictions and its float64 effects keep their dtype, which also decides the TSV precision:
9 and 12 significant digits), and per-position vectors (a kind plus a per-row ``shape``: a 2-D or
3-D float array, never Python lists). With several models a row has no value in another model's
columns: such cells are absent (``Table.present``) — empty in TSV, null in Parquet, the fill value
(NaN, -1, "") in HDF5.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

#: the columns describing the allele and feature of a row, before each model's note columns
METADATA_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand")
#: the last columns of every row: the allele it belongs to, as the 1-based VCF record number and the
#: 0-based index of the ALT in the record (``seqzoo merge`` and the annotated VCF use them)
ALLELE_COLUMNS = ("record", "alt_index")
_INT_METADATA = frozenset({"pos", "record", "alt_index"})


def text_column(values: Sequence) -> np.ndarray:
    """A ``str`` column (1-d object array) of a sequence of str or None (never split into
    characters or nested)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def as_text_column(values) -> np.ndarray:
    """``values`` (a list, tuple or any array of str) as a ``str`` column: an object array itself,
    anything else (a numpy ``<U`` array too, whose fixed width would cut longer strings assigned
    into a copy) converted."""
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return text_column(values.tolist() if isinstance(values, np.ndarray) else list(values))


def take_text(values: Sequence, index: np.ndarray) -> np.ndarray:
    """``values[i] for i in index`` (int array) as a ``str`` column."""
    if index.size < 2:
        return text_column([values[i] for i in index.tolist()])
    return text_column(operator.itemgetter(*index.tolist())(values))


def upper_text(column: np.ndarray) -> np.ndarray:
    """A ``str`` column upper-cased, equal to ``[v.upper() for v in column]``: one join, upper and
    split (``str.upper`` maps each character on its own, so the tabs that join the values stay where
    they were; per value where one holds a tab), and ``column`` itself where it is upper-case already."""
    text = "\t".join(column.tolist())
    upper = text.upper()
    if upper == text:
        return column
    parts = upper.split("\t")
    return text_column(parts) if len(parts) == column.size else text_column([v.upper() for v in column.tolist()])


@dataclass(frozen=True)
class Column:
    """One output column: ``kind`` str / int / float32 / float64, ``shape`` of one cell (() = scalar),
    ``metadata``: describes the row (HDF5 ``metadata/`` group) rather than a prediction (``preds/``)."""

    name: str
    kind: str
    shape: tuple[int, ...] = ()
    metadata: bool = False

    @property
    def fill(self):
        """The value of an absent cell in arrays (and HDF5)."""
        return {"str": "", "int": -1}.get(self.kind, np.nan)

    def empty(self, n: int) -> np.ndarray:
        if self.kind == "str":
            return np.full(n, "", dtype=object)
        dtype = np.int64 if self.kind == "int" else np.dtype(self.kind)
        return np.full((n,) + self.shape, self.fill, dtype=dtype)


def metadata_columns(spec=None) -> list[Column]:
    """The metadata columns of a row (plus ``spec``'s note columns when given)."""
    cols = [Column(c, "int" if c in _INT_METADATA else "str", metadata=True) for c in METADATA_COLUMNS]
    if spec is not None:
        cols += [Column(c, "str", metadata=True) for c in spec.note_columns]
    return cols


KEY_COLUMNS = [Column(c, "int", metadata=True) for c in ALLELE_COLUMNS]


def kind_of(dtype: str) -> str:
    """Column kind of a numpy dtype name (``int64`` -> ``int``; float32 / float64 kept)."""
    kind = np.dtype(dtype).kind
    if kind in "iub":
        return "int"
    if kind == "f":
        return "float32" if np.dtype(dtype).itemsize <= 4 else "float64"
    return "str"


def model_columns(spec, vectors: bool) -> list[Column]:
    """One model's score columns: metadata, ``ref_``/``alt_`` outputs, effects (per-position ones
    with ``vectors``: Parquet and HDF5)."""
    cols = metadata_columns(spec)
    outputs = list(spec.outputs) + (list(spec.vector_outputs) if vectors else [])
    for k in outputs:
        for side in ("ref", "alt"):
            cols.append(Column(f"{side}_{k}", kind_of(spec.output_dtype(k)), tuple(spec.vector_shapes.get(k, ()))))
    effects = list(spec.effect_names) + (list(spec.vector_effect_names) if vectors else [])
    cols += [Column(k, kind_of(spec.output_dtype(k)), tuple(spec.vector_shapes.get(k, ()))) for k in effects]
    return cols + KEY_COLUMNS


def union(column_lists: Iterable[Sequence[Column]], first: Sequence[Column] = ()) -> list[Column]:
    """Columns of several models' tables: ``first``, then every column once, in order of appearance."""
    out: dict[str, Column] = {c.name: c for c in first}
    for cols in column_lists:
        for c in cols:
            if c.name in ALLELE_COLUMNS:
                continue
            if c.name not in out:
                out[c.name] = c
            elif out[c.name] != c:
                raise ValueError(f"column {c.name} is {out[c.name]} in one model and {c} in another")
    return list(out.values()) + KEY_COLUMNS


MODEL_COLUMN = Column("model", "str", metadata=True)


def score_columns(specs, vectors: bool) -> list[Column]:
    """The columns of ``seqzoo score`` output (one model: its columns; several: ``model`` first,
    then the union)."""
    if len(specs) == 1:
        return model_columns(specs[0], vectors)
    return union((model_columns(s, vectors) for s in specs), first=[MODEL_COLUMN])


SEQ_COLUMNS = (Column("ref_seq", "str"), Column("alt_seq", "str"))


def window_columns(specs) -> list[Column]:
    """The columns of ``seqzoo windows`` output."""
    if len(specs) == 1:
        return metadata_columns(specs[0]) + list(SEQ_COLUMNS) + KEY_COLUMNS
    return union([*(metadata_columns(s) for s in specs), SEQ_COLUMNS], first=[MODEL_COLUMN])


class Table:
    """``n`` rows as columns: {name: array of length n}; ``present``: {name: bool array} for columns
    with absent cells (absent cells hold :attr:`Column.fill`)."""

    def __init__(self, n: int, columns: dict[str, np.ndarray], present: dict[str, np.ndarray] | None = None):
        self.n = n
        self.columns = columns
        self.present = present or {}

    def __len__(self) -> int:
        return self.n

    @classmethod
    def from_rows(cls, rows: Sequence[dict], columns: Sequence[Column]) -> "Table":
        """A table of row dicts (a missing key or None is an absent cell)."""
        n = len(rows)
        data, present = {}, {}
        for col in columns:
            values = [r.get(col.name) for r in rows]
            mask = np.fromiter((v is not None for v in values), dtype=bool, count=n)
            arr = col.empty(n)
            if mask.all():
                arr[:] = values if col.kind == "str" else np.asarray(values, dtype=arr.dtype).reshape(arr.shape)
            else:
                for i in np.flatnonzero(mask):
                    arr[i] = values[i]
                present[col.name] = mask
            data[col.name] = arr
        return cls(n, data, present)

    @classmethod
    def stack(cls, blocks: Sequence[tuple["Table", np.ndarray]], n: int, columns: Sequence[Column]) -> "Table":
        """Rows of several tables put at the row positions given with each: (table, positions)."""
        data, present = {}, {}
        for col in columns:
            arr = col.empty(n)
            mask = np.zeros(n, dtype=bool)
            for table, positions in blocks:
                if col.name in table.columns:
                    arr[positions] = table.columns[col.name]
                    mask[positions] = table.present.get(col.name, True)
            data[col.name] = arr
            if not mask.all():
                present[col.name] = mask
        return cls(n, data, present)

    @classmethod
    def concat(cls, tables: Sequence["Table"], columns: Sequence[Column]) -> "Table":
        """The rows of ``tables`` one after the other (each holding ``columns``), their dtypes kept."""
        data, present = {}, {}
        for col in columns:
            data[col.name] = np.concatenate([t.columns[col.name] for t in tables])
            if any(col.name in t.present for t in tables):
                present[col.name] = np.concatenate([t.present.get(col.name, np.ones(t.n, dtype=bool)) for t in tables])
        return cls(sum(t.n for t in tables), data, present)

    def cell(self, name: str, i: int):
        """Row ``i``'s value in column ``name`` (None when absent)."""
        mask = self.present.get(name)
        if mask is not None and not mask[i]:
            return None
        return self.columns[name][i]

    def rows(self) -> list[dict]:
        """The rows as dicts of numpy scalars / arrays (absent cells left out)."""
        return [{k: self.cell(k, i) for k in self.columns if self.cell(k, i) is not None} for i in range(self.n)]

    def to_pandas(self):
        """A DataFrame: one column per column (per-position cells as numpy arrays), absent cells None/NaN."""
        import pandas as pd

        out = {}
        for name, arr in self.columns.items():
            if arr.ndim > 1:
                values = list(arr)
            else:
                values = arr
            mask = self.present.get(name)
            if mask is not None:
                values = [v if m else None for v, m in zip(values, mask)]
            out[name] = values
        return pd.DataFrame(out, columns=list(self.columns))
