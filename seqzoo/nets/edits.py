"""Edits of reference windows: the shared input of every model's ``predict_edits``.

An edit replaces ``ref_seqs[ref_index[i]][starts[i]:ends[i]]`` (0-based half-open, model
orientation) by ``alts[i]``: ``alts[i] == ""`` is a deletion, ``starts[i] == ends[i]`` an
insertion, equal lengths a substitution (SNV, MNV). Models compute what an edit changes from the
reference window's cached state (see ``seqzoo/nets/*_incremental.py``); edits they cannot serve
that way go through :func:`predict_full`, a plain ``predict_sequences`` of the edited strings.

Base codes used by the incremental paths: A, C, G, T (any case, U = T) -> 0..3; N and every other
character (IUPAC codes, non-ASCII) -> :data:`NO_BASE` = 4, as the one-hot encoders read them.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

NO_BASE = 4
_CODES = np.full(256, NO_BASE, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODES[ord(_b)] = _CODES[ord(_b.lower())] = _i
_CODES[ord("U")] = _CODES[ord("u")] = 3


def base_codes(seq: str) -> np.ndarray:
    """(len(seq),) uint8 base codes (A/C/G/T -> 0..3, anything else -> 4)."""
    return _CODES[np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)]


@dataclass
class Edits:
    """Validated edits (see the module docstring); arrays are int64, one entry per edit;
    ``alt_lengths`` (E,) int64 = len(alts[i])."""

    ref_seqs: list[str]
    ref_index: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    alts: list[str]

    def __post_init__(self):
        self.alt_lengths = np.fromiter(map(len, self.alts), dtype=np.int64, count=len(self.alts))

    def __len__(self) -> int:
        return len(self.alts)

    @property
    def length_change(self) -> np.ndarray:
        """(E,) len(alt sequence) - len(reference)."""
        return self.alt_lengths - (self.ends - self.starts)

    def alt_sequence(self, i: int) -> str:
        ref = self.ref_seqs[self.ref_index[i]]
        return ref[:self.starts[i]] + self.alts[i] + ref[self.ends[i]:]

    def alt_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """All alt alleles' base codes concatenated (uint8) and each edit's offset into it (E + 1,)."""
        lengths = self.alt_lengths
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return base_codes("".join(self.alts)), offsets


def _int_array(name: str, values, n: int | None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-d integer array, got shape {arr.shape} dtype {arr.dtype}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries; expected {n} (one per edit)")
    return arr.astype(np.int64, copy=False)


def check_edits(ref_seqs: Sequence[str], ref_index, starts, ends, alts: Sequence[str]) -> Edits:
    """Validate edits; ValueError naming the first bad edit (index out of range, start > end, an
    end past its reference, arrays of unequal lengths)."""
    ref_seqs = list(map(str, ref_seqs))
    alts = list(map(str, alts))
    n = len(alts)
    ref_index = _int_array("ref_index", ref_index, n)
    starts = _int_array("starts", starts, n)
    ends = _int_array("ends", ends, n)
    if n:
        bad = np.flatnonzero((ref_index < 0) | (ref_index >= len(ref_seqs)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"edit {i}: ref_index {ref_index[i]} is not an index into the {len(ref_seqs)} ref_seqs")
        ref_len = np.fromiter((len(s) for s in ref_seqs), dtype=np.int64, count=len(ref_seqs))[ref_index]
        bad = np.flatnonzero((starts < 0) | (starts > ends) | (ends > ref_len))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"edit {i}: [{starts[i]}, {ends[i]}) is not a 0-based half-open range inside its "
                             f"reference (ref_seqs[{ref_index[i]}], length {ref_len[i]})")
    return Edits(ref_seqs, ref_index, starts, ends, alts)


def require_substitutions(edits: Edits, model: str, length: int, what: str) -> None:
    """ValueError naming the first edit of ``edits`` that changes the window length (a fixed-length
    model's alt window for an indel is re-anchored with bases from beyond the reference window:
    the caller builds it and uses ``predict_sequences``)."""
    changed = np.flatnonzero(edits.length_change != 0)
    if changed.size:
        i = int(changed[0])
        raise ValueError(f"{model}: edit {i} ([{edits.starts[i]}, {edits.ends[i]}) -> {len(edits.alts[i])} nt) "
                         f"changes the window length to {length + int(edits.length_change[i])} nt; {what} "
                         f"{length} nt: build the re-anchored alt window and use predict_sequences "
                         f"({changed.size} such edits)")


def split_extra(model, extra: dict, n_refs: int) -> tuple[dict, dict]:
    """(per-reference extra inputs as arrays with first axis n_refs, shared extra inputs), split as
    :meth:`SequenceModel.predict_sequences` splits them (names in ``model.per_sequence_inputs``)."""
    per_ref = {k: np.asarray(v) for k, v in extra.items()
               if v is not None and np.ndim(v) > 0 and np.shape(v)[0] == n_refs and k in model.per_sequence_inputs}
    shared = {k: v for k, v in extra.items() if k not in per_ref}
    return per_ref, shared


def predict_full(model, edits: Edits, which: np.ndarray, per_ref: dict, shared: dict,
                 batch_size: int) -> dict[str, np.ndarray]:
    """``model.predict_sequences`` of the alt sequences of edits ``which`` (each with its
    reference's per-sequence inputs): the fallback of every ``predict_edits``."""
    seqs = [edits.alt_sequence(i) for i in which]
    rows = edits.ref_index[which]
    return model.predict_sequences(seqs, batch_size=batch_size, **shared,
                                   **{k: v[rows] for k, v in per_ref.items()})


def empty_outputs(like: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Arrays of ``n`` rows with the keys, dtypes and trailing shapes of ``like``."""
    return {k: np.empty((n,) + v.shape[1:], dtype=v.dtype) for k, v in like.items()}


def parallel_map(fn: Callable, items: Sequence, threads: int | None = None) -> None:
    """Run ``fn(item)`` for every item (results discarded; exceptions propagate), spread over
    ``threads`` (default ``torch.get_num_threads()``) worker threads, each running torch
    single-threaded.

    The sub-batches of an incremental alt computation are many medium-sized operations (GEMMs of a
    few thousand rows, gathers, index_add_): one stream per core scales better than intra-op
    threads, and does not spin in OpenMP barriers when other processes share the cores. torch's
    intra-op thread count is process-wide: it is 1 while the workers run and restored after.
    ``fn`` must enter ``torch.inference_mode()`` itself (it is thread-local).
    """
    threads = torch.get_num_threads() if threads is None else threads
    if threads <= 1 or len(items) <= 1:
        for item in items:
            fn(item)
        return
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
            for _ in pool.map(fn, items):
                pass
    finally:
        torch.set_num_threads(threads)
