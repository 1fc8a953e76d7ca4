"""Index arithmetic over consecutive runs of given lengths (numpy, no Python loop): the pieces the
vectorised paths build from many variable-length items at once (alleles, windows, segments); and
the rows of a column grouped by value (:func:`rows_by_value`)."""
from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np


def run_offsets(lengths: np.ndarray, dtype=np.int64) -> np.ndarray:
    """(lengths.sum(),) each element's offset within its run, for consecutive runs of ``lengths``
    (>= 0) elements: 0 .. lengths[0] - 1, 0 .. lengths[1] - 1, ..."""
    lengths = np.asarray(lengths)
    starts = (np.cumsum(lengths) - lengths).astype(dtype, copy=False)
    return np.arange(int(lengths.sum()), dtype=dtype) - np.repeat(starts, lengths)


def run_positions(starts: np.ndarray, lengths: np.ndarray, dtype=np.int64) -> np.ndarray:
    """(lengths.sum(),) starts[i] .. starts[i] + lengths[i] - 1 for every run i, concatenated."""
    return np.repeat(np.asarray(starts).astype(dtype, copy=False), lengths) + run_offsets(lengths, dtype)


def rows_by_value(values: Sequence[Hashable]) -> dict:
    """{value: int64 array of the rows holding it, ascending} for a column of hashable values
    (e.g. contig names), values in order of first appearance."""
    code = {v: i for i, v in enumerate(dict.fromkeys(values))}
    codes = np.fromiter(map(code.__getitem__, values), np.int64, len(values))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(code) + 1))
    return {v: order[bounds[i]:bounds[i + 1]] for v, i in code.items()}
