"""Index arithmetic over consecutive runs (seqzoo.ragged), empty runs included."""
import numpy as np

from seqzoo.ragged import run_offsets, run_positions


def test_runs_of_any_length():
    lengths = np.array([3, 0, 1, 2, 0])
    assert run_offsets(lengths).tolist() == [0, 1, 2, 0, 0, 1]
    assert run_positions(np.array([10, 99, -4, 7, 5]), lengths).tolist() == [10, 11, 12, -4, 7, 8]
    assert run_offsets(np.array([2, 1], dtype=np.int32), np.int32).dtype == np.int32
    assert run_positions(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []
