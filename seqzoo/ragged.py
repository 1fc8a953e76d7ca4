"""Index arithmetic over consecutive runs of given lengths (numpy, no Python loop): the pieces the
vectorised paths build from many variable-length items at once (alleles, windows, segments)."""
from __future__ import annotations

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
