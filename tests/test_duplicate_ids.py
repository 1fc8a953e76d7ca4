"""Duplicate VCF IDs in bounded memory (:class:`seqzoo.accounting.DuplicateIds`): every duplicate is
caught, within a block and across blocks however far apart, against an exact set; the ID hash
does not depend on the other IDs of a block (so a resumed run and ``seqzoo merge`` flag the same)."""
from __future__ import annotations

import numpy as np

from seqzoo.accounting import DuplicateIds, id_hashes, zeroed_bytes


def test_flags_equal_an_exact_set_over_many_blocks():
    rng = np.random.default_rng(0)
    pool = [f"rs{i}" for i in range(60_000)] + [f"chr1:{i}:A:G" for i in range(20_000)] + ["é", "x" * 90, ""]
    ids = [None if rng.random() < 0.1 else pool[int(rng.integers(len(pool)))] for _ in range(150_000)]
    bloom, seen, want, got = DuplicateIds(), set(), [], []
    for lo in range(0, len(ids), 8192):
        block = ids[lo:lo + 8192]
        dup, false = bloom.flags(block)
        got += dup.tolist()
        assert (false[~dup] == 0).all() and (false < 1e-9).all()  # ~80,000 distinct IDs: no false positive expected
        for x in block:
            want.append(x is not None and x in seen)
            if x is not None:
                seen.add(x)
    assert got == want
    assert sum(want) > 50_000


def test_blocks_with_every_id_none_or_some_missing():
    """A block where every record has an ID (the usual one: flagged without position lists), one
    without IDs and mixed ones, against an exact set."""
    rng = np.random.default_rng(2)
    pool = [f"rs{i}" for i in range(3_000)]
    bloom, seen = DuplicateIds(), set()
    for share_none in (0.0, 1.0, 0.0, 0.5, 0.0, 0.01, 1.0, 0.0):
        block = [None if rng.random() < share_none else pool[int(rng.integers(len(pool)))] for _ in range(2_000)]
        dup, false = bloom.flags(block)
        want = []
        for x in block:
            want.append(x is not None and x in seen)
            if x is not None:
                seen.add(x)
        assert dup.tolist() == want and (false[~dup] == 0).all(), share_none
    assert bloom.flags([])[0].size == 0


def test_bloom_bits_start_zeroed_and_writable():
    for size in (1 << 25, 4 << 20, 3 << 19):  # the filter's 32 MiB; 2 MiB multiples (huge pages); other sizes
        bits = zeroed_bytes(size)
        assert bits.dtype == np.uint8 and bits.shape == (size,) and not bits.any()
        bits[[0, size // 2, size - 1]] |= np.uint8(5)
        assert int(bits.sum()) == 15


def test_hash_of_an_id_does_not_depend_on_its_block():
    alone = {v: int(id_hashes([v])[0]) for v in ("rs1", "rs12", "", "é", "x" * 65, "chr1:100:A:G")}
    rng = np.random.default_rng(1)
    for _ in range(20):
        block = list(alone) + ["y" * int(rng.integers(0, 80)) for _ in range(5)]
        rng.shuffle(block)
        h = id_hashes(block)
        for v, x in zip(block, h.tolist()):
            if v in alone:
                assert x == alone[v], v
    # fixed values: the same on every platform and numpy version
    assert alone["rs1"] == 5693908388617350202
    assert len(set(alone.values())) == len(alone)


def test_no_collisions_among_four_million_ids():
    ids = [f"rs{i}" for i in range(2_000_000)] + [f"chr1:{i}:A:G" for i in range(1_000_000)] + \
          [str(i) for i in range(1_000_000)]
    h = np.concatenate([id_hashes(ids[i:i + 8192]) for i in range(0, len(ids), 8192)])
    assert len(np.unique(h)) == len(ids)
