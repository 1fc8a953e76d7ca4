"""Framepool: exact alt predictions of edited 5'UTRs from the reference's cached features.

Coordinates are 0-based, in the 5' -> 3' orientation of the strings; frames count from the 3' end
(position j of a length-L sequence is in frame (L - 1 - j) % 3). Features are h0, h1, h2 (after
convolutions 0, 1, 2, masked, with the residual adds); z1, z2 are the pre-activations of
convolutions 1 and 2; a = relu(z1) m, so h1 = a + h0. Each convolution has width 7, so h2 at
position j depends on the bases j - 9 .. j + 9.

By lookup (:mod:`seqzoo.nets.framepool_conv1`), in the reference pass and in every alt window:
convolution 1 (seven 7-mer table rows per position instead of seven tap GEMMs) and convolution 2's
part from h0 (z2 = za + conv2(h0), za = b2 + conv2(a)); conv2(a) is GEMMs over only the channels
where a (or its change) is not 0 (:func:`~seqzoo.nets.framepool_conv1.live_channels`; ~55 of 128
in the published weights).

Reference state (:func:`reference_state`). The references are packed as in
:meth:`Framepool.trunk_packed`, with :data:`PAD` N rows before each, one trunk pass (convolutions
1 and 2 split as above) gives the tracks h0, a, h1, za and h2 and each row's 7-mer; from h2 come
the reference predictions and, per
reference and per residue class mod 3, summaries of groups of rows (:class:`PoolSummary`): the
max over the groups before each group boundary and after it, and the float64 sum before it. The
max or sum over the rows of one residue from a reference's start to any row (a prefix), or from
any row to its end (a suffix), is then read from the summaries (one row; a suffix sum is the block
total minus a prefix) combined with the rows of that row's own group (:func:`_kept_pools`). The
group size (2 .. 32 steps of 3 rows) is chosen per chunk from its rows per edit
(:func:`summary_group`): one pass over the track plus a few gathered rows per edit, instead of
full-length running arrays.

An edit replaces ref[s:e] by an allele of n bases; the alt has length L' = L + n - (e - s).
Alt positions < s - 9 carry the reference features of the same position, alt positions
>= s + n + 9 those of reference position j - (L' - L); only the window W = [s - 9, s + n + 9) of
the alt is recomputed (positions outside [0, L') are N rows and give 0). Per frame the pools are

* max = max(prefix max of reference rows < s - 9, suffix max of rows >= e + 9, max over W),
* sum = prefix sum + suffix sum (float64) + sum over W, divided by the alt's non-N count
  (prefix and suffix of one residue each, from :func:`_kept_pools`),

where the left part keeps its positions but changes frame when L' - L is not a multiple of 3 (a
relabelling of the three residue classes), and the right part keeps its frames. The head then gives
``mrl``, ``mrl_unscaled`` and the shifted ``mrl_shift_1/2`` (frame relabelling).

Recomputing W, two ways (both exact up to float32 rounding, checked against full passes in
``tests/test_incremental.py``):

* substitutions (n == e - s, so L' = L): h0' on the n + 6 changed rows [s - 3, s + n + 3) (7 rows
  for an SNV), z1' on [s - 6, s + n + 6) by lookup, a' = relu(z1') m', h1' = a' + h0'; conv2 is
  linear, so da = a' - a on those n + 12 rows (13 for an SNV) gives z2' = za + conv2_nobias(da) +
  conv2(h0') on W = [s - 9, s + n + 9) (conv2(h0') by lookup from W's 7-mers), h2' = relu(z2') m'
  + h1'. The delta convolution is GEMMs of the changed rows by the seven stacked taps (K = the
  channels where da is not 0 in the sub-batch, N = 896), one per group of windows of ~640 rows,
  each followed by an index_add_ of its products (still in cache) into the gathered
  pre-activations (overlap-add, :func:`_conv_add`): for an SNV 13 rows x K x 1,792 FLOP (~1.2
  MFLOP at K = 50), against L x 229k for convolution 2 of a full pass (which also pays
  convolution 1's as much again).
* other edits (indels): direct. h0' on the n + 6 changed rows, flanked by cached rows, and z1' by
  lookup give a' on n + 12 rows (flanked by 6 cached rows of a), which with conv2(h0') by lookup
  gives z2' and h2' on W.

Edits are grouped by allele length n and computed in sub-batches of stacked windows, so each
convolution 2 is a few large GEMMs for all edits of the group. Indels of a shorter allele join a
longer allele's group where that costs few rows (:data:`MERGE_ROWS`), each extended by the reference
bases after it (before it at the reference's end): ref[s:e + r] -> allele + ref[e:e + r] is the same
alt sequence. Chunks of references (or, with fewer
chunks than torch threads, the sub-batches of a chunk) run in worker threads, torch single-threaded in each
(:func:`seqzoo.nets.edits.parallel_map`).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .edits import NO_BASE, Edits, base_codes, parallel_map
from .framepool import HALF, N_FILTERS, WIDTH, Framepool, conv0_bags, pack_codes
from .framepool_conv1 import Conv2Weights, conv1_lookup, kmer_index, live_channels, tap_lookup

RF = 3 * HALF  # h2 at j depends on bases j - 9 .. j + 9
PAD = RF + HALF  # N rows before each packed reference: windows reach 12 rows past a reference
#: rows of stacked windows per sub-batch (bounds the memory of its window tracks)
SUB_BATCH_ROWS = 6144
#: input rows per GEMM of an alt convolution 2 (:func:`_conv_add`): its (rows, 7 * 128) products, 2.3 MB,
#: stay in cache until they are added into their output rows
PRODUCT_ROWS = 640
#: references per state chunk are limited to about this many packed rows (memory: ~5 kB a row)
CHUNK_ROWS = 16384
#: ... and, to spread the work over the worker threads, of at least this many (GEMM efficiency)
MIN_CHUNK_ROWS = 2048
#: chunks per worker thread where the rows allow: one (each chunk's alt sub-batches are grouped by
#: allele length, so more chunks make more small sub-batches of indels; 1,270 edits of 64 ~170-nt
#: references: 1.2x faster than with two)
CHUNKS_PER_THREAD = 1
EDIT_ROWS = 10  # an edit costs about as much as this many rows of a reference pass (chunk balance)
#: a chunk's indels of one allele length are computed with those of a longer one (each allele
#: extended by reference bases: the same alt sequence) where that adds at most this many window
#: rows to that length's edits (extension x their number): about what a sub-batch of their own
#: costs (~2 ms; a window row ~4 us)
MERGE_ROWS = 512


@dataclass
class ReferenceState:
    """Cached features of packed references (see the module docstring); T = B * width rows.

    ``row0[b]``: track row of position 0 of reference b; ``codes``: (T + PAD,) uint8, NO_BASE
    after the track; ``h0``, ``a`` (relu(z1) m), ``h1`` (a + h0), ``za`` (b2 + conv2(a), z2 without
    h0's part), ``h2``: (T, 128) float32;
    ``kmers``, ``irregular``: (T,) :func:`~seqzoo.nets.framepool_conv1.kmer_index` of each row;
    ``pools``: h2's per-group summaries (:class:`PoolSummary`); ``bases``: (T + 1,) int64 running
    count of A/C/G/T rows.
    """

    width: int
    lengths: np.ndarray
    row0: np.ndarray
    codes: np.ndarray
    h0: torch.Tensor
    a: torch.Tensor
    h1: torch.Tensor
    za: torch.Tensor
    h2: torch.Tensor
    kmers: np.ndarray
    irregular: np.ndarray
    pools: "PoolSummary"
    bases: np.ndarray

    @property
    def rows(self) -> int:
        return self.h0.shape[0]


def _cummax(x: torch.Tensor, out: torch.Tensor, reverse: bool = False, block: int = 8) -> torch.Tensor:
    """Running maximum of x (B, n, C) along dim 1 into ``out`` (same shape, contiguous; not x),
    from the start or, with ``reverse``, from the end: a scan within blocks of ``block`` steps,
    then one carry per block (about n / block + block vectorised steps), no copies of x."""
    n = x.shape[1]
    out.copy_(x)
    if reverse:  # the same scan on the reversed step order, written out with mirrored indices
        steps = [(i, i + 1) for i in range(n - 2, -1, -1)]
    else:
        steps = [(i, i - 1) for i in range(1, n)]
    full = n // block * block
    if full >= 2 * block:  # blocks: a scan inside each block, then carries between blocks
        body = out[:, n - full:] if reverse else out[:, :full]
        y = body.view(x.shape[0], full // block, block, x.shape[2])
        for i in (range(block - 2, -1, -1) if reverse else range(1, block)):
            j = i + 1 if reverse else i - 1
            torch.maximum(y[:, :, i], y[:, :, j], out=y[:, :, i])
        for k in (range(full // block - 2, -1, -1) if reverse else range(1, full // block)):
            carry = y[:, k + 1, :1] if reverse else y[:, k - 1, -1:]
            torch.maximum(y[:, k], carry, out=y[:, k])
        steps = [(i, i + 1) for i in range(n - full - 1, -1, -1)] if reverse else [(i, i - 1) for i in range(full, n)]
    for i, j in steps:  # the rows outside the blocks, one step each
        torch.maximum(out[:, i], out[:, j], out=out[:, i])
    return out


@dataclass
class PoolSummary:
    """Per-group maxima and sums of the h2 track, for the pools of the parts of a reference an
    edit leaves in place (:func:`_kept_pools`).

    Block b's rows w = 3 * k + r (k = 0 .. width / 3 - 1 a "step", r the residue class) are cut
    into groups of ``group`` steps per residue: group g holds steps g * group .. (g + 1) *
    group - 1 (the last group may be shorter). Per block and residue, j = 0 .. groups:
    ``maxes`` (2, B, groups + 1, 3, 128) float32: [0, b, j] the max over groups < j, [1, b, j]
    over groups >= j (0 for no group: features are >= 0); ``sums`` (B, groups + 1, 3, 128)
    float64: the sum over groups < j (group sums are float32 sums of <= ``group`` rows). One pass
    over the track, 4 / group of its memory.
    """

    group: int
    steps: int
    groups: int
    maxes: torch.Tensor
    sums: torch.Tensor

    @classmethod
    def of(cls, h2: torch.Tensor, n_blocks: int, width: int, group: int) -> "PoolSummary":
        """Summaries of the track h2 (n_blocks * width, 128), width a multiple of 3, in groups of
        ``group`` steps."""
        steps = width // 3
        groups = -(-steps // group)
        whole = steps // group
        by_step = h2.view(n_blocks, steps, 3 * N_FILTERS)
        gmax = h2.new_zeros(n_blocks, groups + 2, 3 * N_FILTERS)  # group g at g + 1, zero rows at 0 and groups + 1
        gsum = h2.new_zeros(n_blocks, groups + 1, 3 * N_FILTERS)  # group g at g + 1
        if whole:
            body = by_step[:, :whole * group].reshape(n_blocks, whole, group, 3 * N_FILTERS)
            torch.amax(body, 2, out=gmax[:, 1:whole + 1])
            torch.sum(body, 2, out=gsum[:, 1:whole + 1])
        if whole < groups:  # the last group, shorter
            torch.amax(by_step[:, whole * group:], 1, out=gmax[:, groups])
            torch.sum(by_step[:, whole * group:], 1, out=gsum[:, groups])
        maxes = torch.empty(2, n_blocks, groups + 1, 3 * N_FILTERS)
        _cummax(gmax[:, :groups + 1], maxes[0])
        _cummax(gmax[:, 1:], maxes[1], reverse=True)
        sums = torch.cumsum(gsum, dim=1, dtype=torch.float64)
        return cls(group, steps, groups, maxes.view(2, n_blocks, groups + 1, 3, N_FILTERS),
                   sums.view(n_blocks, groups + 1, 3, N_FILTERS))

    def totals(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame max (B, 3, 128) float32 and sum (B, 3, 128) float64 of each whole block; frame
        f (counted from the block's 3' end) is residue (width - 1 - f) % 3 = (2 - f) % 3."""
        return self.maxes[1, :, 0].flip(1), self.sums[:, -1].flip(1)


def _kept_pools(st: ReferenceState, block: np.ndarray, left: np.ndarray, left_empty: np.ndarray,
                right: np.ndarray, right_empty: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Max (Q, 128) float32 and sum (Q, 128) float64 over two parts of block ``block[q]``: its rows
    of ``left[q]``'s residue from the block's start to left[q], and of ``right[q]``'s residue from
    right[q] to the block's end (block-local rows; a part is empty where ``*_empty[q]``).

    Whole groups come from the summaries (:class:`PoolSummary`); the rest of each part's group
    from up to ``group`` gathered rows each (the others masked to track row 0, a padding row:
    h2 = 0 there)."""
    ps = st.pools
    rows, at_max, at_sum = [], [], []
    base = block * (ps.groups + 1)
    for w, empty, prefix in ((left, left_empty, True), (right, right_empty, False)):
        k, r = w // 3, w % 3
        g = k // ps.group
        steps = g[:, None] * ps.group + np.arange(ps.group)  # (Q, group): the steps of w's group
        keep = (steps <= k[:, None]) if prefix else (steps >= k[:, None]) & (steps < ps.steps)
        keep &= ~empty[:, None]
        rows.append(np.where(keep, block[:, None] * st.width + 3 * steps + r[:, None], 0))
        j = np.where(empty, 0 if prefix else ps.groups, g if prefix else g + 1)  # whole groups < j / >= j
        side = 0 if prefix else ps.maxes.shape[1] * (ps.groups + 1)  # maxes[0] or maxes[1]
        at_max.append((side + base + j) * 3 + r)
        at_sum.append((base + j) * 3 + r)
    at_sum.append((base + ps.groups) * 3 + right % 3)  # the right residue's total: its suffix = total - prefix
    part = _gather(st.h2, torch.from_numpy(np.concatenate(rows, axis=1)))  # (Q, 2 * group, 128)
    q = block.size
    whole_max = ps.maxes.view(-1, N_FILTERS).index_select(0, torch.from_numpy(np.concatenate(at_max)))
    sums = ps.sums.view(-1, N_FILTERS).index_select(0, torch.from_numpy(np.concatenate(at_sum))).view(3, q, N_FILTERS)
    pmax = torch.maximum(whole_max.view(2, q, N_FILTERS).amax(0), part.amax(1))
    return pmax, sums[0].add_(sums[2]).sub_(sums[1]).add_(part.sum(1))


def summary_group(rows: int, edits: int) -> int:
    """Steps per group of the pool summaries of ``rows`` packed rows with ``edits`` edits to
    score: a power of 2 in 2 .. 32 near sqrt(rows / edits), balancing the summaries' pass over the
    track (cost ~ rows / group) against the rows each edit gathers (~ 6 * group)."""
    return 2 ** min(max(round(math.log2(max(rows / max(edits, 1), 1)) / 2), 1), 5)


def reference_state(model: Framepool, w: Conv2Weights, seqs: Sequence[str], indicator: torch.Tensor,
                    edits: int = 0) -> tuple[ReferenceState, torch.Tensor, torch.Tensor]:
    """One trunk pass over ``seqs`` -> (state, mrl (B, 3), mrl_unscaled (B, 3)) (shifts 0, 1, 2).

    ``indicator``: (B, 2) or (1, 2). Every sequence must hold an A/C/G/T base (the caller checks).
    ``edits``: how many edits of these references will be scored (sets the pool summaries'
    group, :func:`summary_group`). Convolution 1 is the 7-mer lookup (:func:`conv1_lookup`),
    convolution 2 split into its h0 part by lookup and its a part by GEMMs over a's live channels
    (:meth:`Framepool.trunk_packed` with a :class:`Conv2Weights`).
    """
    longest = max((len(s) for s in seqs), default=0)
    codes, lengths = pack_codes(seqs, gap=PAD + (-(PAD + longest)) % 3)  # block width: a multiple of 3
    n_blocks, width = codes.shape
    with torch.inference_mode():
        tracks = model.trunk_packed(codes, keep_pre=True, lookup=w)
        pools = PoolSummary.of(tracks["h2"], n_blocks, width, summary_group(codes.size, edits))
        pmax, psum = pools.totals()
        count = torch.from_numpy((codes < NO_BASE).sum(1).astype(np.float64)).reshape(-1, 1, 1)
        mrl, unscaled = model.head_shifts(pmax, psum.div(count).to(torch.float32), indicator)
    flat = np.concatenate([codes.reshape(-1), np.full(PAD, NO_BASE, np.uint8)])
    bases = np.zeros(codes.size + 1, dtype=np.int64)
    np.cumsum(codes.reshape(-1) < NO_BASE, out=bases[1:])
    state = ReferenceState(width, lengths, np.arange(n_blocks) * width + width - lengths, flat,
                           tracks["h0"], tracks["a"], tracks["h1"], tracks["za"], tracks["h2"], tracks["kmers"],
                           tracks["irregular"], pools, bases)
    return state, mrl, unscaled


# -- window arithmetic --------------------------------------------------------------------------
def _rows(state: ReferenceState, first: np.ndarray, count: int) -> torch.Tensor:
    """(E, count) int64 track rows first[e] + 0..count-1; rows past the track -> row 0 (a pad
    row: h0, a, h1, h2 = 0 there, za = b2 is multiplied by a zero mask, no 7-mer, not irregular)."""
    idx = first[:, None] + np.arange(count)
    idx[idx >= state.rows] = 0
    return torch.from_numpy(idx)


def _gather(track: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """track (T, 128), idx (E, R) -> (E, R, 128)."""
    return track.index_select(0, idx.reshape(-1)).view(*idx.shape, track.shape[1])


def _conv_add(x: torch.Tensor, taps: torch.Tensor, live: torch.Tensor, lo: int, hi: int, acc: torch.Tensor
              ) -> torch.Tensor:
    """Bias-free 'same' convolution of stacked windows x (E, R, 128) (rows outside 0 .. R - 1 are
    0) with the seven stacked taps (``taps`` (128, 7 * 128), column block u = W[:, :, 6 - u].T:
    the contribution of input row i to output row i + u - 3), over only the channels ``live`` of
    x (the others 0 in every row), output rows lo .. hi - 1 (indexed like the input rows) added to
    ``acc`` (E * (hi - lo) + 1, 128): rows e * (hi - lo) + j, the last row a trash row. Returns
    acc's first rows as (E, hi - lo, 128).

    Per group of windows of about PRODUCT_ROWS rows: one GEMM of their rows by the taps (the
    (rows, 7, 128) products of each input row, tap and output channel, small enough to stay in
    cache) and one index_add_ of the products into their output rows (those outside lo .. hi - 1
    into the trash row)."""
    e, n_rows, c = x.shape
    targets = (_cached_overlap_targets if e * n_rows <= SUB_BATCH_ROWS else _overlap_targets)(e, n_rows, lo, hi)
    x_live, taps_live = x.reshape(e * n_rows, c).index_select(1, live), taps.index_select(0, live)
    per = max(1, PRODUCT_ROWS // n_rows)  # windows per group
    products = torch.empty(min(per, e) * n_rows, taps.shape[1])
    for k in range(0, e, per):
        rows = slice(k * n_rows, min(k + per, e) * n_rows)
        y = torch.mm(x_live[rows], taps_live, out=products[:rows.stop - rows.start])
        acc.index_add_(0, targets[rows.start * WIDTH:rows.stop * WIDTH], y.view(-1, N_FILTERS))
    return acc[:-1].view(e, hi - lo, N_FILTERS)


def _overlap_targets(e: int, n_rows: int, lo: int, hi: int) -> torch.Tensor:
    """(E * R * 7,) int64 for :func:`_conv_add`: the output row of each (window, input row, tap)
    product, e * (hi - lo) + output row - lo, or the trash row E * (hi - lo) outside lo .. hi - 1."""
    width = hi - lo
    local = torch.arange(n_rows)[:, None] + torch.arange(WIDTH)[None, :] - HALF - lo  # (R, 7)
    inside = (local >= 0) & (local < width)
    return torch.where(inside, torch.arange(e)[:, None, None] * width + local, e * width).view(-1)


#: the same for sub-batches of at most SUB_BATCH_ROWS input rows (most share their shapes), cached:
#: <= 16 x 344 kB
_cached_overlap_targets = functools.lru_cache(maxsize=16)(_overlap_targets)


def _window_codes(state: ReferenceState, first: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  alt: np.ndarray) -> np.ndarray:
    """(E, n + 24) base codes of the alt on [s - 12, s + n + 12) (NO_BASE outside the sequence):
    the window W = [s - 9, s + n + 9) and the 3 bases beyond it each side that conv1's lookup
    reads."""
    left = state.codes[(first + starts)[:, None] + np.arange(-PAD, 0)]
    right = state.codes[(first + ends)[:, None] + np.arange(PAD)]
    return np.concatenate([left, alt, right], axis=1)


def _conv0(w: Conv2Weights, codes: np.ndarray, mask: torch.Tensor) -> torch.Tensor:
    """h0 on window rows 6 .. n + 11 (alt [s - 3, s + n + 3)) from (E, n + 24) window codes and the
    (E, n + 18, 1) mask of W: (E, n + 6, 128)."""
    e, r = codes.shape
    idx = conv0_bags(codes[:, 2 * HALF:r - 2 * HALF])  # (E, n + 6, 7)
    h0 = F.embedding_bag(idx.reshape(-1, WIDTH), w.table0, mode="sum").view(e, r - 6 * HALF, N_FILTERS)
    return h0.relu_().mul_(mask[:, 2 * HALF:-2 * HALF])


def _h0_part(w: Conv2Weights, st: ReferenceState, outer_left: torch.Tensor, outer_right: torch.Tensor,
             index: tuple[np.ndarray, np.ndarray], h0: torch.Tensor) -> torch.Tensor:
    """conv2(h0') (no bias) on W = [s - 9, s + n + 9) by lookup (:func:`tap_lookup`): (E, n + 18, 128),
    from the 7-mers of alt [s - 12, s + n + 12): the window's (``index``, :func:`kmer_index` of the
    window codes: alt [s - 9, s + n + 9)) and 3 cached each side (``outer_left``, ``outer_right``
    (E, 3) track rows); ``h0`` (E, n + 24, 128): h0' on alt [s - 12, s + n + 12) (for 7-mers next to
    an N)."""
    left, right = outer_left.numpy(), outer_right.numpy()
    kmers = np.concatenate([st.kmers[left], index[0], st.kmers[right]], axis=1)
    irregular = np.concatenate([st.irregular[left], index[1], st.irregular[right]], axis=1)
    return tap_lookup(w.table2, w.taps2, kmers, irregular,
                      lambda re, ri: h0[torch.from_numpy(re), torch.from_numpy(ri)])


def _window_substitution(w: Conv2Weights, st: ReferenceState, first: np.ndarray, starts: np.ndarray,
                         codes: np.ndarray, mask: torch.Tensor) -> torch.Tensor:
    """h2' on W = [s - 9, s + n + 9) for substitutions: (E, n + 18, 128).

    z2' = za + conv2(da) + conv2(h0'): za (b2 + conv2(a) of the reference) gathered on W; da = a' - a
    on the n + 12 rows where a changes, by GEMMs over the channels where da is not 0 anywhere in
    the sub-batch (:func:`live_channels`), overlap-added (:func:`_conv_add`); conv2(h0') on W by
    lookup (:func:`_h0_part`)."""
    e, n_rows = mask.shape[:2]  # n + 18; W's row i = position s - 9 + i
    n = n_rows - 2 * RF
    rows = _rows(st, first + starts - RF - HALF, n_rows + 2 * HALF)  # alt [s - 12, s + n + 12) ("ext" rows)
    on_w = rows[:, HALF:-HALF]
    index = kmer_index(codes)  # alt [s - 9, s + n + 9)
    h0 = _gather(st.h0, rows)
    h0[:, RF:RF + n + 2 * HALF] = _conv0(w, codes, mask)  # alt [s - 3, s + n + 3)
    a = conv1_lookup(w, codes, index).relu_().mul_(mask[:, HALF:-HALF])  # a' on alt [s - 6, s + n + 6)
    da = a - _gather(st.a, rows[:, 2 * HALF:-2 * HALF])
    h1 = _gather(st.h1, on_w)
    torch.add(a, h0[:, 2 * HALF:-2 * HALF], out=h1[:, HALF:-HALF])  # h1' = a' + h0'
    acc = torch.empty(e * n_rows + 1, N_FILTERS)
    torch.add(_gather(st.za, on_w).view(-1, N_FILTERS),
              _h0_part(w, st, rows[:, :HALF], rows[:, -HALF:], index, h0).view(-1, N_FILTERS), out=acc[:-1])
    z2 = _conv_add(da, w.taps2, live_channels(da), -HALF, n_rows - HALF, acc)
    return z2.relu_().mul_(mask).add_(h1)


def _window_direct(w: Conv2Weights, st: ReferenceState, first: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                   codes: np.ndarray, mask: torch.Tensor) -> torch.Tensor:
    """h2' on W = [s - 9, s + n + 9) for any edit (direct path): (E, n + 18, 128).

    z2' = b2 + conv2(a') by GEMMs over a' 's live channels (:func:`_conv_add`), a' on alt
    [s - 12, s + n + 12) (6 cached rows each side), + conv2(h0') on W by lookup (:func:`_h0_part`)."""
    e, n_rows = mask.shape[:2]  # n + 18
    n = n_rows - 2 * RF
    # the 9 cached rows each side of the n + 6 new ones: ref [s - 12, s - 3) and [e + 3, e + 12)
    flank_left, flank_right = _rows(st, first + starts - PAD, RF), _rows(st, first + ends + HALF, RF)
    index = kmer_index(codes)  # alt [s - 9, s + n + 9)
    # h0' on alt [s - 12, s + n + 12): 9 cached rows, n + 6 new (alt [s - 3, s + n + 3)), 9 cached
    h0 = torch.cat([_gather(st.h0, flank_left), _conv0(w, codes, mask), _gather(st.h0, flank_right)], dim=1)
    # a' on alt [s - 6, s + n + 6) from the lookup, 6 cached rows each side
    a = torch.cat([_gather(st.a, flank_left[:, :2 * HALF]),
                   conv1_lookup(w, codes, index).relu_().mul_(mask[:, HALF:-HALF]),
                   _gather(st.a, flank_right[:, HALF:])], dim=1)  # alt [s - 12, s + n + 12)
    h1 = a[:, HALF:-HALF] + h0[:, HALF:-HALF]  # on W
    acc = torch.empty(e * n_rows + 1, N_FILTERS)
    h0_part = _h0_part(w, st, flank_left[:, :HALF], flank_right[:, 2 * HALF:], index, h0)
    torch.add(h0_part.view(-1, N_FILTERS), w.b2, out=acc[:-1])
    z2 = _conv_add(a, w.taps2, live_channels(a, nonnegative=True), HALF, n + 2 * RF + HALF, acc)
    return z2.relu_().mul_(mask).add_(h1)


def _pools(st: ReferenceState, blocks: np.ndarray, lengths: np.ndarray, starts: np.ndarray, ends: np.ndarray,
           n: int, h2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame max (E, 3, 128) float32 and sum (E, 3, 128) float64 of the alt sequences."""
    e_count = h2.shape[0]
    alt_len = lengths + n - (ends - starts)
    frames = np.arange(3)
    offset = (st.width - lengths)[:, None]  # block-local row of reference position 0
    # left part: ref rows < a = s - 9; rows a - 1 - t (t = 0, 1, 2) hold the three residues, in alt frame (L' - a + t) % 3
    a = starts - RF
    left = a[:, None] - 1 - (frames[None, :] - alt_len[:, None] + a[:, None]) % 3
    # right part: ref rows >= b = e + 9; row b + t is in frame (L - 1 - b - t) % 3
    b = ends + RF
    right = b[:, None] + (lengths[:, None] - 1 - b[:, None] - frames[None, :]) % 3
    outside = right >= lengths[:, None]
    pmax, psum = _kept_pools(st, np.repeat(blocks, 3), np.maximum(offset + left, 0).reshape(-1),
                             (left < 0).reshape(-1), np.where(outside, 0, offset + right).reshape(-1),
                             outside.reshape(-1))
    pmax, psum = pmax.view(e_count, 3, N_FILTERS), psum.view(e_count, 3, N_FILTERS)
    # window: alt position s - 9 + i is in frame (L' - 1 - s + 9 - i) % 3
    n_rows = h2.shape[1]
    padded = F.pad(h2, (0, 0, 0, (-n_rows) % 3)).view(e_count, -1, 3, N_FILTERS)
    wmax, wsum = padded.amax(dim=1), padded.sum(dim=1).double()  # <= (n + 20) / 3 terms: float32 suffices
    # row e * 3 + residue of the window's (E * 3, 128) pools, per (edit, frame): one index_select
    # (a gather along dim 1 with an expanded index is ~6x slower)
    i = np.arange(e_count)[:, None] * 3 + (alt_len[:, None] - 1 - starts[:, None] + RF - frames[None, :]) % 3
    i = torch.from_numpy(i.reshape(-1))
    pmax = torch.maximum(pmax, wmax.view(-1, N_FILTERS).index_select(0, i).view(e_count, 3, N_FILTERS))
    psum += wsum.view(-1, N_FILTERS).index_select(0, i).view(e_count, 3, N_FILTERS)
    return pmax, psum


def _chunk_references(lengths: np.ndarray, edit_counts: np.ndarray, batch_size: int, threads: int
                      ) -> list[np.ndarray]:
    """Reference indices in chunks for :func:`reference_state`: sorted by length, about ``rows /
    (CHUNKS_PER_THREAD * threads)`` packed rows (length + PAD each) a chunk but at most CHUNK_ROWS and
    at least MIN_CHUNK_ROWS, cut at equal shares of the work (rows + EDIT_ROWS per edit, ``edit_counts``
    per reference) into a multiple of ``threads`` chunks (so the worker threads end together), then
    split where a chunk would hold more than ``batch_size`` references or, padded to its longest,
    more than CHUNK_ROWS rows (a longer reference is a chunk of its own)."""
    order = np.argsort(lengths, kind="stable")
    total = int((lengths + PAD).sum())
    if not total:
        return []
    target = min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, total // (CHUNKS_PER_THREAD * threads)))
    n_chunks = max(1, round(total / target), -(-total // CHUNK_ROWS))
    if n_chunks > 1 and threads > 1:
        n_chunks = -(-n_chunks // threads) * threads
    cost = np.cumsum(lengths[order] + PAD + EDIT_ROWS * edit_counts[order])
    cuts = np.unique(np.searchsorted(cost, cost[-1] * np.arange(1, n_chunks) / n_chunks, side="left") + 1)
    chunks = []
    for part in np.split(order, cuts[(cuts > 0) & (cuts < order.size)]):
        start = 0  # then at most batch_size references and CHUNK_ROWS packed rows (padded to the longest)
        while start < part.size:
            stop = start + 1
            while (stop < part.size and stop - start < batch_size
                   and (stop + 1 - start) * (lengths[part[stop]] + PAD) <= CHUNK_ROWS):
                stop += 1
            chunks.append(part[start:stop])
            start = stop
    return chunks


def predict_edits(model: Framepool, edits: Edits, indicator: np.ndarray | None, batch_size: int = 64
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """See :meth:`Framepool.predict_edits`. ``indicator``: None, (2,) or (len(ref_seqs), 2)."""
    n_refs, n_edits = len(edits.ref_seqs), len(edits)
    lengths = np.fromiter(map(len, edits.ref_seqs), dtype=np.int64, count=n_refs)
    has_base = np.zeros(n_refs, dtype=bool)  # per reference: any A/C/G/T (one pass over all of them)
    filled = np.flatnonzero(lengths)
    if filled.size:
        is_base = base_codes("".join(edits.ref_seqs)) < NO_BASE
        has_base[filled] = np.logical_or.reduceat(is_base, (np.cumsum(lengths) - lengths)[filled])
    no_base = np.flatnonzero(~has_base)
    if no_base.size:
        r = int(no_base[0])
        raise ValueError(f"Framepool: ref_seqs[{r}] ({edits.ref_seqs[r][:20]!r}, length {lengths[r]}) has no "
                         f"A/C/G/T base; the model's average pool is undefined for it")
    alt_all, alt_off = edits.alt_codes()
    alt_n = edits.alt_lengths
    cum = np.zeros(alt_all.size + 1, dtype=np.int64)
    np.cumsum(alt_all < NO_BASE, out=cum[1:])
    alt_bases = cum[alt_off[1:]] - cum[alt_off[:-1]]  # A/C/G/T bases per allele
    ind_all = torch.as_tensor(np.asarray((0.0, 1.0) if indicator is None else indicator, dtype=np.float32))
    per_ref_ind = ind_all.ndim == 2 and ind_all.shape[0] == n_refs and n_refs != 1
    ind_all = ind_all.reshape(-1, 2)

    ref_out = {k: np.empty(n_refs, np.float32) for k in ("mrl", "mrl_unscaled", "mrl_shift_1", "mrl_shift_2")}
    alt_out = {k: np.empty(n_edits, np.float32) for k in ref_out}
    w = Conv2Weights(model)
    threads = torch.get_num_threads()
    per_ref = np.bincount(edits.ref_index, minlength=n_refs)
    chunks = _chunk_references(lengths, per_ref, batch_size, threads)
    # the costliest first (worker threads take them in order)
    chunks.sort(key=lambda refs: -(len(refs) * (lengths[refs[-1]] + PAD) + EDIT_ROWS * int(per_ref[refs].sum())))
    block_of_ref = np.empty(n_refs, dtype=np.int64)  # index of each reference in its chunk
    for refs in chunks:
        block_of_ref[refs] = np.arange(len(refs))
    by_ref = np.argsort(edits.ref_index, kind="stable")
    edit_first = np.searchsorted(edits.ref_index[by_ref], np.arange(n_refs + 1))

    def chunk(refs):
        ind = ind_all[refs] if per_ref_ind else ind_all
        with torch.inference_mode():
            st, mrl, unscaled = reference_state(model, w, [edits.ref_seqs[r] for r in refs], ind,
                                                int(per_ref[refs].sum()))
        mrl, unscaled = mrl.numpy(), unscaled.numpy()
        ref_out["mrl"][refs], ref_out["mrl_unscaled"][refs] = mrl[:, 0], unscaled[:, 0]
        ref_out["mrl_shift_1"][refs], ref_out["mrl_shift_2"][refs] = mrl[:, 1], mrl[:, 2]
        which = np.concatenate([by_ref[edit_first[r]:edit_first[r + 1]] for r in refs])
        if which.size:
            _alt_chunk(model, w, st, edits, which, block_of_ref, alt_all, alt_off, alt_n, alt_bases,
                       ind_all, per_ref_ind, alt_out)

    if len(chunks) >= threads:
        parallel_map(chunk, chunks)  # one chunk per worker thread at a time, each single-threaded
    else:
        for refs in chunks:  # few chunks: intra-op threads for the trunk, worker threads for the alts
            chunk(refs)
    return ref_out, alt_out


def _extensions(n: np.ndarray, starts: np.ndarray, ends: np.ndarray, ref_lengths: np.ndarray, direct: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) reference bases to add to each edit so that ``direct`` edits of several allele
    lengths share one: from the longest down, a length joins the group above it where that adds at
    most MERGE_ROWS window rows to its edits (extension x their number, each length on its own;
    counting the edits that fit neither side too), else starts a group of its own.
    ``right`` where the reference has the bases after the edit (ends + right <= its length), else
    ``left`` before it (starts - left >= 0); 0 for the other edits and where neither fits (a
    reference shorter than the extension: that edit keeps its own length)."""
    zero = np.zeros(n.size, dtype=np.int64)
    if not direct.any():
        return zero, zero
    lengths, counts = np.unique(n[direct], return_counts=True)
    group = lengths.copy()  # the allele length each length is computed at
    for i in range(lengths.size - 2, -1, -1):
        above = group[i + 1]
        if (above - lengths[i]) * counts[i] <= MERGE_ROWS:
            group[i] = above
    k = np.where(direct, group[np.searchsorted(lengths, n).clip(max=lengths.size - 1)] - n, 0)
    to_right = ends + k <= ref_lengths
    to_left = ~to_right & (starts - k >= 0)
    return np.where(to_left, k, 0), np.where(to_right, k, 0)


def _extended_alleles(codes: np.ndarray, first: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                      alt_all: np.ndarray, offsets: np.ndarray, own: np.ndarray, left: np.ndarray, n: int
                      ) -> np.ndarray:
    """(E, n) base codes of the extended alleles ref[s - left:s] + allele + ref[e:...] (n bases
    each; ``own``: each allele's length, at ``offsets`` in ``alt_all``; ``codes`` the state's track
    codes, reference position p of edit i at track row first[i] + p)."""
    j = np.arange(n)[None, :] - left[:, None]  # position in the edit's own allele (< 0: before it)
    before = codes[first[:, None] + starts[:, None] + j.clip(max=-1)]  # ref[s + j] for j < 0
    after = codes[first[:, None] + ends[:, None] + (j - own[:, None]).clip(min=0)]  # ref[e + j - own]
    allele = alt_all[np.clip(offsets[:, None] + j, 0, max(alt_all.size - 1, 0))] if alt_all.size else after
    return np.where(j < 0, before, np.where(j < own[:, None], allele, after))


def _alt_chunk(model, w, st, edits, which, block_of_ref, alt_all, alt_off, alt_n, alt_bases, ind_all,
               per_ref_ind, alt_out) -> None:
    """Alt predictions of the edits ``which`` (all on references of state ``st``) into alt_out."""
    starts, ends = edits.starts[which], edits.ends[which]
    n_own = alt_n[which]
    subst = n_own == ends - starts
    # indels (direct path) of a shorter allele computed with a longer one where that costs few rows
    # (MERGE_ROWS): the allele extended by the reference bases after it (before it where the
    # reference ends first) gives the same alt sequence, and a small sub-batch is saved
    left, right = _extensions(n_own, starts, ends, st.lengths[block_of_ref[edits.ref_index[which]]], ~subst)
    n_group = n_own + left + right
    keys = n_group * 2 + (~subst)  # groups: allele length (extended), substitution or not
    items = []
    for key in np.unique(keys):
        in_group = keys == key
        group, ext = which[in_group], (left[in_group], right[in_group])
        n = int(key) // 2
        # at most SUB_BATCH_ROWS window rows, and one sub-batch per worker thread at least
        per = max(8, min(SUB_BATCH_ROWS // (n + 2 * RF + 2 * HALF), -(-group.size // torch.get_num_threads())))
        items += [(group[lo:lo + per], n, bool(key % 2), ext[0][lo:lo + per], ext[1][lo:lo + per])
                  for lo in range(0, group.size, per)]

    def sub_batch(item):
        idx, n, direct, ext_left, ext_right = item
        refs = edits.ref_index[idx]
        blocks = block_of_ref[refs]
        lengths = st.lengths[blocks]
        first = st.row0[blocks]
        s, e = edits.starts[idx], edits.ends[idx]
        count = (st.bases[first + lengths] - st.bases[first]) - (st.bases[first + e] - st.bases[first + s]) \
            + alt_bases[idx]
        if (count == 0).any():
            bad = int(idx[np.flatnonzero(count == 0)[0]])
            raise ValueError(f"Framepool: edit {bad} leaves no A/C/G/T base in its sequence; the model's "
                             f"average pool is undefined for it")
        if ext_left.any() or ext_right.any():  # ref[s - l:e + r] -> ref[s - l:s] + allele + ref[e:e + r]
            alt = _extended_alleles(st.codes, first, s, e, alt_all, alt_off[idx], alt_n[idx], ext_left, n)
            s, e = s - ext_left, e + ext_right
        else:
            alt = alt_all[alt_off[idx][:, None] + np.arange(n)] if n else np.zeros((idx.size, 0), np.uint8)
        codes = _window_codes(st, first, s, e, alt)
        with torch.inference_mode():
            mask = torch.from_numpy((codes[:, HALF:-HALF] < NO_BASE).astype(np.float32)).unsqueeze(2)
            if direct:
                h2 = _window_direct(w, st, first, s, e, codes, mask)
            else:
                h2 = _window_substitution(w, st, first, s, codes, mask)
            pmax, psum = _pools(st, blocks, lengths, s, e, n, h2)
            pavg = psum.div_(torch.from_numpy(count.astype(np.float64)).view(-1, 1, 1)).to(torch.float32)
            mrl, unscaled = model.head_shifts(pmax, pavg, ind_all[refs] if per_ref_ind else ind_all)
        mrl, unscaled = mrl.numpy(), unscaled.numpy()
        alt_out["mrl"][idx], alt_out["mrl_unscaled"][idx] = mrl[:, 0], unscaled[:, 0]
        alt_out["mrl_shift_1"][idx], alt_out["mrl_shift_2"][idx] = mrl[:, 1], mrl[:, 2]

    parallel_map(sub_batch, items)
