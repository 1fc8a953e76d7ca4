"""The fixed windows' columns, overlap index and merged spans are built with numpy from the window
objects once; each equals what the per-object Python build gives (kept here as the reference)."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from seqzoo.genome.gtf import SegmentIndex
from seqzoo.ragged import rows_by_value
from seqzoo.windowing import _merge, _rule_spans
from seqzoo.windows.fixed import AnchoredWindow, AnchoredWindowRule


def python_merge(items):
    """The merge the numpy one replaced: sort the (start, end) tuples, join those that touch."""
    items = sorted(items)
    starts, ends = [], []
    for a, b in items:
        if starts and a <= ends[-1]:
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return starts, ends


def python_segment_index(segments):
    """SegmentIndex's fields as its tuple constructor builds them."""
    by_chrom = defaultdict(list)
    for chrom, start, end, payload in segments:
        by_chrom[chrom].append((start, end, payload))
    for items in by_chrom.values():
        items.sort(key=lambda t: (t[0], t[1]))
    return ({c: [s for s, _, _ in items] for c, items in by_chrom.items()}, dict(by_chrom),
            {c: max(e - s for s, e, _ in items) for c, items in by_chrom.items()})


def random_intervals(rng, n, span=300, longest=40):
    starts = rng.integers(0, span, n)
    return starts, starts + rng.integers(1, longest, n)


@pytest.mark.parametrize("seed", range(40))
def test_merge_equals_the_python_merge(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    starts, ends = random_intervals(rng, n, span=int(rng.integers(5, 2000)))
    if seed % 4 == 0:  # many exact duplicates and intervals that only touch
        ends = np.where(rng.random(n) < 0.5, starts + 10, ends)
        starts = np.where(rng.random(n) < 0.3, (starts // 10) * 10, starts)
        ends = np.maximum(ends, starts + 1)
    got = _merge(starts.astype(np.int64), ends.astype(np.int64))
    want = python_merge(list(zip(starts.tolist(), ends.tolist())))
    assert got[0].tolist() == want[0] and got[1].tolist() == want[1]
    assert got[0].dtype == np.int64 and got[1].dtype == np.int64


def test_merge_edges():
    assert [x.tolist() for x in _merge(np.array([5], np.int64), np.array([9], np.int64))] == [[5], [9]]
    # touching joins, a gap of one base does not, a nested interval disappears, order does not matter
    s, e = _merge(np.array([20, 0, 10, 31, 2], np.int64), np.array([30, 10, 20, 40, 5], np.int64))
    assert s.tolist() == [0, 31] and e.tolist() == [30, 40]
    s, e = _merge(np.array([], np.int64), np.array([], np.int64))
    assert s.size == 0 and e.size == 0


@pytest.mark.parametrize("seed", range(25))
def test_segment_index_from_columns_equals_the_tuple_build(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    chroms = [f"chr{c}" for c in rng.integers(1, 4, n)]
    starts, ends = random_intervals(rng, n, span=int(rng.integers(5, 500)))
    if seed % 3 == 0:  # ties on (start, end): the stable order keeps them in row order
        starts, ends = starts // 20 * 20, starts // 20 * 20 + 15
    built = SegmentIndex.from_columns(chroms, starts.tolist(), ends.tolist())
    want_starts, want_items, want_max = python_segment_index(zip(chroms, starts.tolist(), ends.tolist(), range(n)))
    assert built._starts == want_starts and built._items == want_items and built._max_len == want_max
    reference = SegmentIndex(zip(chroms, starts.tolist(), ends.tolist(), range(n)))
    for chrom in ("chr1", "chr2", "chr3", "chrX"):
        for a in range(-5, 560, 7):
            for b in (a, a + 1, a + 3, a + 50):  # a zero-length query too
                assert built.overlapping(chrom, a, b) == reference.overlapping(chrom, a, b)
    assert all(type(x) is int for item in built._items[chroms[0]] for x in item)


def test_rows_by_value():
    got = rows_by_value(["b", "a", "b", "c", "a", "b"])
    assert list(got) == ["b", "a", "c"]  # first appearance
    assert {k: v.tolist() for k, v in got.items()} == {"b": [0, 2, 5], "a": [1, 4], "c": [3]}
    assert rows_by_value([]) == {}


class _Genome:
    def __init__(self, lengths):
        self.lengths = lengths


@pytest.mark.parametrize("seed", range(10))
def test_anchored_window_columns_equal_the_window_objects(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    windows = []
    for i in range(n):
        start = int(rng.integers(-50, 3000))
        length = int(rng.integers(1, 200))
        windows.append(AnchoredWindow(f"f{i}", f"g{i % 7}", f"chr{int(rng.integers(1, 4))}",
                                      "+" if rng.random() < 0.5 else "-", start, start + length,
                                      int(rng.integers(0, length + 1))))
    rule = AnchoredWindowRule(_Genome({"chr1": 2500, "chr2": 3500}), windows, ("none", "no window"))
    start, end, split, minus = rule._window_arrays
    assert start.tolist() == [w.start for w in windows] and end.tolist() == [w.end for w in windows]
    assert split.tolist() == [w.split for w in windows]
    assert minus.tolist() == [w.strand == "-" for w in windows]
    assert rule.spans() == [(w.chrom, w.start, w.end) for w in windows]
    assert all(type(x) is int for _, a, b in rule.spans() for x in (a, b))
    want_starts, want_items, want_max = python_segment_index(
        (w.chrom, w.start, w.end, i) for i, w in enumerate(windows))
    assert rule.index._starts == want_starts and rule.index._items == want_items
    assert rule.index._max_len == want_max
    segs = rule.block_segments()
    lengths = {"chr1": 2500, "chr2": 3500}
    assert segs.chrom == [w.chrom for w in windows]
    assert segs.usable.tolist() == [w.start >= 0 and w.end <= lengths.get(w.chrom, -1) for w in windows]
    # the spans by contig, as the vectorised index merges them, equal the tuples' spans
    by_arrays = _rule_spans(rule)
    want = defaultdict(list)
    for c, a, b in rule.spans():
        want[c].append((a, b))
    assert {c: list(zip(a.tolist(), b.tolist())) for c, (a, b) in by_arrays.items()} == dict(want)


def test_no_windows_and_a_subclass_with_its_own_spans():
    empty = SegmentIndex.from_columns([], [], [])
    assert empty._starts == {} and empty._items == {} and empty.overlapping("chr1", 0, 10) == []
    rule = AnchoredWindowRule(_Genome({"chr1": 100}), [], ("none", "no window"))
    assert rule.spans() == [] and _rule_spans(rule) == {} and rule.index.overlapping("chr1", 0, 10) == []
    segs = rule.block_segments()
    assert segs.chrom == [] and segs.start.size == 0 and segs.usable.size == 0

    class EveryPosition(AnchoredWindowRule):  # a plug-in rule that overrides spans() only
        def spans(self):
            return None

    class Narrower(AnchoredWindowRule):
        def spans(self):
            return [(c, a + 1, b) for c, a, b in super().spans()]

    windows = [AnchoredWindow("f", "g", "chr1", "+", 10, 20, 5)]
    assert _rule_spans(EveryPosition(_Genome({"chr1": 100}), windows, ("none", ""))) is None
    got = _rule_spans(Narrower(_Genome({"chr1": 100}), windows, ("none", "")))
    assert {c: (a.tolist(), b.tolist()) for c, (a, b) in got.items()} == {"chr1": ([11], [20])}


def test_rules_without_span_arrays():
    class OnlySpans:
        def spans(self):
            return [("chr1", 5, 9), ("chr1", 0, 3)]

    class Neither:  # a rule for the per-allele path only: every record takes it
        pass

    got = _rule_spans(OnlySpans())
    assert {c: (a.tolist(), b.tolist()) for c, (a, b) in got.items()} == {"chr1": ([5, 0], [9, 3])}
    assert _rule_spans(Neither()) is None
