"""Xpresso (Agarwal & Shendure 2020): 10.5 kb promoter sequence (+ mRNA half-life features) ->
log10 expression.

Architecture of the published Keras 2.0.5 files (``humanMedian_trainepoch.11-0.426.h5``,
``mouseMedian_trainepoch.05-0.278.h5``, and the K562 / GM12878 / mESC sets; checked from each
file's ``model_config`` when it is converted):

* input ``promoter`` (B, 10500, 4), one-hot A, C, G, T (case-insensitive, U = T); N and any other
  character = all-zero row; input ``halflife`` (B, 6) (Kipoi and ``xpresso_predict.py``: zeros);
* ``conv1d_1`` Conv1D(128, 6, 'same', ReLU): TF 'same' pads 2 positions on the left, 3 on the
  right; ``max_pooling1d_1`` MaxPooling1D(30) ('valid', 10500 -> 350);
* ``conv1d_2`` Conv1D(32, 9, 'same', ReLU) (4 / 4 padding); ``max_pooling1d_2`` MaxPooling1D(10)
  (350 -> 35);
* ``flatten_1`` Flatten of the channels-last (B, 35, 32) tensor: feature ``position * 32 + channel``
  (1120); ``concatenate_1``: [flattened (1120), halflife (6)] = 1126;
* ``dense_1`` Dense(64) + ReLU, ``dense_2`` Dense(2) + ReLU, ``dense_3`` Dense(1) (dropout layers
  are inactive at inference).

Fast path. The input is one-hot, so the first convolution at position t depends only on the six
bases t-2 .. t+3 (N or outside the sequence = "no base"): it is one row of a table with 5^6 =
15,625 rows (bias included), precomputed from the conv weights. ReLU and max pooling commute
(both monotone), so conv + ReLU + MaxPool(30) is a running maximum over 30 table gathers, one per
offset inside the pooling window: :meth:`Xpresso.conv1_pool_codes`. That replaces ~64 MFLOP per
sequence by 10,500 row reads. The table is a function of the weights, not a parameter: it carries
no gradient, so :meth:`Xpresso.forward` uses it only for one-hot inputs when autograd is not
recording, and the plain convolution (:meth:`Xpresso.forward_dense`, the literal Keras
computation) otherwise.
"""
from __future__ import annotations

import difflib
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..keras_h5 import ConversionError, KerasWeights, conv1d_kernel, dense_kernel
from .base import SequenceModel
from .edits import check_edits, require_substitutions

SEQ_LEN = 10_500
N_HALFLIFE = 6
CONV1_FILTERS, CONV1_WIDTH, POOL1 = 128, 6, 30
CONV2_FILTERS, CONV2_WIDTH, POOL2 = 32, 9, 10
POS1 = SEQ_LEN // POOL1  # 350 positions after the first pool
POS2 = POS1 // POOL2  # 35 positions after the second pool
N_FLAT = POS2 * CONV2_FILTERS  # 1120
HIDDEN = (64, 2)
# TF 'same' padding for an even kernel puts the extra zero on the right
PAD1 = ((CONV1_WIDTH - 1) // 2, CONV1_WIDTH - 1 - (CONV1_WIDTH - 1) // 2)  # (2, 3)
PAD2 = (CONV2_WIDTH - 1) // 2  # 4 on each side
NO_BASE = 4  # base code of N / any non-ACGT character / positions outside the sequence
#: the sequences of a batch are pooled in chunks of this many (keeps the running max in cache)
POOL_CHUNK = 16

_CODES = np.full(256, NO_BASE, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODES[ord(_b)] = _CODES[ord(_b.lower())] = _i
_CODES[ord("U")] = _CODES[ord("u")] = 3


def check_lengths(seqs: Sequence[str], length: int = SEQ_LEN) -> None:
    """ValueError naming the first sequence whose length is not ``length``."""
    for i, s in enumerate(seqs):
        if len(s) != length:
            raise ValueError(f"Xpresso: sequence {i} has length {len(s)}; the model takes exactly "
                             f"{length} nt (7,000 upstream + 3,500 downstream of the TSS)")


def base_codes(seqs: Sequence[str], length: int = SEQ_LEN) -> np.ndarray:
    """(N, length) uint8 base codes: A/C/G/T (any case, U = T) -> 0..3, anything else -> 4.

    Every sequence must have exactly ``length`` characters (:func:`check_lengths`).
    """
    check_lengths(seqs, length)
    if not seqs:
        return np.zeros((0, length), dtype=np.uint8)
    raw = "".join(seqs).encode("ascii", errors="replace")  # non-ASCII -> '?' -> no base
    return _CODES[np.frombuffer(raw, dtype=np.uint8)].reshape(len(seqs), length)


def kmer_codes(codes: np.ndarray) -> np.ndarray:
    """Base codes (B, L) -> conv-window codes (B, L) int32: sum_k base(t - 2 + k) * 5^(5 - k),
    k = 0..5, with bases outside the sequence = 4 (the 'same' padding)."""
    b, length = codes.shape
    padded = np.full((b, length + CONV1_WIDTH - 1), NO_BASE, dtype=np.int32)
    padded[:, PAD1[0]:PAD1[0] + length] = codes
    out = padded[:, :length] * 5 ** (CONV1_WIDTH - 1)
    for k in range(1, CONV1_WIDTH):
        out += padded[:, k:k + length] * 5 ** (CONV1_WIDTH - 1 - k)
    return out


def kmers_from_one_hot(x: torch.Tensor) -> torch.Tensor | None:
    """(B, L, 4) tensor -> (B, L) int32 window codes if every row is one-hot or all zero, else None."""
    binary = bool(((x == 0) | (x == 1)).all()) and bool((x.sum(dim=2) <= 1).all())
    if not binary:
        return None
    codes = torch.where(x.sum(dim=2) > 0, x.argmax(dim=2), NO_BASE).to(torch.int32)
    padded = F.pad(codes, PAD1, value=NO_BASE)
    length = x.shape[1]
    out = torch.zeros_like(codes)
    for k in range(CONV1_WIDTH):
        out += padded[:, k:k + length] * 5 ** (CONV1_WIDTH - 1 - k)
    return out


class Xpresso(SequenceModel):
    """Torch Xpresso. Inputs (B, 10500, 4) float32 one-hot and halflife (B, 6); output (B, 1)."""

    name = "Xpresso"
    per_sequence_inputs = ("halflife",)

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(4, CONV1_FILTERS, CONV1_WIDTH)
        self.conv2 = torch.nn.Conv1d(CONV1_FILTERS, CONV2_FILTERS, CONV2_WIDTH, padding=PAD2)
        self.dense1 = torch.nn.Linear(N_FLAT + N_HALFLIFE, HIDDEN[0])
        self.dense2 = torch.nn.Linear(HIDDEN[0], HIDDEN[1])
        self.dense3 = torch.nn.Linear(HIDDEN[1], 1)
        self._table_key: tuple[torch.Tensor, torch.Tensor] | None = None  # conv1 (weight, bias) of the table
        self._table: torch.Tensor | None = None

    # -- first convolution as a table ---------------------------------------------------------
    def prepare(self) -> None:
        """Build :meth:`conv1_table` now (~20 ms, 8 MB), not in the first prediction."""
        self.conv1_table()

    def conv1_table(self) -> torch.Tensor:
        """(5^6, 128) table: row sum_k c_k 5^(5-k) = conv1 bias + sum_k W[:, c_k, k] (c_k = 4: 0).

        Summed in float64 and rounded once; rebuilt whenever the conv1 weights differ from those
        it was built from (compared by value: 3,200 numbers, so a weight edited in place, even
        an inference tensor without a version counter, is noticed).
        """
        w, b = self.conv1.weight.detach(), self.conv1.bias.detach()
        key = self._table_key
        if (key is None or key[0].shape != w.shape or key[0].device != w.device or key[0].dtype != w.dtype
                or not torch.equal(key[0], w) or not torch.equal(key[1], b)):
            with torch.no_grad():
                w64 = F.pad(w.detach().to(torch.float64), (0, 0, 0, 1))  # (128, 5, 6), row 4 = 0
                table = b.detach().to(torch.float64).expand(1, -1)
                for k in range(CONV1_WIDTH):
                    # table index = previous index * 5 + c_k
                    table = (table[:, None, :] + w64[:, :, k].T[None, :, :]).reshape(-1, w.shape[0])
                self._table = table.to(w.dtype).contiguous()
                self._table_key = (w.clone(), b.clone())
        return self._table

    def conv1_pool_codes(self, kmers: torch.Tensor) -> torch.Tensor:
        """Window codes (B, 10500) -> ReLU(MaxPool30(conv1)) channels-last (B, 350, 128)."""
        table = self.conv1_table()
        bsz = kmers.shape[0]
        # (30, B, 350): offset inside the pooling window first
        by_offset = kmers.reshape(bsz, POS1, POOL1).permute(2, 0, 1).contiguous()
        chunks = []
        for start in range(0, bsz, POOL_CHUNK):
            idx = by_offset[:, start:start + POOL_CHUNK].reshape(POOL1, -1)
            acc = table.index_select(0, idx[0])
            tmp = torch.empty_like(acc)
            for j in range(1, POOL1):
                torch.index_select(table, 0, idx[j], out=tmp)
                torch.maximum(acc, tmp, out=acc)
            chunks.append(acc)
        acc = chunks[0] if len(chunks) == 1 else torch.cat(chunks)
        return acc.relu_().reshape(bsz, POS1, CONV1_FILTERS)

    # -- the rest -----------------------------------------------------------------------------
    @staticmethod
    def flatten(h: torch.Tensor) -> torch.Tensor:
        """Keras Flatten of the channels-last tensor: torch (B, 32, 35) -> (B, 1120) with feature
        index position * 32 + channel."""
        return h.transpose(1, 2).reshape(h.shape[0], -1)

    def head(self, pooled1: torch.Tensor, halflife: torch.Tensor) -> torch.Tensor:
        """First pool output channels-first (B, 128, 350) contiguous, halflife (B, 6) -> (B, 1)."""
        h = F.max_pool1d(F.relu(self.conv2(pooled1)), POOL2)  # (B, 32, 35)
        z = torch.cat([self.flatten(h), halflife], dim=1)
        z = F.relu(self.dense1(z))
        z = F.relu(self.dense2(z))
        return self.dense3(z)

    def _halflife(self, halflife, bsz: int, like: torch.Tensor) -> torch.Tensor:
        if halflife is None:
            return torch.zeros(bsz, N_HALFLIFE, dtype=like.dtype, device=like.device)
        hl = torch.as_tensor(halflife, dtype=like.dtype, device=like.device)
        if tuple(hl.shape) != (bsz, N_HALFLIFE):
            raise ValueError(f"Xpresso: halflife has shape {tuple(hl.shape)}; expected ({bsz}, "
                             f"{N_HALFLIFE}): one row of {N_HALFLIFE} half-life features per sequence")
        return hl

    def forward_codes(self, kmers: torch.Tensor, halflife: torch.Tensor | None = None) -> torch.Tensor:
        """Fast path: window codes (B, 10500) (see :func:`kmer_codes`), halflife (B, 6) -> (B, 1)."""
        hl = self._halflife(halflife, kmers.shape[0], self.conv1.weight)
        pooled = self.conv1_pool_codes(kmers).transpose(1, 2).contiguous()
        return self.head(pooled, hl)

    def forward_dense(self, x: torch.Tensor, halflife: torch.Tensor | None = None) -> torch.Tensor:
        """The literal Keras computation for any (B, 10500, 4) input (slow: dense first conv)."""
        hl = self._halflife(halflife, x.shape[0], x)
        h = F.relu(self.conv1(F.pad(x.transpose(1, 2), PAD1)))
        return self.head(F.max_pool1d(h, POOL1).contiguous(), hl)

    def forward(self, x: torch.Tensor, halflife: torch.Tensor | None = None) -> torch.Tensor:
        """Keras-equivalent forward: (B, 10500, 4), (B, 6) (default zeros) -> expression (B, 1).

        One-hot inputs take the table fast path when no gradient is needed; when autograd records
        (grad mode on and the input or the conv1 weights require grad, e.g. for input saliency)
        or the input is not one-hot, the literal convolution (:meth:`forward_dense`) is used.
        """
        if x.ndim != 3 or tuple(x.shape[1:]) != (SEQ_LEN, 4):
            raise ValueError(f"Xpresso: input has shape {tuple(x.shape)}; expected (B, {SEQ_LEN}, 4)")
        if torch.is_grad_enabled() and (x.requires_grad or self.conv1.weight.requires_grad
                                        or self.conv1.bias.requires_grad):
            return self.forward_dense(x, halflife)
        kmers = kmers_from_one_hot(x)
        if kmers is None:
            return self.forward_dense(x, halflife)
        return self.forward_codes(kmers, halflife)

    # -- strings in, numpy out ---------------------------------------------------------------
    def predict_sequences(self, seqs: Sequence[str], batch_size: int = 64, **extra) -> dict[str, np.ndarray]:
        """As :meth:`SequenceModel.predict_sequences`; every length is checked first, so an error
        names the sequence's index in ``seqs``."""
        seqs = [str(s) for s in seqs]
        check_lengths(seqs)
        return super().predict_sequences(seqs, batch_size=batch_size, **extra)

    def predict_batch(self, seqs: Sequence[str], halflife=None) -> dict[str, np.ndarray]:
        """One batch of 10,500-nt strings (TSS at 0-based 7,000) -> {"expression": (B,) float32}.

        ``halflife``: None (zeros, as Kipoi and ``xpresso_predict.py``) or an (B, 6) array.
        """
        codes = base_codes(seqs)
        if halflife is not None:
            halflife = np.asarray(halflife, dtype=np.float32)
        with torch.inference_mode():
            if len(seqs) == 0:
                self._halflife(halflife, 0, self.conv1.weight)
                return {"expression": np.zeros(0, dtype=np.float32)}
            kmers = torch.from_numpy(kmer_codes(codes)).to(self.device)
            y = self.forward_codes(kmers, halflife)
        return {"expression": y[:, 0].float().cpu().numpy()}

    #: substitutions spanning more bases than this are predicted by full passes (their incremental
    #: update touches most of the window's cells and costs more than a batched full pass)
    INCREMENTAL_MAX_SPAN = 1000

    def predict_edits(self, ref_seqs: Sequence[str], ref_index, starts, ends, alts: Sequence[str],
                      batch_size: int = 64, halflife=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Reference and alt predictions for substitutions in 10,500-nt windows, alts computed
        incrementally.

        ``ref_seqs``: distinct 10,500-nt windows (as :meth:`predict_sequences` takes them). Edit i
        replaces ``ref_seqs[ref_index[i]][starts[i]:ends[i]]`` (0-based half-open) by ``alts[i]``
        of the same length (SNV, MNV; N and other characters are read as in the full pass).
        ``halflife``: None (zeros) or (len(ref_seqs), 6); an edit uses its reference's row.

        Returns (ref_out, alt_out): ``{"expression": float32}`` of shapes (len(ref_seqs),) and
        (len(alts),), equal to ``predict_sequences`` of the references and of the edited windows
        (to float32 rounding). Each alt recomputes 1-2 of the 350 first-pool cells, conv2 at ~10
        positions, 1-2 of the 35 second-pool cells and the dense head (see
        :mod:`seqzoo.nets.xpresso_incremental`); all edits of a call are batched together, in
        sub-batches run by ``torch.get_num_threads()`` worker threads (torch single-threaded
        meanwhile, see :func:`seqzoo.nets.edits.parallel_map`). References are processed
        ``batch_size`` at a time. On a non-CPU device every alt is a full pass. A length-preserving
        replacement of any span (up to the whole window) is accepted, so an indel whose
        re-anchored alt window the caller has built can be passed as the replacement of the span
        where it differs from the reference; spans longer than :attr:`INCREMENTAL_MAX_SPAN` take a
        batched full pass.

        Raises ValueError for edits outside their reference, a reference that is not 10,500 nt,
        a halflife of another shape, or an edit that changes the window length: the model takes
        exactly 10,500 nt, so an indel's alt window (re-anchored around the TSS, with bases from
        beyond the reference window) must be built by the caller and predicted with
        :meth:`predict_sequences`.
        """
        from . import xpresso_incremental
        from .edits import Edits, predict_full, split_extra
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        edits = check_edits(ref_seqs, ref_index, starts, ends, alts)
        check_lengths(edits.ref_seqs)
        require_substitutions(edits, "Xpresso", SEQ_LEN, "the model takes exactly")
        n_refs = len(edits.ref_seqs)
        if halflife is not None:
            halflife = np.asarray(halflife, dtype=np.float32)
            if halflife.shape != (n_refs, N_HALFLIFE):
                raise ValueError(f"Xpresso: halflife has shape {halflife.shape}; expected ({n_refs}, {N_HALFLIFE}): "
                                 f"one row per reference")
        extra = {} if halflife is None else {"halflife": halflife}
        if self.device.type != "cpu":
            per_ref, shared = split_extra(self, extra, n_refs)
            ref_out = self.predict_sequences(edits.ref_seqs, batch_size=batch_size, **extra)
            return ref_out, predict_full(self, edits, np.arange(len(edits)), per_ref, shared, batch_size)
        wide = edits.ends - edits.starts > self.INCREMENTAL_MAX_SPAN
        if not wide.any():
            return xpresso_incremental.predict_edits(self, edits, halflife, batch_size)
        # replacements of long spans (an indel's re-anchored window differs from the reference on one
        # whole side of the TSS): full passes, batched, cost less than their incremental update
        narrow = np.flatnonzero(~wide)
        ref_out, alt_narrow = xpresso_incremental.predict_edits(
            self, Edits(edits.ref_seqs, edits.ref_index[narrow], edits.starts[narrow], edits.ends[narrow],
                        [edits.alts[i] for i in narrow]), halflife, batch_size)
        per_ref, shared = split_extra(self, extra, n_refs)
        alt = np.empty(len(edits), dtype=np.float32)
        alt[narrow] = alt_narrow["expression"]
        alt[wide] = predict_full(self, edits, np.flatnonzero(wide), per_ref, shared, batch_size)["expression"]
        return ref_out, {"expression": alt}


# -- conversion ---------------------------------------------------------------------------------
def _inbound(layer: dict) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) != 1:
        return [f"<{len(nodes)} inbound nodes>"]
    return [n[0] for n in nodes[0]]


def _activation(cfg: dict) -> list[tuple]:
    act = cfg.get("activation", "linear")
    return [] if act == "linear" else [("activation", act)]


def architecture(model_config: dict) -> tuple[list[tuple], dict[str, list[str]]]:
    """Normalised layer chain of a Keras ``model_config`` and the names of its weighted layers
    (``{"conv": [...], "dense": [...]}`` in graph order).

    Inputs are described by their shapes; Dropout is dropped (identity at inference); a layer's
    own activation becomes a separate ``("activation", name)`` step, so Dense(relu) and
    Dense + Activation(relu) read the same. Every layer must take its input from the previous one,
    except the concatenation, which must take [previous layer, the 2-d (half-life) input] in that
    order; a layer that does not gives a ``("wiring", ...)`` step.
    """
    layers = model_config["config"]["layers"]
    inputs = {l["name"]: tuple(l["config"].get("batch_input_shape") or ())
              for l in layers if l["class_name"] == "InputLayer"}
    chain: list[tuple] = [("inputs", tuple(sorted(inputs.values(), key=len, reverse=True)))]
    names: dict[str, list[str]] = {"conv": [], "dense": []}
    alias: dict[str, str] = {}  # Dropout layer -> its input
    previous = next((n for n, shape in inputs.items() if len(shape) == 3), None)
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
        if cls == "InputLayer":
            continue
        src = [alias.get(n, n) for n in _inbound(layer)]
        want = [previous] + [n for n, shape in inputs.items() if len(shape) == 2] \
            if cls == "Concatenate" else [previous]
        if src != want:
            chain.append(("wiring", name, tuple(src)))
        if cls == "Dropout":
            alias[name] = src[0] if src else name
            continue
        if cls == "Conv1D":
            chain.append(("conv1d", cfg["filters"], tuple(cfg["kernel_size"]), cfg["padding"],
                          tuple(cfg["strides"]), tuple(cfg.get("dilation_rate", (1,))), cfg["use_bias"]))
            chain += _activation(cfg)
            names["conv"].append(name)
        elif cls == "MaxPooling1D":
            chain.append(("maxpool1d", tuple(cfg["pool_size"]), tuple(cfg["strides"]), cfg["padding"]))
        elif cls == "Dense":
            chain.append(("dense", cfg["units"], cfg["use_bias"]))
            chain += _activation(cfg)
            names["dense"].append(name)
        elif cls == "Activation":
            chain.append(("activation", cfg["activation"]))
        elif cls == "Flatten":
            chain.append(("flatten",))
        elif cls == "Concatenate":
            chain.append(("concatenate", cfg.get("axis")))
        else:
            chain.append(("unsupported layer", cls))
        previous = name
    outputs = [alias.get(o[0], o[0]) for o in model_config["config"].get("output_layers", [])]
    chain.append(("outputs", "last layer" if outputs == [previous] else tuple(outputs)))
    return chain, names


def expected_architecture() -> list[tuple]:
    """The chain :func:`architecture` gives for the published Xpresso files."""
    return [
        ("inputs", ((None, SEQ_LEN, 4), (None, N_HALFLIFE))),
        ("conv1d", CONV1_FILTERS, (CONV1_WIDTH,), "same", (1,), (1,), True), ("activation", "relu"),
        ("maxpool1d", (POOL1,), (POOL1,), "valid"),
        ("conv1d", CONV2_FILTERS, (CONV2_WIDTH,), "same", (1,), (1,), True), ("activation", "relu"),
        ("maxpool1d", (POOL2,), (POOL2,), "valid"),
        ("flatten",),
        ("concatenate", -1),
        ("dense", HIDDEN[0], True), ("activation", "relu"),
        ("dense", HIDDEN[1], True), ("activation", "relu"),
        ("dense", 1, True),
        ("outputs", "last layer"),
    ]


def check_architecture(weights: KerasWeights) -> dict[str, list[str]]:
    """Raise ConversionError unless the file's ``model_config`` is the Xpresso architecture;
    returns the weighted layers' names (conv, dense) in graph order."""
    if not weights.model_config:
        raise ConversionError(f"{weights.path} has no Keras 'model_config': cannot check that it holds "
                              f"the Xpresso architecture (a full saved model is needed, not weights only)")
    try:
        chain, names = architecture(weights.model_config)
    except (KeyError, TypeError, IndexError) as exc:
        raise ConversionError(f"{weights.path}: unreadable Keras model_config ({exc!r})") from exc
    want = expected_architecture()
    if chain != want:
        got_s, want_s = [repr(c) for c in chain], [repr(c) for c in want]
        diffs = [f"file has [{', '.join(got_s[i1:i2]) or 'nothing'}] where Xpresso has "
                 f"[{', '.join(want_s[j1:j2]) or 'nothing'}]"
                 for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, got_s, want_s, autojunk=False).get_opcodes()
                 if op != "equal"]
        raise ConversionError(f"{weights.path} is not the Xpresso architecture: " + "; ".join(diffs))
    return names


def from_keras_h5(path) -> Xpresso:
    """Build :class:`Xpresso` from a published Xpresso h5 file (architecture checked, all 10
    arrays mapped)."""
    weights = KerasWeights(path)
    names = check_architecture(weights)
    model = Xpresso()
    for layer, conv in zip(names["conv"], (model.conv1, model.conv2)):
        weights.assign(conv.weight, layer, "kernel", conv1d_kernel)
        weights.assign(conv.bias, layer, "bias")
    for layer, lin in zip(names["dense"], (model.dense1, model.dense2, model.dense3)):
        weights.assign(lin.weight, layer, "kernel", dense_kernel)
        weights.assign(lin.bias, layer, "bias")
    weights.check_complete(model)
    return model.eval()
