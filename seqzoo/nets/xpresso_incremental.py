"""Xpresso: exact alt predictions of substitutions (SNVs, MNVs) from the reference's cached state.

Coordinates are 0-based positions of the 10,500-nt window as given (model orientation).
Layers (see :mod:`seqzoo.nets.xpresso`): conv1 (width 6, position t reads bases t - 2 .. t + 3)
-> ReLU -> max-pool 30 (cell c = positions 30c .. 30c + 29, 350 cells) -> conv2 (width 9, 'same':
cell position c reads cells c - 4 .. c + 4) -> ReLU -> max-pool 10 (35 cells) -> flatten
(position * 32 + channel) -> dense head.

Cached per reference (:func:`reference_state`): base codes, the pooled conv1 output P1 (350, 128)
(after ReLU), the conv2 pre-activation Z2 (350, 32), the dense input (flattened pool-2 output and
half-life, 1126) and the dense1 pre-activation (64).

A substitution of bases p .. p + n - 1 changes conv1 at t in [p - 3, p + n + 1], hence the pool-1
cells c_lo .. c_hi (c = t // 30; 1 or 2 cells for an SNV), conv2 at positions [c_lo - 4, c_hi + 4]
and the pool-2 cells holding them (1 or 2). Per edit: the changed pool-1 cells are recomputed from
30 rows each of the conv1 table (the same table and maximum as the full pass, so they are
identical); conv2 is linear, so its cached pre-activation changes by conv2 (no bias) of the
changed cells' differences, one GEMM of all edits' changed cells by the nine stacked taps; the
pool-2 cells are maxima of the updated pre-activations (ReLU after the max); the dense1
pre-activation changes by the changed features' differences times their weight columns; then
ReLU and the two small dense layers. Edits are grouped by K1 = c_hi - c_lo + 1 and computed in
sub-batches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..ragged import run_offsets
from .edits import NO_BASE, Edits, parallel_map
from .xpresso import (CONV1_WIDTH, CONV2_FILTERS, CONV2_WIDTH, PAD1, PAD2, POOL1, POOL2, POS1, POS2, SEQ_LEN,
                      Xpresso, base_codes, kmer_codes)

#: pool-1 cells (edits x changed cells) per sub-batch: bounds the (cells, 30, 128) gather buffer
SUB_BATCH_CELLS = 2048


@dataclass
class ReferenceState:
    """Cached state of B references: ``codes`` (B, 10500 + 5) uint8 (NO_BASE on the 2 positions
    before and 3 after the window, conv1's 'same' padding); ``pooled1`` (B * 350, 128) ReLU'd
    pool-1 output (row 350 b + c: cell c of reference b); ``z2`` (B * 350, 32) conv2
    pre-activation; ``flat`` (B, 1126): the dense input, flattened pool-2 output and half-life;
    ``a1`` (B, 64): the dense1 pre-activation."""

    codes: np.ndarray
    pooled1: torch.Tensor
    z2: torch.Tensor
    flat: torch.Tensor
    a1: torch.Tensor


def reference_state(model: Xpresso, seqs, halflife) -> tuple[ReferenceState, torch.Tensor]:
    """State of 10,500-nt references and their predictions (B, 1) (the full pass's computation)."""
    codes = base_codes(seqs)
    hl = model._halflife(halflife, len(seqs), model.conv1.weight)
    kmers = torch.from_numpy(kmer_codes(codes))
    pooled1 = model.conv1_pool_codes(kmers)  # (B, 350, 128), ReLU'd
    z2 = model.conv2(pooled1.transpose(1, 2).contiguous())  # (B, 32, 350), before the ReLU
    flat = torch.cat([model.flatten(F.max_pool1d(F.relu(z2), POOL2)), hl], dim=1)
    a1 = model.dense1(flat)
    y = model.dense3(F.relu(model.dense2(F.relu(a1))))
    padded_codes = np.full((len(seqs), SEQ_LEN + CONV1_WIDTH - 1), NO_BASE, dtype=np.uint8)
    padded_codes[:, PAD1[0]:PAD1[0] + SEQ_LEN] = codes
    state = ReferenceState(padded_codes, pooled1.reshape(-1, pooled1.shape[2]),
                           z2.transpose(1, 2).reshape(-1, z2.shape[1]), flat, a1)
    return state, y


def _stacked_taps(model: Xpresso) -> torch.Tensor:
    """conv2 taps stacked (128 in, 9 * 32 out): column block u = weight[:, :, 8 - u].T, the
    contribution of an input cell to the output position u - 4 cells away."""
    w = model.conv2.weight.detach()
    return torch.cat([w[:, :, CONV2_WIDTH - 1 - u].T for u in range(CONV2_WIDTH)], dim=1).contiguous()


def _alt_group(model: Xpresso, st: ReferenceState, blocks: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
               alt_all: np.ndarray, alt_start: np.ndarray, c_lo: np.ndarray, k1: int,
               weights: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Alt predictions (E, 1) of substitutions whose changed pool-1 cells are c_lo .. c_lo + k1 - 1;
    edit i's allele is alt_all[alt_start[i]:alt_start[i] + lengths[i]]; ``weights``: the conv1
    table and the stacked conv2 taps."""
    e_count = blocks.size
    # 1. changed pool-1 cells: bases 30 c_lo - 2 .. 30 (c_lo + k1) + 2 (padded codes: + 2), alt applied
    span = k1 * POOL1 + CONV1_WIDTH - 1
    first = c_lo * POOL1  # padded-code index of base 30 c_lo - 2
    win = st.codes[blocks[:, None], first[:, None] + np.arange(span)]
    rows = np.repeat(np.arange(e_count), lengths)
    within = run_offsets(lengths)
    win[rows, within + np.repeat(starts + PAD1[0] - first, lengths)] = alt_all[within + np.repeat(alt_start, lengths)]
    win = win.T.astype(np.int64)  # (span, E): offset-major, so each cell's 30 rows are 30 slices
    kmers = win[:k1 * POOL1].copy()
    for k in range(1, CONV1_WIDTH):
        kmers *= 5
        kmers += win[k:k + k1 * POOL1]
    kmers = kmers.reshape(k1, POOL1, e_count).transpose(1, 0, 2).reshape(POOL1, k1 * e_count)
    table, taps2 = weights
    cells = table.index_select(0, torch.from_numpy(kmers.reshape(-1)))
    new1 = cells.view(POOL1, k1 * e_count, -1).amax(dim=0).relu_()  # (k1 * E, 128), cell-major
    # 2. conv2 is linear: its pre-activation changes by conv2_nobias(new - old cells) at positions
    #    c_lo - 4 .. c_hi + 4 (one GEMM by the nine stacked taps, then a shifted sum)
    base = blocks * POS1  # row of cell 0 of each reference in the flattened state
    old_rows = torch.from_numpy(((base + c_lo)[None, :] + np.arange(k1)[:, None]).reshape(-1))
    d1 = new1.sub_(st.pooled1.index_select(0, old_rows))
    n_pos = k1 + 2 * PAD2
    y = torch.mm(d1, taps2).view(k1, e_count, CONV2_WIDTH, CONV2_FILTERS)
    # 3. pool-2 cells d_first .. d_first + k2 - 1 covering the changed conv2 positions: cached
    #    pre-activations plus the change (out-of-range positions go to a trash row), ReLU, max
    pos_lo = c_lo - PAD2
    k2 = min((n_pos - 1) // POOL2 + 2, POS2)
    d_first = np.minimum(np.maximum(pos_lo, 0) // POOL2, POS2 - k2)
    win_rows = (base + d_first * POOL2)[:, None] + np.arange(k2 * POOL2)
    z2_win = F.pad(st.z2.index_select(0, torch.from_numpy(win_rows.reshape(-1))).view(e_count, -1, CONV2_FILTERS),
                   (0, 0, 0, 1))
    # window e's position p is row e * (k2 * POOL2 + 1) + p of win_flat (index_add_ on rows: ~2-4x
    # faster than scatter_add_ along dim 1 with an expanded index, the same sums)
    win_flat = z2_win.view(-1, CONV2_FILTERS)
    first_row = np.arange(e_count)[:, None] * (k2 * POOL2 + 1)
    for i in range(k1):  # changed cell c_lo + i adds tap 8 - u to position c_lo + i + u - 4
        pos = pos_lo[:, None] + i + np.arange(CONV2_WIDTH)
        target = np.where((pos >= 0) & (pos < POS1), pos - d_first[:, None] * POOL2, k2 * POOL2)
        win_flat.index_add_(0, torch.from_numpy((first_row + target).reshape(-1)), y[i].reshape(-1, CONV2_FILTERS))
    new2 = z2_win[:, :k2 * POOL2].view(e_count, k2, POOL2, CONV2_FILTERS).amax(dim=2).relu_()  # (E, k2, 32)
    # 4. dense1 is linear: its pre-activation changes by the changed features times their k2 * 32
    #    weight columns (one GEMM per first changed cell), then the rest of the head
    cols = d_first[:, None] * CONV2_FILTERS + np.arange(k2 * CONV2_FILTERS)
    delta = new2.view(e_count, -1) - st.flat.view(-1)[torch.from_numpy(blocks[:, None] * st.flat.shape[1] + cols)]
    a1 = st.a1.index_select(0, torch.from_numpy(blocks))
    w1 = model.dense1.weight.detach()
    for d in np.unique(d_first):
        sel = np.flatnonzero(d_first == d)
        part = delta if sel.size == e_count else delta[torch.from_numpy(sel)]
        contrib = part @ w1[:, d * CONV2_FILTERS:(d + k2) * CONV2_FILTERS].T
        if sel.size == e_count:
            a1 += contrib
        else:
            a1.index_add_(0, torch.from_numpy(sel), contrib)
    return model.dense3(F.relu(model.dense2(a1.relu_())))


def alt_predictions(model: Xpresso, st: ReferenceState, blocks: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray, alt_all: np.ndarray, alt_start: np.ndarray) -> np.ndarray:
    """(E,) float32 alt expression of substitutions of state references: edit i replaces bases
    starts[i] .. ends[i] - 1 of reference ``blocks[i]`` by alt_all[alt_start[i]:][:ends[i] - starts[i]]
    (base codes)."""
    out = np.empty(blocks.size, dtype=np.float32)
    lengths = ends - starts
    t_lo = np.maximum(starts - CONV1_WIDTH + PAD1[0] + 1, 0)  # first conv1 position reading a changed base
    t_hi = np.minimum(ends - 1 + PAD1[0], SEQ_LEN - 1)  # last one
    c_lo, c_hi = t_lo // POOL1, t_hi // POOL1
    k1_all = c_hi - c_lo + 1
    weights = (model.conv1_table(), _stacked_taps(model))  # built here, read by the worker threads
    items = []
    for k1 in np.unique(k1_all):
        group = np.flatnonzero(k1_all == k1)
        # at most SUB_BATCH_CELLS changed cells, and one sub-batch per worker thread at least
        per = max(1, min(SUB_BATCH_CELLS // int(k1), -(-group.size // torch.get_num_threads())))
        items += [(group[lo:lo + per], int(k1)) for lo in range(0, group.size, per)]

    def sub_batch(item):
        idx, k1 = item
        with torch.inference_mode():
            y = _alt_group(model, st, blocks[idx], starts[idx], lengths[idx], alt_all, alt_start[idx],
                           c_lo[idx], k1, weights)
        out[idx] = y[:, 0].numpy()

    parallel_map(sub_batch, items)
    return out


def predict_edits(model: Xpresso, edits: Edits, halflife, batch_size: int) -> tuple[dict, dict]:
    """See :meth:`Xpresso.predict_edits`; ``halflife``: None or (len(ref_seqs), 6)."""
    n_refs, n_edits = len(edits.ref_seqs), len(edits)
    ref_out = {"expression": np.empty(n_refs, np.float32)}
    alt_out = {"expression": np.empty(n_edits, np.float32)}
    alt_all, alt_off = edits.alt_codes()
    by_ref = np.argsort(edits.ref_index, kind="stable")
    edit_first = np.searchsorted(edits.ref_index[by_ref], np.arange(n_refs + 1))
    for lo in range(0, n_refs, batch_size):
        refs = np.arange(lo, min(n_refs, lo + batch_size))
        hl = None if halflife is None else halflife[refs]
        with torch.inference_mode():
            st, y = reference_state(model, [edits.ref_seqs[r] for r in refs], hl)
            ref_out["expression"][refs] = y[:, 0].numpy()
            which = by_ref[edit_first[lo]:edit_first[refs[-1] + 1]]
            if which.size:
                alt_out["expression"][which] = alt_predictions(
                    model, st, edits.ref_index[which] - lo, edits.starts[which], edits.ends[which],
                    alt_all, alt_off[which])
    return ref_out, alt_out
