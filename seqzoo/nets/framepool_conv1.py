"""Framepool's convolutions 1 and 2 by 7-mer lookup: the forward pass's and the incremental engine's.

h0 at a position (relu of convolution 0, before the mask) is a function of the 7 bases around it,
so what h0 contributes to a convolution's pre-activation at position j is a sum of seven table
rows: row (k, m) of :func:`h0_tap_table` holds the contribution through tap k (input position
j + k - 3) of a position whose 7-mer is m (:func:`kmer_index`), for all 4^7 A/C/G/T 7-mers and
the 10,752 "edge" 7-mers, with 1-3 Ns at one end only and A/C/G/T bases elsewhere: those of a
sequence's first and last three positions (N here is also the padding beyond a sequence's ends)
and the 3rd base from an N inside one (97.3 MB per convolution, built once per weights, ~0.1 s,
kept by :meth:`Framepool.cached`). Other positions whose 7-mer holds an N beside an A/C/G/T
centre (1-2 bases from an N inside a sequence, sequences shorter than 7 nt) add h0 x taps by
GEMM; an N centre adds nothing (its h0 is masked to 0). This replaces a convolution of h0 (~229k
FLOP a position) by seven 128-float gathers and equals it to float32 rounding (the same products,
summed tap by tap; checked in ``tests/test_incremental.py``).

* Convolution 1 (:func:`conv1_lookup`): its input is h0, so z1 is the seven rows plus the bias.
* Convolution 2 (:func:`tap_lookup` with the conv-2 table): its input h1 = a + h0 (the residual),
  a = relu(z1) m, depends on 13 bases (4^13 rows, too many for a table). By linearity z2 = b2 +
  conv2(h0) + conv2(a): the h0 part by lookup, the a part by GEMMs over only the channels where a
  is not 0 (:func:`live_channels`; in the published weights relu(z1) is 0 in ~70 of the 128
  channels on every position of typical sequences, so these GEMMs are ~45% as long). Leaving out
  channels that are exactly 0 in the whole track (or sub-batch of windows) leaves out products
  that are exactly 0 (with finite weights): the same sum up to float32 rounding (the order of the
  additions changes).

Base codes are :data:`seqzoo.nets.edits.NO_BASE`-padded uint8 arrays (A, C, G, T = 0..3), read
5' -> 3'; positions are 0-based.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .edits import NO_BASE
from .framepool import HALF, N_FILTERS, WIDTH, Framepool, conv0_bags, sliding_windows

KMERS = 4 ** WIDTH  # A/C/G/T 7-mers
#: edge 7-mers, k = 1, 2, 3 Ns at the 5' end (then 7 - k A/C/G/T bases) and the same at the 3' end:
#: 4^6 + 4^5 + 4^4 each side, numbered after the 4^7 (:func:`kmer_index`)
EDGE_SIZES = tuple(4 ** (WIDTH - k) for k in (1, 2, 3))
EDGE_KMERS = 2 * sum(EDGE_SIZES)
TAP_ROWS = KMERS + EDGE_KMERS  # rows per tap of the lookup tables (h0_tap_table)


def _edge_patterns() -> tuple[np.ndarray, np.ndarray]:
    """Per 7-bit N pattern (bit t: base t of the 7-mer is N): (128,) int64 offset of its 7-mer
    numbers (-1: no table row) and (128,) int64 right shift of the base-4 number of its bases
    read with N as A (the trailing Ns' zero digits of a 3' edge 7-mer)."""
    offset = np.full(1 << WIDTH, -1, dtype=np.int64)
    shift = np.zeros(1 << WIDTH, dtype=np.int64)
    offset[0] = 0
    left, right = KMERS, KMERS + sum(EDGE_SIZES)
    for k, size in zip((1, 2, 3), EDGE_SIZES):
        offset[(1 << k) - 1] = left  # Ns at positions 0 .. k - 1: the number's leading digits are 0
        offset[((1 << k) - 1) << (WIDTH - k)] = right  # Ns at positions 7 - k .. 6
        shift[((1 << k) - 1) << (WIDTH - k)] = 2 * k  # their k trailing zero digits
        left, right = left + size, right + size
    return offset, shift


_PATTERN_OFFSET, _PATTERN_SHIFT = _edge_patterns()


def table_kmers() -> np.ndarray:
    """(TAP_ROWS, 7) uint8 base codes (NO_BASE for N) of the 7-mer numbered i (:func:`kmer_index`)."""
    def digits(count: int, n: int) -> np.ndarray:  # (count, n) base-4 digits of 0 .. count - 1, first most significant
        return ((np.arange(count)[:, None] >> (2 * np.arange(n - 1, -1, -1))) & 3).astype(np.uint8)
    parts = [digits(KMERS, WIDTH)]
    for side in ("left", "right"):
        for k, size in zip((1, 2, 3), EDGE_SIZES):
            ns = np.full((size, k), NO_BASE, dtype=np.uint8)
            bases = digits(size, WIDTH - k)
            parts.append(np.concatenate([ns, bases] if side == "left" else [bases, ns], axis=1))
    return np.concatenate(parts)


def h0_tap_table(table0: torch.Tensor, taps: Sequence[torch.Tensor]) -> torch.Tensor:
    """A convolution's contributions of h0 of every 7-mer :func:`kmer_index` numbers: (7 *
    TAP_ROWS + 1, 128) float32.

    Row k * TAP_ROWS + m = h0(m) @ W[:, :, k].T, the contribution through tap k (input row j + k
    - 3 of output row j) of a position whose 7-mer is number m (:func:`table_kmers`): m < 4^7 its
    7 bases read 5' -> 3' as base-4 digits (A, C, G, T = 0..3, first base most significant), then
    the edge 7-mers. h0(m) = relu(conv0) of that 7-mer, computed exactly as the trunk does
    (:func:`conv0_bags`, the same table sum; an N reads as no base). The last row is 0 (for N /
    padding positions, whose h0 is 0). ``table0``: :meth:`Framepool.tap_weights`; ``taps``: its
    seven (128 in, 128 out) matrices of convolution 1 or 2. 97.3 MB; about 6 GFLOP to build.
    """
    with torch.inference_mode():
        h0 = F.embedding_bag(conv0_bags(table_kmers())[:, 0], table0, mode="sum").relu_()
        table = torch.empty(WIDTH * TAP_ROWS + 1, N_FILTERS)
        for k in range(WIDTH):
            torch.mm(h0, taps[k], out=table[k * TAP_ROWS:(k + 1) * TAP_ROWS])
        table[-1] = 0
    return table


def stacked_taps(conv: torch.nn.Conv1d) -> torch.Tensor:
    """(128 in, 7 * 128 out) weights of a width-7 convolution: column block u = W[:, :, 6 - u].T,
    the contribution of input row i to output row i + u - 3."""
    w = conv.weight.detach()
    return torch.cat([w[:, :, WIDTH - 1 - u].T for u in range(WIDTH)], dim=1).contiguous()


class Conv1Weights:
    """What :func:`conv1_lookup` reads, from a model's cache (:meth:`Framepool.cached`: built by
    :meth:`Framepool.prepare` or on first use, rebuilt when a convolution weight changes):
    ``table0`` (conv 0 as a table, :meth:`Framepool.tap_weights`), ``table1`` (:func:`h0_tap_table`
    of convolution 1), ``taps1`` (convolution 1's stacked taps, for the positions next to N) and
    ``b1`` (its bias)."""

    def __init__(self, model: Framepool):
        self.table0, taps1, _ = model.tap_weights()
        self.table1 = model.cached("conv1_table", lambda: h0_tap_table(self.table0, taps1), checked=True)
        self.taps1 = model.cached("stacked_taps1", lambda: stacked_taps(model.conv1), checked=True)
        self.b1 = model.conv1.bias.detach()


class Conv2Weights(Conv1Weights):
    """:class:`Conv1Weights` and what convolution 2 split into its h0 and a parts reads
    (:func:`tap_lookup`, :func:`live_channels`): ``table2`` (:func:`h0_tap_table` of convolution 2,
    another 97.3 MB), ``taps2`` (its stacked taps (128, 7 * 128)) and ``b2`` (its bias)."""

    def __init__(self, model: Framepool):
        super().__init__(model)
        taps2 = model.tap_weights()[2]
        self.table2 = model.cached("conv2_table", lambda: h0_tap_table(self.table0, taps2), checked=True)
        self.taps2 = model.cached("stacked_taps2", lambda: stacked_taps(model.conv2), checked=True)
        self.b2 = model.conv2.bias.detach()


def live_channels(a: torch.Tensor, nonnegative: bool = False) -> torch.Tensor:
    """(K,) int64 indices of the channels (last dim) of ``a`` (..., 128) that hold a value other
    than 0 anywhere, ascending (a NaN counts as not 0). ``nonnegative``: the caller knows a >= 0
    (a ReLU output), so the channel maxima tell (one pass, no |a| copy)."""
    a = a.reshape(-1, a.shape[-1])
    if a.shape[0] == 0:  # no rows (an empty batch): no channel
        return torch.zeros(0, dtype=torch.int64)
    return torch.nonzero(torch.amax(a if nonnegative else torch.abs(a), 0) != 0).view(-1)


def kmer_index(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For codes (E, M) uint8, per position i = 3 .. M - 4 (E, M - 6) arrays: the number of the
    7-mer of bases i - 3 .. i + 3 (its rows of :func:`h0_tap_table`) and whether it is
    "irregular", an N beside an A/C/G/T centre that no table row holds (the GEMM fallback). The
    number is: for A/C/G/T 7-mers their base-4 value (< 4^7); for edge 7-mers (1-3 Ns at one end
    only: a sequence's first and last three positions, the 3rd base from an N) 4^7 + their place
    among them; -1 for any other 7-mer with an N (the table's zero row for an N centre)."""
    c = codes.astype(np.int64)
    m = codes.shape[1] - 2 * HALF
    number = np.zeros((codes.shape[0], m), dtype=np.int64)
    is_n = (codes == NO_BASE).view(np.uint8)
    pattern = np.zeros((codes.shape[0], m), dtype=np.uint8)  # bit t: base t of the 7-mer is N
    for t in range(WIDTH):
        number <<= 2
        number |= c[:, t:t + m] & 3  # an N (NO_BASE = 4) reads as digit 0
        pattern |= is_n[:, t:t + m] << t
    offset = _PATTERN_OFFSET[pattern]
    number >>= _PATTERN_SHIFT[pattern]
    number += offset
    number[offset < 0] = -1
    irregular = (offset < 0) & (is_n[:, HALF:HALF + m] == 0)
    return number, irregular


def conv1_lookup(w: Conv1Weights, codes: np.ndarray, index: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> torch.Tensor:
    """Pre-activation z1 of convolution 1 (bias included) on positions 6 .. M - 7 of codes (E, M)
    uint8 (NO_BASE = N or padding): (E, M - 12, 128) float32, equal to the trunk's seven tap GEMMs
    up to float32 rounding. ``index``: :func:`kmer_index` of ``codes`` where the caller has it."""
    number, irregular = kmer_index(codes) if index is None else index  # positions 3 .. M - 4
    return tap_lookup(w.table1, w.taps1, number, irregular, codes_h0(w.table0, codes)).add_(w.b1)


def codes_h0(table0: torch.Tensor, codes: np.ndarray):
    """For :func:`tap_lookup`: h0 (R, 128) of positions (e, i + 3) of codes (E, M) (index
    positions of :func:`kmer_index`) from convolution 0's table."""
    def h0_at(row_e: np.ndarray, row_i: np.ndarray) -> torch.Tensor:
        windows = conv0_bags(codes[row_e[:, None], row_i[:, None] + np.arange(WIDTH)])[:, 0]
        return F.embedding_bag(windows, table0, mode="sum").relu_()
    return h0_at


def tap_lookup(table: torch.Tensor, taps: torch.Tensor, number: np.ndarray, irregular: np.ndarray, h0_at
               ) -> torch.Tensor:
    """What h0 contributes to a convolution (no bias) on input positions 3 .. R - 4 of
    :func:`kmer_index` arrays ``number``, ``irregular`` (E, R): (E, R - 6, 128) float32.
    ``table``: the convolution's :func:`h0_tap_table`; ``taps``: its stacked taps
    (:func:`stacked_taps`); ``h0_at(row_e, row_i)``: h0 (K, 128) of the irregular positions
    (:func:`codes_h0`, or rows of a cached track).

    Each output row is the sum of seven rows of ``table`` (one per tap, chosen by the 7-mer around
    the input position; an N centre adds the zero row), plus, for the irregular input positions
    (an N beside an A/C/G/T centre that is not an edge 7-mer: 1-2 bases from an N inside a sequence,
    in sequences shorter than 7 nt), their h0 times the seven stacked taps, overlap-added.
    """
    e, r = number.shape
    out_rows = r - 2 * HALF
    zero = WIDTH * TAP_ROWS
    bags = sliding_windows(number, WIDTH)  # (E, out_rows, 7)
    bags = np.where(bags >= 0, bags + np.arange(0, WIDTH * TAP_ROWS, TAP_ROWS), zero)
    z = F.embedding_bag(torch.from_numpy(bags.reshape(-1, WIDTH)), table, mode="sum")
    row_e, row_i = np.nonzero(irregular)
    if row_e.size:  # input position i feeds output positions i + u - 3 (u = 0..6): output rows i + u - 6
        y = torch.mm(h0_at(row_e, row_i), taps)  # (K, 7 * 128)
        local = row_i[:, None] + np.arange(WIDTH) - 2 * HALF
        inside = (local >= 0) & (local < out_rows)
        target = torch.from_numpy((row_e[:, None] * out_rows + local)[inside])
        z.index_add_(0, target, y.view(-1, WIDTH, N_FILTERS)[torch.from_numpy(inside)])
    return z.view(e, out_rows, N_FILTERS)
