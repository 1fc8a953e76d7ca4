"""Framepool (Karollus et al. 2021): 5'UTR sequence -> mean ribosome load (MRL).

Architecture of ``Framepool_combined_residual.h5`` (Keras 2.2.4, layer names as in the file):

* input ``input_seq`` (B, L, 4), one-hot A, C, G, T; N (and batch padding) = all-zero row;
  pad mask m (B, L) = row sums (1 for a base, 0 for N/padding);
* ``convolution_0..2``: Conv1D(128, 7, 'same', ReLU), each output multiplied by m;
  residual adds after convolution 1 and 2 (``add_residual_1/2``);
* ``frame_masking``: the sequence is reversed (frames count from the 3' end, i.e. relative to the
  start codon that follows the 5'UTR) and split into frames at reversed positions 0::3, 1::3, 2::3;
* per frame a global max pool and a masked average pool whose denominator is the number of non-N
  positions of the whole sequence; concatenated as [max f1, f2, f3, avg f1, f2, f3] (768);
* ``fully_connected_0`` Dense(64, ReLU) (dropout inactive), ``mrl_output_unscaled`` Dense(1) = u;
* library scaling: ``scaling_regression`` Dense(1, no bias) on [u*i0, u*i1, i0, i1] with the
  experiment indicator i = ``input_experiment`` (default [0, 1], as the Kipoi wrapper).

Left-padding a batch with zero rows is neutral (padding is masked after every convolution,
features are >= 0 so padding never wins the max, frames count from the 3' end), so variable-length
batches are left-padded. Appending s zero rows on the 3' end (the Kipoi ``shift_s`` scores) leaves
every feature unchanged and only relabels the frames, so the shifted predictions reuse one
convolution pass: :meth:`Framepool.forward_shifts`.

Strings in (:meth:`Framepool.predict_batch`) take a packed, channels-last inference path
(:meth:`Framepool.trunk_packed`): each sequence is right-aligned in a block of W rows (at least
``gap`` >= 3 N rows before each sequence), the blocks are stacked into one (B*W, 128) track, and
each convolution is seven GEMMs (one per tap, each reading a shifted slice of the track)
accumulating into one output, with the bias, ReLU, mask and residual applied in place. Zero rows
between the sequences make the 'same' convolutions of the whole track equal those of each
sequence alone, and row w of every block is in frame (W - 1 - w) % 3, so a frame pool is one
strided reduction over all blocks. Convolution 1 there is by default a 7-mer table lookup, and
convolution 2 is split by linearity into its part from h0 (a second 7-mer table) and its part from
relu(z1) m, GEMMs over only the channels of that which are not 0 (:mod:`seqzoo.nets.framepool_conv1`,
equal to the GEMMs to float32 rounding; :meth:`Framepool.literal` gives the twin that computes both
as GEMMs). The tensor path (:meth:`Framepool.forward`, :meth:`Framepool.trunk`) stays the literal
Keras graph, with autograd.
"""
from __future__ import annotations

import copy
import hashlib
import threading
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoding import one_hot_batch
from ..keras_h5 import KerasWeights, conv1d_kernel, dense_kernel
from ..ragged import run_positions
from .base import SequenceModel
from .edits import NO_BASE, base_codes, check_edits, parallel_map

DEFAULT_INDICATOR = (0.0, 1.0)
N_FILTERS = 128
WIDTH = 7  # convolution kernel width
HALF = WIDTH // 2  # 'same' padding on each side
#: the packed trunk's convolutions run over blocks of at most this many track rows (equal blocks,
#: :func:`row_blocks`): each block's seven tap GEMMs and its residual add then work on data still in
#: cache (one thread, 16,384 rows: 78 -> 86 GFLOP/s, a float32 GEMM's peak here being ~90; at 6,600
#: rows, a 64-sequence batch of 100 nt, 2 blocks are as fast as 1)
CONV_BLOCK_ROWS = 4096


#: the forward pass (:meth:`Framepool.predict_packed`) reuses its (rows, 128) float32 work tracks
#: (h1, h2, and with convolution 2 split a, conv2(h0) and a's live channels) from one batch to the
#: next, per thread, when a batch has at most this many rows (five tracks of 32 MiB at most stay
#: allocated; longer batches allocate theirs afresh). Fresh tracks every batch cost 7-8% of the
#: forward pass at 100 nt (first-touch of new memory).
WORKSPACE_MAX_ROWS = 1 << 16
_workspaces = threading.local()


def thread_workspace() -> dict:
    """This thread's reusable work tracks for :meth:`Framepool.trunk_packed` (``workspace=``)."""
    ws = getattr(_workspaces, "tracks", None)
    if ws is None:
        ws = _workspaces.tracks = {}
    return ws


def _track(workspace: dict | None, name: str, rows: int) -> torch.Tensor:
    """A (rows, 128) float32 track: a view of ``workspace[name]`` (grown as needed; not zeroed)
    when a workspace is given and rows <= WORKSPACE_MAX_ROWS, else a new tensor."""
    if workspace is None or rows > WORKSPACE_MAX_ROWS:
        return torch.empty(rows, N_FILTERS)
    buf = workspace.get(name)
    if buf is None or buf.shape[0] < rows:
        buf = workspace[name] = torch.empty(rows, N_FILTERS)
    return buf[:rows]


def _live_part(a: torch.Tensor, taps: Sequence[torch.Tensor], workspace: dict | None
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Convolution 2's input restricted to the live channels of a (T, 128) >= 0
    (:func:`seqzoo.nets.framepool_conv1.live_channels`): (T + 6, K) with 3 zero rows each side (in
    ``workspace`` where given, as :func:`_track`), and the seven (128, 128) ``taps`` cut to those K
    input rows, for :meth:`Framepool.conv_taps`."""
    from .framepool_conv1 import live_channels
    live = live_channels(a, nonnegative=True)
    rows, k = a.shape[0], live.numel()
    padded = _track(workspace, "a_live", rows + 2 * HALF).view(-1)[:(rows + 2 * HALF) * k].view(rows + 2 * HALF, k)
    padded[:HALF] = 0
    padded[HALF + rows:] = 0
    torch.index_select(a, 1, live, out=padded[HALF:HALF + rows])
    return padded, [t.index_select(0, live) for t in taps]


def row_blocks(rows: int) -> list[tuple[int, int]]:
    """[a, b) row ranges of near-equal blocks of at most :data:`CONV_BLOCK_ROWS` covering 0 .. rows."""
    n = max(1, -(-rows // CONV_BLOCK_ROWS))
    cuts = [rows * i // n for i in range(n + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def pack_codes(seqs: Sequence[str], gap: int = HALF) -> tuple[np.ndarray, np.ndarray]:
    """Base codes right-aligned in blocks: ((B, W) uint8 with NO_BASE before each sequence,
    (B,) int64 lengths), W = ``gap`` + the longest length."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = gap + int(lengths.max(initial=0))
    out = np.full((len(seqs), width), NO_BASE, dtype=np.uint8)
    if lengths.sum():
        codes = base_codes("".join(seqs))
        rows = np.repeat(np.arange(len(seqs)), lengths)
        cols = run_positions(width - lengths, lengths)
        out[rows, cols] = codes
    return out, lengths


def sliding_windows(a: np.ndarray, width: int) -> np.ndarray:
    """Read-only view (..., M - width + 1, width) of the windows along the last axis of a (..., M),
    M >= width: numpy's ``sliding_window_view(a, width, axis=-1)`` without its ~25 us of argument
    handling per call (these run per sub-batch, holding the GIL)."""
    a = np.ascontiguousarray(a)
    if a.size == 0:
        return np.lib.stride_tricks.sliding_window_view(a, width, axis=-1)
    view = np.ndarray(a.shape[:-1] + (a.shape[-1] - width + 1, width), a.dtype, buffer=a,
                      strides=a.strides + (a.strides[-1],))
    view.flags.writeable = False
    return view


def conv0_bags(codes: np.ndarray) -> torch.Tensor:
    """Rows of the conv0 table (:meth:`Framepool.tap_weights`, row 5 * k + code) to sum for each
    7-base window of base codes (..., M) uint8: (..., M - 6, 7) int64, window i centred on code i + 3."""
    windows = sliding_windows(codes, WIDTH)
    return torch.from_numpy(windows.astype(np.int64) + np.arange(0, WIDTH * (NO_BASE + 1), NO_BASE + 1))


class Framepool(SequenceModel):
    """Torch Framepool. Inputs (B, L, 4) float32 left-padded one-hot, indicator (B, 2) or (2,)."""

    name = "Framepool"
    per_sequence_inputs = ("indicator",)

    def __init__(self):
        super().__init__()
        self.conv0 = torch.nn.Conv1d(4, N_FILTERS, 7, padding=3)
        self.conv1 = torch.nn.Conv1d(N_FILTERS, N_FILTERS, 7, padding=3)
        self.conv2 = torch.nn.Conv1d(N_FILTERS, N_FILTERS, 7, padding=3)
        self.fc0 = torch.nn.Linear(6 * N_FILTERS, 64)
        self.fc_out = torch.nn.Linear(64, 1)
        self.scaling = torch.nn.Linear(4, 1, bias=False)

    # -- pieces ------------------------------------------------------------------------------
    def trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, L, 4) -> masked features (B, 128, L) and pad mask (B, L)."""
        mask = x.sum(dim=2)
        m = mask.unsqueeze(1)
        xc = x.transpose(1, 2)
        if torch.is_grad_enabled():  # autograd needs each ReLU output intact
            h0 = F.relu(self.conv0(xc)) * m
            h1 = F.relu(self.conv1(h0)) * m + h0
            h2 = F.relu(self.conv2(h1)) * m + h1
            return h2, mask
        # inference: in place on the fresh conv outputs, no new (B, 128, L) tensor per elementwise op
        h0 = self.conv0(xc).relu_().mul_(m)
        h1 = self.conv1(h0).relu_().mul_(m).add_(h0)
        h2 = self.conv2(h1).relu_().mul_(m).add_(h1)
        return h2, mask

    @staticmethod
    def frame_pools(features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-residue max and masked mean over columns grouped by (L' - 1 - j) % 3.

        The features are left-padded with zero columns to a width L' divisible by 3 (and >= 3).
        Returns (max, mean), each (B, 128, 3), indexed by t = j % 3 of the padded column j; the
        frame (reversed position mod 3) of group t is (2 - t) % 3.
        """
        width = features.shape[2]
        pad = (-width) % 3 if width >= 3 else 3 - width
        if pad:
            features = F.pad(features, (pad, 0))
        # (B, 128, 3, L'/3) contiguous: reducing the last axis is ~1.6x faster than a strided middle axis
        grouped = features.reshape(features.shape[0], features.shape[1], -1, 3).transpose(2, 3).contiguous()
        count = mask.sum(dim=1).reshape(-1, 1, 1)
        return grouped.amax(dim=3), grouped.sum(dim=3) / count

    def head(self, pooled: torch.Tensor, indicator: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pooled (B, 768), indicator (B, 2) -> (mrl (B,), mrl_unscaled (B,))."""
        u = self.fc_out(F.relu(self.fc0(pooled)))
        mrl = self.scaling(torch.cat([u * indicator, indicator], dim=1))
        return mrl[:, 0], u[:, 0]

    def forward_shifts(self, x: torch.Tensor, indicator: torch.Tensor, shifts: Sequence[int] = (0, 1, 2)
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """MRL for the sequence with s in ``shifts`` zero rows appended at the 3' end.

        Returns (mrl, mrl_unscaled), each (B, len(shifts)). One convolution pass serves all shifts.
        """
        features, mask = self.trunk(x)
        pmax, pavg = self.frame_pools(features, mask)
        indicator = indicator.expand(x.shape[0], 2)
        mrls, unscaled = [], []
        for s in shifts:
            groups = [(2 + s - frame) % 3 for frame in range(3)]
            pooled = torch.cat([pmax[:, :, t] for t in groups] + [pavg[:, :, t] for t in groups], dim=1)
            mrl, u = self.head(pooled, indicator)
            mrls.append(mrl)
            unscaled.append(u)
        return torch.stack(mrls, dim=1), torch.stack(unscaled, dim=1)

    def forward(self, x: torch.Tensor, indicator: torch.Tensor | None = None) -> torch.Tensor:
        """Keras-equivalent forward: (B, L, 4), (B, 2) -> MRL (B, 1)."""
        if indicator is None:
            indicator = torch.tensor([DEFAULT_INDICATOR], dtype=x.dtype, device=x.device)
        mrl, _ = self.forward_shifts(x, indicator, shifts=(0,))
        return mrl

    # -- packed channels-last inference path ---------------------------------------------------
    def tap_weights(self) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Channels-last weights (no gradient), cached until a convolution parameter changes.

        Returns the conv0 table (35, 128): row 5 * k + c = conv0.weight[:, c, k] for base code
        c = 0..3, 0 for c = NO_BASE, with the conv0 bias added to the tap-0 rows (so the sum of
        one row per tap is the biased pre-activation); and conv1 / conv2 as seven (128 in, 128 out)
        matrices each, one per tap k (input row j + k - 3 of output row j).

        The cache (and :meth:`cached`) is keyed on each convolution parameter's storage and
        version counter, so in-place changes are seen; changes through ``param.data`` bypass the
        version counter: call :meth:`clear_cache` after those.
        """
        params = [p for conv in (self.conv0, self.conv1, self.conv2) for p in (conv.weight, conv.bias)]
        try:
            key = tuple((p.data_ptr(), p._version) for p in params)
        except RuntimeError:  # inference tensors have no version counter: key by content (~1 ms)
            digest = hashlib.blake2b(digest_size=16)
            for p in params:
                digest.update(p.detach().cpu().contiguous().numpy().tobytes())
            key = digest.digest()
        box = self._weight_tables()
        if box.get("key") != key:
            with torch.no_grad():
                w0 = self.conv0.weight.detach()
                table = torch.zeros(WIDTH, NO_BASE + 1, N_FILTERS, dtype=w0.dtype, device=w0.device)
                table[:, :4] = w0.permute(2, 1, 0)
                table[0] += self.conv0.bias.detach()
                taps = [[conv.weight.detach()[:, :, k].T.contiguous() for k in range(WIDTH)]
                        for conv in (self.conv1, self.conv2)]
            box.clear()
            box.update(key=key, taps=(table.reshape(-1, N_FILTERS), taps[0], taps[1]), derived={})
        return box["taps"]

    def _weight_tables(self) -> dict:
        """The holder of :meth:`tap_weights`' and :meth:`cached`'s tables: one dict object for the
        model's life, shared with its :meth:`literal` twin (so :meth:`clear_cache` on either
        reaches both)."""
        box = self.__dict__.get("_tables")
        if box is None:
            box = self.__dict__["_tables"] = {}
        return box

    def cached(self, name: str, build, checked: bool = False):
        """``build()``, kept until a convolution parameter changes (as :meth:`tap_weights`):
        for tables derived from the weights, such as convolution 1's 7-mer table. ``checked``: the
        caller has just called :meth:`tap_weights` (skips a second check of the weights, ~1 ms
        for weights created under ``torch.inference_mode``, which are keyed by content)."""
        if not checked or "derived" not in self._weight_tables():
            self.tap_weights()
        derived = self._weight_tables()["derived"]
        if name not in derived:
            derived[name] = build()
        return derived[name]

    def clear_cache(self) -> None:
        """Forget :meth:`tap_weights` and :meth:`cached` (after changing weights via ``.data``)."""
        self._weight_tables().clear()

    @staticmethod
    def conv_taps(h_padded: torch.Tensor, taps: Sequence[torch.Tensor], bias: torch.Tensor,
                  out: torch.Tensor, residual: torch.Tensor | None = None, dst: torch.Tensor | None = None
                  ) -> torch.Tensor:
        """'same' convolution of a channels-last track: ``h_padded`` (T + 6, 128) (3 extra rows
        each side), seven tap matrices (128, 128), bias (128,) -> pre-activation ``out`` (T, 128),
        as seven GEMMs accumulating into ``out`` (each reads a shifted, contiguous slice of the
        track), in blocks of rows (:func:`row_blocks`). The input may have K < 128 channels
        (``h_padded`` (T + 6, K), taps (K, 128)).

        With ``residual`` (T, 128) >= 0 and ``dst`` (T, 128): also, block by block while it is in
        cache, ``dst`` = max(out + residual, residual), which is relu(out) + residual exactly (for
        z > 0, fl(z + h) >= h; for z <= 0 it is h). The caller zeroes dst's N / padding rows."""
        if (residual is None) != (dst is None):
            raise ValueError("conv_taps: give residual and dst together")
        for a, b in row_blocks(out.shape[0]):
            block = out[a:b]
            torch.addmm(bias, h_padded[a:b], taps[0], out=block)
            for k in range(1, WIDTH):
                block.addmm_(h_padded[a + k:b + k], taps[k])
            if residual is not None:
                torch.maximum(torch.add(block, residual[a:b], out=dst[a:b]), residual[a:b], out=dst[a:b])
        return out

    def trunk_packed(self, codes: np.ndarray, keep_pre: bool = False, lookup=None,
                     workspace: dict | None = None) -> dict[str, torch.Tensor]:
        """Inference trunk on packed base codes (B, W) uint8 (:func:`pack_codes`; every block
        starts with >= 3 NO_BASE rows).

        Returns channels-last (B * W, 128) float32 tracks ``h0``, ``h1``, ``h2`` (the masked
        features after convolution 0, 1, 2 and the residual adds; zero on N and padding rows),
        ``mask`` (B * W, 1), and with ``keep_pre`` the pre-activations ``z1``, ``z2`` of
        convolutions 1 and 2. Row b * W + w holds block b's row w. No autograd. ``lookup``
        (:class:`seqzoo.nets.framepool_conv1.Conv1Weights`): convolution 1 by 7-mer lookup
        (:func:`seqzoo.nets.framepool_conv1.conv1_lookup`, equal to float32 rounding) instead of
        its seven tap GEMMs. ``workspace`` (:func:`thread_workspace`; not with ``keep_pre``): h1
        and h2 are views of its reused tracks, valid until the next call with it.

        Without ``keep_pre`` each residual layer is computed in three passes over each block of
        rows of its output (:func:`row_blocks`): out = h + bias, the seven tap GEMMs accumulate
        into it (out = z + h), then max(out, h) = relu(z) + h; then the N / padding rows are zeroed
        (where the mask is 0, h is 0 and so is the Keras output relu(z) * 0 + 0); with ``lookup``,
        convolution 1's z (bias included) comes from the table block by block and max(z + h, h)
        goes to the next track. With ``keep_pre``, z is kept and relu(z) + h = max(z + h, h) goes
        to the next track. With a :class:`seqzoo.nets.framepool_conv1.Conv2Weights` as ``lookup``,
        convolution 2 is split too: z2 = za + conv2(h0) by lookup, za = b2 + conv2(a) by GEMMs over
        only a's live channels (a = relu(z1) m; see :mod:`seqzoo.nets.framepool_conv1`); without
        ``keep_pre`` each block of h2 is then h1 + b2 + conv2(h0) with the GEMMs accumulated, max'ed
        with h1 (``workspace`` also holds the a and conv2(h0) tracks); with ``keep_pre`` the result
        also holds the tracks ``a``, ``za``, ``kmers`` (B * W,) int64 and ``irregular`` (B * W,)
        bool, the :func:`~seqzoo.nets.framepool_conv1.kmer_index` of each track row.
        """
        if codes.ndim != 2:
            raise ValueError(f"packed codes must be (B, W), got shape {codes.shape}")
        if keep_pre and workspace is not None:
            raise ValueError("trunk_packed: keep_pre returns tracks to keep; it takes no workspace")
        rows = codes.size
        table0, taps1, taps2 = self.tap_weights()
        with torch.inference_mode():
            # conv0 over the track and 3 extra rows each side (masked to 0 there): one table row
            # per tap and window base (bias in the tap-0 rows), summed
            flat = np.full(rows + 4 * HALF, NO_BASE, dtype=np.uint8)
            flat[2 * HALF:2 * HALF + rows] = codes.reshape(-1)
            windows = conv0_bags(flat)
            no_base = torch.from_numpy(flat[HALF:HALF + rows + 2 * HALF] == NO_BASE)  # padded rows, 3 extra each side
            mask = (~no_base[HALF:HALF + rows]).to(torch.float32).unsqueeze(1)
            masked = torch.nonzero(no_base).view(-1)
            masked_rows = masked[(masked >= HALF) & (masked < HALF + rows)] - HALF  # track rows that are N / padding
            h0_padded = F.embedding_bag(windows, table0, mode="sum").relu_().index_fill_(0, masked, 0)
            h1_padded = _track(workspace, "h1_padded", rows + 2 * HALF)
            h1_padded[:HALF] = 0
            h1_padded[HALF + rows:] = 0
            h0, h1 = h0_padded[HALF:HALF + rows], h1_padded[HALF:HALF + rows]
            h2 = _track(workspace, "h2", rows)
            out = {"h0": h0, "h1": h1, "h2": h2, "mask": mask}
            if lookup is not None:
                from .framepool_conv1 import codes_h0, conv1_lookup, kmer_index, tap_lookup
            split = getattr(lookup, "table2", None) is not None  # a Conv2Weights: convolution 2 split
            if keep_pre:
                if lookup is not None:
                    index = kmer_index(flat[None])  # positions 3 .. rows + 8 of flat: track rows -3 .. rows + 2
                    z1 = conv1_lookup(lookup, flat[None], index)[0]
                else:
                    z1 = self.conv_taps(h0_padded, taps1, self.conv1.bias.detach(), out=torch.empty_like(h1))
                # relu(z1) * mask + h0 (h0 >= 0, and 0 on the masked rows): max(z1 + h0, h0), masked rows zeroed
                torch.maximum(torch.add(z1, h0, out=h1), h0, out=h1).index_fill_(0, masked_rows, 0)
                out["z1"] = z1
                if split:  # z2 = za + conv2(h0) by lookup, za = b2 + conv2(a) over a's live channels
                    a = torch.relu(z1).index_fill_(0, masked_rows, 0)
                    a_padded, taps = _live_part(a, taps2, None)
                    za = self.conv_taps(a_padded, taps, lookup.b2, out=torch.empty_like(h2))
                    z2 = tap_lookup(lookup.table2, lookup.taps2, *index, codes_h0(lookup.table0, flat[None]))[0]
                    z2.add_(za)
                    torch.maximum(torch.add(z2, h1, out=h2), h1, out=h2)  # relu(z2) + h1
                    out.update(z2=z2, za=za, a=a)
                    out["kmers"] = index[0][0, HALF:HALF + rows]
                    out["irregular"] = index[1][0, HALF:HALF + rows]
                else:
                    out["z2"] = self.conv_taps(h1_padded, taps2, self.conv2.bias.detach(),
                                               out=torch.empty_like(h2), residual=h1, dst=h2)
                h2.index_fill_(0, masked_rows, 0)
            elif split:  # convolution 2 split as with keep_pre, by blocks
                a_track, h0_part = _track(workspace, "a", rows), _track(workspace, "h0_part", rows)
                for a, b in row_blocks(rows):
                    block_codes = flat[None, a:b + 4 * HALF]  # track rows a .. b - 1 and 6 more each side
                    index = kmer_index(block_codes)
                    z1 = conv1_lookup(lookup, block_codes, index)[0]
                    torch.clamp(z1, min=0, out=a_track[a:b])
                    torch.maximum(z1.add_(h0[a:b]), h0[a:b], out=h1[a:b])
                    h0_part[a:b] = tap_lookup(lookup.table2, lookup.taps2, *index,
                                              codes_h0(lookup.table0, block_codes))[0]
                h1.index_fill_(0, masked_rows, 0)
                a_track.index_fill_(0, masked_rows, 0)
                a_padded, taps = _live_part(a_track, taps2, workspace)
                for a, b in row_blocks(rows):  # h1 + b2 + conv2(h0) + conv2(a) = z2 + h1, then max(., h1)
                    block = torch.add(h1[a:b], h0_part[a:b], out=h2[a:b]).add_(lookup.b2)
                    for k in range(WIDTH):
                        block.addmm_(a_padded[a + k:b + k], taps[k])
                    torch.maximum(block, h1[a:b], out=block)
                h2.index_fill_(0, masked_rows, 0)
            else:
                layers = [(h1_padded, taps2, self.conv2.bias, h2)]
                if lookup is not None:  # convolution 1 by lookup, one block of rows at a time (no full-length z1)
                    for a, b in row_blocks(rows):
                        z1 = conv1_lookup(lookup, flat[None, a:b + 4 * HALF])[0]  # track rows a .. b - 1
                        torch.maximum(z1.add_(h0[a:b]), h0[a:b], out=h1[a:b])
                    h1.index_fill_(0, masked_rows, 0)
                else:
                    layers.insert(0, (h0_padded, taps1, self.conv1.bias, h1))
                for h_padded, taps, bias, dst in layers:
                    h = h_padded[HALF:HALF + rows]
                    for a, b in row_blocks(rows):  # see CONV_BLOCK_ROWS
                        block = torch.add(h[a:b], bias.detach(), out=dst[a:b])
                        for k in range(WIDTH):
                            block.addmm_(h_padded[a + k:b + k], taps[k])
                        torch.maximum(block, h[a:b], out=block)
                    dst.index_fill_(0, masked_rows, 0)
        return out

    @staticmethod
    def frame_pools_packed(h2: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Track (B * W, 128) of blocks of W rows -> per-frame max and sum (B, 3, 128), frame f =
        rows w of each block with (W - 1 - w) % 3 == f (an empty frame gives 0: features are >= 0)."""
        blocks = h2.view(-1, width, N_FILTERS)
        pmax = h2.new_zeros(blocks.shape[0], 3, N_FILTERS)
        psum = h2.new_zeros(blocks.shape[0], 3, N_FILTERS)
        for f in range(min(3, width)):
            rows = blocks[:, (width - 1 - f) % 3::3]
            torch.amax(rows, dim=1, out=pmax[:, f])
            torch.sum(rows, dim=1, out=psum[:, f])
        return pmax, psum

    #: for the prediction with s N rows appended at the 3' end, output frame F pools the features
    #: of frame SHIFT_FRAMES[s][F] of the sequence itself
    SHIFT_FRAMES = tuple(tuple((f - s) % 3 for f in range(3)) for s in range(3))
    #: (frame * 3 + slot) of the three products each shift sums, shift-major (head_shifts)
    _SHIFT_SLOTS = torch.tensor([frame * 3 + slot for frames in SHIFT_FRAMES for slot, frame in enumerate(frames)])

    def head_shifts(self, pmax: torch.Tensor, pavg: torch.Tensor, indicator: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame pools (B, 3, 128) (frames counted from the 3' end), indicator (B, 2) or
        (1, 2) -> (mrl (B, 3), mrl_unscaled (B, 3)) for 0, 1, 2 N rows appended at the 3' end.

        The shifts permute the same pooled vectors among fc0's input slots, so fc0 is computed
        once per (frame, slot): one (3B, 256) x (256, 3 * 64) GEMM of each frame's [max, avg]
        pools (as many FLOPs as one (3B, 768) x (768, 64), without assembling three 768-wide
        inputs per sequence), and each shift's pre-activation sums its three (frame, slot)
        products (one gather). Equal to :meth:`head` of the assembled inputs up to float32
        rounding. Inference only (no autograd)."""
        bsz = pmax.shape[0]
        width = self.fc0.weight.shape[0]
        # fc0 input index pool * 384 + slot * 128 + c -> rows (pool, c), column block slot
        w = self.fc0.weight.detach().T.reshape(2, 3, N_FILTERS, width).permute(0, 2, 1, 3).reshape(
            2 * N_FILTERS, 3 * width)
        y = torch.mm(torch.cat([pmax, pavg], dim=2).view(bsz * 3, 2 * N_FILTERS), w)
        pre = y.view(bsz, 9, width).index_select(1, self._SHIFT_SLOTS.to(y.device)).view(bsz, 3, 3, width).sum(2)
        u = self.fc_out(pre.add_(self.fc0.bias.detach()).relu_())  # (B, shift, 1)
        ind = indicator.expand(bsz, 2).unsqueeze(1).expand(bsz, 3, 2)
        mrl = self.scaling(torch.cat([u * ind, ind], dim=2))  # as in head(), per shift
        return mrl.squeeze(2), u.squeeze(2)

    #: batches of at least this many sequences are split between torch.get_num_threads() worker
    #: threads (each running its part of the trunk single-threaded; see predict_packed). Off by
    #: default: on 2 free cores torch's own threads are 1.3-1.6x faster (100 nt: 3,176 vs 1,964 seq/s,
    #: 300 nt: 1,020 vs 769); the split only pays where other processes keep the cores busy.
    SPLIT_MIN = 1 << 30

    #: convolution 1 of :meth:`predict_packed` by 7-mer lookup and convolution 2 split into a
    #: lookup and GEMMs over live channels (:mod:`seqzoo.nets.framepool_conv1`, equal to the GEMMs
    #: to float32 rounding; two tables of 97.3 MB, built by :meth:`prepare` when
    #: :func:`seqzoo.load_model` loads the model, or on first use, ~0.15 s): 1.3x the forward pass
    #: at 100 nt, 1.5x at 300 nt for convolution 1, 1.0-1.2x more for convolution 2,
    #: and 1.18-1.22x more for the tables' rows of the edge 7-mers (a sequence's first and last
    #: three positions). False in the :meth:`literal` twin.
    conv1_by_lookup = True

    def prepare(self) -> None:
        """Build the two 7-mer tables of :attr:`conv1_by_lookup` now (~0.15 s, 195 MB on 2 cores;
        on CPU only, the device they are used on): otherwise the first ``predict_sequences`` or
        ``predict_edits`` builds them, taking ~0.15 s more than the calls after it. They are
        rebuilt when a convolution weight changes, as before."""
        if self.conv1_by_lookup and self.device.type == "cpu":
            from .framepool_conv1 import Conv2Weights
            Conv2Weights(self)

    def literal(self) -> "Framepool":
        """A twin of this model whose string path computes every convolution as such (GEMMs, no
        lookup table): the full passes of ``incremental=False``, the path the incremental engine
        (which uses the table) is checked against. A shallow copy: it shares this model's
        parameters, submodules and cached tables, so a weight change, ``.to()`` or
        :meth:`clear_cache` on either reaches both, and ``.train()`` / ``.eval()`` on the twin
        sets the shared submodules' modes (keep using the original for those)."""
        self._weight_tables()  # created before the copy, so both hold the same one
        twin = copy.copy(self)
        twin.conv1_by_lookup = False
        return twin

    def predict_packed(self, seqs: Sequence[str], indicator: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Strings -> (mrl (B, 3), mrl_unscaled (B, 3)) for shifts 0, 1, 2 via :meth:`trunk_packed`.

        With several torch threads and at least :attr:`SPLIT_MIN` sequences, the blocks are split
        into one part per thread and each part's trunk and pools run in its own worker thread with
        torch single-threaded (:func:`seqzoo.nets.edits.parallel_map`): independent GEMM streams,
        no OpenMP barrier per tap GEMM.
        """
        codes, _ = pack_codes(seqs)
        bsz, width = codes.shape
        lookup = None
        if self.conv1_by_lookup:
            from .framepool_conv1 import Conv2Weights
            lookup = Conv2Weights(self)
        threads = torch.get_num_threads()
        parts = threads if threads > 1 and bsz >= self.SPLIT_MIN else 1
        bounds = np.linspace(0, bsz, parts + 1).astype(int)
        pmax = torch.empty(bsz, 3, N_FILTERS)
        psum = torch.empty(bsz, 3, N_FILTERS)

        def part(i):
            a, b = bounds[i], bounds[i + 1]
            with torch.inference_mode():
                h2 = self.trunk_packed(codes[a:b], lookup=lookup, workspace=thread_workspace())["h2"]
                pmax[a:b], psum[a:b] = self.frame_pools_packed(h2, width)

        with torch.inference_mode():
            parallel_map(part, range(parts))
            count = torch.from_numpy((codes < NO_BASE).sum(1).astype(np.float32)).reshape(-1, 1, 1)
            return self.head_shifts(pmax, psum.div_(count), indicator)

    # -- strings in, numpy out ---------------------------------------------------------------
    def predict_batch(self, seqs: Sequence[str], indicator=None) -> dict[str, np.ndarray]:
        """One batch of 5'UTR strings (any lengths) -> dict of (B,) float32 arrays.

        Keys: ``mrl``, ``mrl_unscaled`` and ``mrl_shift_1``, ``mrl_shift_2`` (MRL with 1 or 2 zero
        rows appended at the 3' end, the inputs of the Kipoi ``shift_1/2`` effects).
        """
        for i, s in enumerate(seqs):
            if not any(c in "ACGTUacgtu" for c in s):
                raise ValueError(f"Framepool: sequence {i} ({s[:20]!r}, length {len(s)}) has no A/C/G/T "
                                 f"base; the model's average pool is undefined for it")
        if indicator is None:
            indicator = DEFAULT_INDICATOR
        ind = torch.as_tensor(np.asarray(indicator, dtype=np.float32), device=self.device).reshape(-1, 2)
        if self.device.type == "cpu":
            mrl, unscaled = self.predict_packed(seqs, ind)
        else:
            x = torch.from_numpy(one_hot_batch(seqs, pad="left")).to(self.device)
            mrl, unscaled = self.forward_shifts(x, ind)
        mrl, unscaled = mrl.cpu().numpy(), unscaled.cpu().numpy()
        return {"mrl": mrl[:, 0], "mrl_unscaled": unscaled[:, 0],
                "mrl_shift_1": mrl[:, 1], "mrl_shift_2": mrl[:, 2]}


    def predict_edits(self, ref_seqs: Sequence[str], ref_index, starts, ends, alts: Sequence[str],
                      batch_size: int = 64, indicator=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Reference and alt predictions for edits of reference 5'UTRs, alts computed incrementally.

        ``ref_seqs``: distinct references (5' -> 3' strings, as :meth:`predict_sequences` takes).
        Edit i replaces ``ref_seqs[ref_index[i]][starts[i]:ends[i]]`` (0-based half-open) by
        ``alts[i]`` (any length: SNV, MNV, insertion with starts == ends, deletion with "").
        ``indicator``: None (default [0, 1]), one (2,) row for all, or (len(ref_seqs), 2) (an edit
        uses its reference's row).

        Returns (ref_out, alt_out): dicts with ``mrl``, ``mrl_unscaled``, ``mrl_shift_1``,
        ``mrl_shift_2``, float32, ref_out (len(ref_seqs),), alt_out (len(alts),), equal to
        ``predict_sequences`` of the references and of the edited strings (to float32 rounding).
        Each alt recomputes only the 18 + len(alt) positions the edit can change (see
        :mod:`seqzoo.nets.framepool_incremental`); edits are batched across references, so many
        edits per call are much faster than few. References are processed in chunks of up to
        ``batch_size`` (and about 16k packed rows). With at least as many chunks as torch
        threads, the chunks (reference pass and alts) run in ``torch.get_num_threads()`` worker
        threads, torch single-threaded meanwhile (:func:`seqzoo.nets.edits.parallel_map`);
        otherwise each chunk's alt sub-batches do. On a non-CPU device every alt is a full pass.

        Raises ValueError for edits outside their reference (see :func:`seqzoo.nets.edits.check_edits`),
        a reference or an alt without any A/C/G/T base, or an indicator of another shape.
        """
        from . import framepool_incremental
        from .edits import predict_full, split_extra
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        edits = check_edits(ref_seqs, ref_index, starts, ends, alts)
        n_refs = len(edits.ref_seqs)
        if indicator is not None:
            ind = np.asarray(indicator, dtype=np.float32)
            if ind.shape not in ((2,), (1, 2), (n_refs, 2)):
                raise ValueError(f"Framepool: indicator has shape {ind.shape}; expected (2,) or "
                                 f"({n_refs}, 2) (one row per reference)")
            indicator = ind
        if self.device.type != "cpu":
            extra = {} if indicator is None else {"indicator": indicator}
            per_ref, shared = split_extra(self, extra, n_refs)
            ref_out = self.predict_sequences(edits.ref_seqs, batch_size=batch_size, **extra)
            return ref_out, predict_full(self, edits, np.arange(len(edits)), per_ref, shared, batch_size)
        return framepool_incremental.predict_edits(self, edits, indicator, batch_size)


def from_keras_h5(path) -> Framepool:
    """Build :class:`Framepool` from ``Framepool_combined_residual.h5`` (every array mapped)."""
    weights = KerasWeights(path)
    model = Framepool()
    for i, conv in enumerate([model.conv0, model.conv1, model.conv2]):
        weights.assign(conv.weight, f"convolution_{i}", "kernel", conv1d_kernel)
        weights.assign(conv.bias, f"convolution_{i}", "bias")
    for layer, lin in (("fully_connected_0", model.fc0), ("mrl_output_unscaled", model.fc_out)):
        weights.assign(lin.weight, layer, "kernel", dense_kernel)
        weights.assign(lin.bias, layer, "bias")
    weights.assign(model.scaling.weight, "scaling_regression", "kernel", dense_kernel)
    weights.check_complete(model)
    return model.eval()
