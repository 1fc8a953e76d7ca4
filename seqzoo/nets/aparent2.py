"""APARENT2 (Linder et al. 2022, johli/aparent-resnet): 205-nt PAS sequence -> cleavage distribution.

Architecture of ``aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5``
(Keras 2.2.4; layer names as in the file; the Lambda bodies re-implemented from
``aparent/model/aparent_model_plasmid_resnet_var_batch_size_inference_mode.py``). Keras runs it as
Conv2D over (B, 1, 205, C) with 1 x k kernels; here every layer is the equivalent 1-D operation:

* input ``input_1`` (B, 1, 205, 4): one-hot A, C, G, T; ``N`` = 0.25 in all four channels
  (``examples/aparent2_score_variants.ipynb``). seqzoo also reads lower case as upper case and
  every other non-ACGT character (IUPAC codes) as N; the notebook gives those an all-zero row;
* ``aparent_conv_0``: 1x1 conv 4 -> 32 (linear) = h_0;
* 7 groups g = 0..6 with dilation 1, 2, 4, 8, 4, 2, 1; at the start of group g
  ``aparent_skip_conv_g`` (1x1, 32 -> 32) is taken from the group's input h;
  then 4 residual blocks ``aparent_resblock_{g}_{l}_*`` (l = 0..3), each
  h <- h + conv_1(relu(bn_1(conv_0(relu(bn_0(h)))))) with BatchNorm (epsilon 0.001, inference
  statistics) and conv 1x3 'same', dilation d (zero padding d on each side), 32 channels;
* ``aparent_last_block_conv`` (1x1) on the last h; ``aparent_skip_add``:
  s = (((last + skip_0) + skip_1) + ...) + skip_6;
* ``aparent_final_conv`` (1x1, 32 -> 1): 205 scores; ``aparent_extend_tensor`` appends a 0 as
  position 205 ("no cleavage in the window", the distal isoform);
* library bias: ``aparent_expand_lib`` tiles the 13-wide library one-hot to all 206 positions and
  ``aparent_lib_conv`` (LocallyConnected2D 1x1, kernel (206, 13, 1), bias (1, 206, 1)) gives
  bias[p] = sum_c lib[c] * kernel[p, c] + bias[p]; ``aparent_lib_add`` adds it: the cut logits;
* outputs: ``lambda_57`` cut_prob = softmax over the 206 positions (model output 1) and
  ``lambda_58`` iso_prob = sum(cut_prob[80:110]) (model output 0).

Library one-hot index (13 libraries): the order of ``unique_libraries`` in
``aparent/data/aparent_data_plasmid_v2.py`` (johli/aparent-resnet), encoded by isolearn's
``CategoricalEncoder`` as the position in that list: see :data:`LIBRARIES`. The authors' notebook
sets index 11 (``array``, "training sub-library bias") for scoring; it is the default here.
(In the published weights the kernel column of index 10, ``wha``, is all zero.)

Fast path (:meth:`Aparent2.cut_logits`): activations are kept channels-last in a flat
(B * (205 + 16), 32) buffer whose 8 rows of zeros on both sides of every sequence are the convs'
'same' padding; a dilated 1x3 conv is three matrix products of row-shifted slices of that buffer
(rows in the margins are computed and discarded). ``batch_norm_1`` directly follows ``conv_0``
and is folded into it; ``batch_norm_0`` precedes a ReLU on the residual stream and is applied as
one multiply-add; the skip / last-block / final 1x1 convs (all linear) are not collapsed.
:meth:`Aparent2.cut_logits_reference` is the plain layer-by-layer path the tests compare it with.
Folding moves probabilities by <= 2e-7 and logits by <= 2e-5, the size of any float32 summation
reordering here (logits reach |31|): on 280 sequences the fast path is at most 1.4e-5 from the
graph computed in float64, the unfolded path 1.6e-5, the Keras reference itself 1.4e-5.
The folded weights are cached and rebuilt when a parameter or buffer is moved, replaced or changed
in place (version counter); after writing through ``.data`` call :meth:`Aparent2.clear_cache`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoding import one_hot_batch
from ..keras_h5 import ConversionError, KerasWeights, conv1d_kernel
from .base import SequenceModel

SEQ_LEN = 205
N_POSITIONS = SEQ_LEN + 1          # 205 cleavage positions + the distal position 205
N_CHANNELS = 32
N_LIBRARIES = 13
DILATIONS = (1, 2, 4, 8, 4, 2, 1)  # one per residual group
BLOCKS_PER_GROUP = 4
BN_EPSILON = 1e-3                  # Keras BatchNormalization default (as in model_config)
ISO_START, ISO_END = 80, 110       # model output 0: sum of cut_prob[80:110]
N_VALUE = 0.25                     # one-hot row of N and other non-ACGT characters

#: library names by one-hot index: ``unique_libraries`` in johli/aparent-resnet
#: ``aparent/data/aparent_data_plasmid_v2.py`` (the categories of the model's ``lib`` input)
LIBRARIES = ("tomm5_up_n20c20_dn_c20", "tomm5_up_c20n20_dn_c20", "tomm5_up_n20c20_dn_n20",
             "tomm5_up_c20n20_dn_n20", "doubledope", "simple", "atr", "hsp", "snh", "sox", "wha",
             "array", "aar")
DEFAULT_LIBRARY = 11               # "array", as in examples/aparent2_score_variants.ipynb

_PAD = max(DILATIONS)              # zero rows on each side of a sequence in the fast path


class _BatchNorm(torch.nn.Module):
    """Inference-mode BatchNorm over channel dim 1 (Keras: (x - mean) / sqrt(var + eps) * gamma + beta)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(channels))     # gamma
        self.bias = torch.nn.Parameter(torch.zeros(channels))      # beta
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def scale_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        scale = torch.rsqrt(self.running_var + BN_EPSILON) * self.weight
        return scale, self.bias - self.running_mean * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale, _ = self.scale_shift()
        return (x - self.running_mean[:, None]) * scale[:, None] + self.bias[:, None]


class _ResBlock(torch.nn.Module):
    """``aparent_resblock_{g}_{l}``: h + conv_1(relu(bn_1(conv_0(relu(bn_0(h))))))."""

    def __init__(self, dilation: int):
        super().__init__()
        self.dilation = dilation
        self.bn0 = _BatchNorm(N_CHANNELS)
        self.conv0 = torch.nn.Conv1d(N_CHANNELS, N_CHANNELS, 3, padding=dilation, dilation=dilation)
        self.bn1 = _BatchNorm(N_CHANNELS)
        self.conv1 = torch.nn.Conv1d(N_CHANNELS, N_CHANNELS, 3, padding=dilation, dilation=dilation)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        y = self.conv0(F.relu(self.bn0(h)))
        y = self.conv1(F.relu(self.bn1(y)))
        return y + h


def _version(t: torch.Tensor) -> int:
    """In-place modification counter (-1 for inference tensors, which have none)."""
    try:
        return t._version
    except RuntimeError:
        return -1


def _conv_taps(conv: torch.nn.Conv1d, scale=None, shift=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv1d weight (out, in, 3) -> taps (3, in, out) for ``x @ tap``; optionally followed by an
    affine per output channel (a folded BatchNorm): y * scale + shift."""
    w, b = conv.weight, conv.bias
    if scale is not None:
        w = w * scale[:, None, None]
        b = b * scale + shift
    return w.permute(2, 1, 0).contiguous(), b.contiguous()


def _dense_1x1(conv: torch.nn.Conv1d) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv1d 1x1 weight (out, in, 1) -> (in, out) matrix and bias."""
    return conv.weight[:, :, 0].t().contiguous(), conv.bias.contiguous()


class Aparent2(SequenceModel):
    """Torch APARENT2. Inputs: one-hot (B, 205, 4) or (B, 1, 205, 4) float32, library (B, 13)."""

    name = "APARENT2"
    per_sequence_inputs = ("library",)

    def __init__(self):
        super().__init__()
        self.conv_in = torch.nn.Conv1d(4, N_CHANNELS, 1)
        self.blocks = torch.nn.ModuleList(
            _ResBlock(d) for d in DILATIONS for _ in range(BLOCKS_PER_GROUP))
        self.skip_convs = torch.nn.ModuleList(torch.nn.Conv1d(N_CHANNELS, N_CHANNELS, 1) for _ in DILATIONS)
        self.last_block_conv = torch.nn.Conv1d(N_CHANNELS, N_CHANNELS, 1)
        self.final_conv = torch.nn.Conv1d(N_CHANNELS, 1, 1)
        self.lib_kernel = torch.nn.Parameter(torch.zeros(N_POSITIONS, N_LIBRARIES))
        self.lib_bias = torch.nn.Parameter(torch.zeros(N_POSITIONS))
        self._fast = None
        self._fast_key = None

    # -- inputs ------------------------------------------------------------------------------
    @staticmethod
    def _as_channels_last(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:            # Keras layout (B, 1, 205, 4)
            x = x[:, 0]
        if x.dim() != 3 or x.shape[1] != SEQ_LEN or x.shape[2] != 4:
            raise ValueError(f"APARENT2 expects one-hot input (B, {SEQ_LEN}, 4) or (B, 1, {SEQ_LEN}, 4), "
                             f"got {tuple(x.shape)}")
        return x

    def library_bias(self, lib_onehot: torch.Tensor) -> torch.Tensor:
        """``aparent_lib_conv``: (B, 13) library vectors -> (B, 206) per-position bias."""
        return lib_onehot @ self.lib_kernel.t() + self.lib_bias

    def _head(self, scores: torch.Tensor, lib_onehot: torch.Tensor) -> torch.Tensor:
        """(B, 205) final-conv scores -> (B, 206) logits: append 0 (distal), add library bias."""
        scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)
        return scores + self.library_bias(lib_onehot.to(scores.dtype).reshape(-1, N_LIBRARIES))

    # -- plain layer-by-layer path -----------------------------------------------------------
    def cut_logits_reference(self, x: torch.Tensor, lib_onehot: torch.Tensor) -> torch.Tensor:
        """Layer by layer as the Keras graph (channels first, nothing folded): (B, 206) logits."""
        h = self.conv_in(self._as_channels_last(x).transpose(1, 2))
        skips = []
        for g in range(len(DILATIONS)):
            skips.append(self.skip_convs[g](h))
            for block in self.blocks[g * BLOCKS_PER_GROUP:(g + 1) * BLOCKS_PER_GROUP]:
                h = block(h)
        s = self.last_block_conv(h)
        for skip in skips:
            s = s + skip
        return self._head(self.final_conv(s)[:, 0], lib_onehot)

    # -- fast path ---------------------------------------------------------------------------
    def _fast_weights(self) -> dict:
        """Folded, channels-last weights; rebuilt when a parameter changes or moves."""
        params = list(self.parameters()) + list(self.buffers())
        key = (self.device, params[0].dtype, tuple((t.data_ptr(), _version(t)) for t in params))
        if self._fast is None or self._fast_key != key:
            with torch.no_grad():
                blocks = []
                for block in self.blocks:
                    s0, t0 = block.bn0.scale_shift()
                    w0, b0 = _conv_taps(block.conv0, *block.bn1.scale_shift())
                    w1, b1 = _conv_taps(block.conv1)
                    blocks.append((block.dilation, s0.contiguous(), t0.contiguous(), w0, b0, w1, b1))
                self._fast = {
                    "conv_in": _dense_1x1(self.conv_in),
                    "blocks": blocks,
                    "skips": [_dense_1x1(c) for c in self.skip_convs],
                    "last": _dense_1x1(self.last_block_conv),
                    "final": _dense_1x1(self.final_conv),
                }
            self._fast_key = key
        return self._fast

    def clear_cache(self) -> None:
        """Forget the folded fast-path weights (they are rebuilt on the next call)."""
        self._fast = None
        self._fast_key = None

    def cut_logits(self, x: torch.Tensor, lib_onehot: torch.Tensor) -> torch.Tensor:
        """Pre-softmax scores (layer ``aparent_lib_add``): (B, 205, 4) or (B, 1, 205, 4), library
        (B, 13) or (13,) -> (B, 206). Uses the fast path unless autograd needs gradients (then
        the differentiable :meth:`cut_logits_reference`)."""
        if torch.is_grad_enabled() and (x.requires_grad or any(q.requires_grad for q in self.parameters())):
            return self.cut_logits_reference(x, lib_onehot)
        return self._cut_logits_fast(x, lib_onehot)

    def _cut_logits_fast(self, x: torch.Tensor, lib_onehot: torch.Tensor) -> torch.Tensor:
        x = self._as_channels_last(x)
        fw = self._fast_weights()
        n, c, p, length = x.shape[0], N_CHANNELS, _PAD, SEQ_LEN
        width = length + 2 * p
        rows = n * width
        # h: residual stream, a: conv input (zero margins = 'same' padding), y: conv output;
        # all (rows, 32), sequence i at rows [i * width + p, i * width + p + 205)
        h = x.new_zeros(rows, c)
        a = x.new_zeros(rows, c)
        y = x.new_zeros(rows, c)
        h3, a3 = h.view(n, width, c), a.view(n, width, c)
        inner = slice(p, rows - p)   # covers every sequence's 205 rows

        def zero_margins(t3):
            t3[:, :p].zero_()
            t3[:, p + length:].zero_()

        def conv(src, taps, bias, d, out):
            o = out[inner]
            torch.addmm(bias, src[p - d:rows - p - d], taps[0], out=o)
            o.addmm_(src[inner], taps[1])
            o.addmm_(src[p + d:rows - p + d], taps[2])

        w_in, b_in = fw["conv_in"]
        h3[:, p:p + length] = torch.addmm(b_in, x.reshape(-1, 4), w_in).view(n, length, c)
        skips = []
        for i, (d, s0, t0, w0, b0, w1, b1) in enumerate(fw["blocks"]):
            if i % BLOCKS_PER_GROUP == 0:
                ws, bs = fw["skips"][i // BLOCKS_PER_GROUP]
                skips.append(torch.addmm(bs, h, ws))
            torch.addcmul(t0, h, s0, out=a)
            a.clamp_min_(0)
            zero_margins(a3)
            conv(a, w0, b0, d, y)
            torch.clamp_min(y, 0, out=a)
            zero_margins(a3)
            conv(a, w1, b1, d, y)
            h.add_(y)
        w_last, b_last = fw["last"]
        skip_sum = torch.addmm(b_last, h, w_last)
        for skip in skips:
            skip_sum.add_(skip)
        w_f, b_f = fw["final"]
        scores = torch.addmm(b_f, skip_sum, w_f).view(n, width)[:, p:p + length]
        return self._head(scores, lib_onehot)

    def forward(self, x: torch.Tensor, lib_onehot: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Keras-equivalent forward: (B, 1, 205, 4) or (B, 205, 4), (B, 13) -> (iso_prob (B, 1),
        cut_prob (B, 206)), the Keras model's outputs 0 and 1. ``lib_onehot`` defaults to index 11."""
        if lib_onehot is None:
            lib_onehot = library_onehot(DEFAULT_LIBRARY, x.shape[0], device=x.device, dtype=x.dtype)
        cut_prob = torch.softmax(self.cut_logits(x, lib_onehot), dim=-1)
        return cut_prob[:, ISO_START:ISO_END].sum(dim=-1, keepdim=True), cut_prob

    # -- strings in, numpy out ---------------------------------------------------------------
    def predict_batch(self, seqs: Sequence[str], library=None) -> dict[str, np.ndarray]:
        """205-nt strings -> ``cut_prob`` (B, 206), ``cut_logits`` (B, 206), ``iso_prob`` (B,),
        all float32. ``library``: None (index 11), an index 0..12, a name from :data:`LIBRARIES`,
        per-sequence indices or names (B,), or library vectors (B, 13)."""
        for i, s in enumerate(seqs):
            if len(s) != SEQ_LEN:
                raise ValueError(f"APARENT2: sequence {i} has length {len(s)}; the model takes exactly "
                                 f"{SEQ_LEN} nt (the polyadenylation signal hexamer at 0-based 70..75)")
        n = len(seqs)
        lib = torch.from_numpy(library_vectors(library, n)).to(self.device)
        if n == 0:
            empty = np.zeros((0, N_POSITIONS), np.float32)
            return {"cut_prob": empty, "cut_logits": empty.copy(), "iso_prob": np.zeros(0, np.float32)}
        dtype = self.lib_bias.dtype
        lib = lib.to(dtype)
        x = torch.from_numpy(one_hot_batch(seqs, width=SEQ_LEN, n_value=N_VALUE)).to(self.device, dtype)
        with torch.inference_mode():
            logits = self.cut_logits(x, lib)
            cut_prob = torch.softmax(logits, dim=-1)
            iso = cut_prob[:, ISO_START:ISO_END].sum(dim=-1)
        return {"cut_prob": cut_prob.float().cpu().numpy(), "cut_logits": logits.float().cpu().numpy(),
                "iso_prob": iso.float().cpu().numpy()}


def library_index(library) -> int:
    """A library given as an index 0..12 or a name from :data:`LIBRARIES` (case-insensitive) -> index."""
    if isinstance(library, (str, np.str_)):
        names = [name.lower() for name in LIBRARIES]
        if str(library).lower() not in names:
            raise ValueError(f"APARENT2: unknown library {library!r}; known (index: name): "
                             + ", ".join(f"{i}: {name}" for i, name in enumerate(LIBRARIES)))
        return names.index(str(library).lower())
    if isinstance(library, (bool, np.bool_)) or not isinstance(library, (int, np.integer)):
        raise ValueError(f"APARENT2: library must be an index 0..{N_LIBRARIES - 1} or a library name, "
                         f"got {library!r}")
    if not 0 <= int(library) < N_LIBRARIES:
        raise ValueError(f"APARENT2: library index {library} out of range 0..{N_LIBRARIES - 1}")
    return int(library)


def library_vectors(library, n: int) -> np.ndarray:
    """(n, 13) float32 library input from None / index / name / (n,) indices or names / (n, 13)."""
    if library is None:
        library = DEFAULT_LIBRARY
    arr = np.asarray(library)
    if arr.ndim == 0:
        out = np.zeros((n, N_LIBRARIES), np.float32)
        out[:, library_index(arr.item() if arr.dtype.kind not in "US" else str(arr))] = 1.0
        return out
    if arr.ndim == 2:
        if arr.shape != (n, N_LIBRARIES):
            raise ValueError(f"APARENT2: library vectors must have shape ({n}, {N_LIBRARIES}), got {arr.shape}")
        return arr.astype(np.float32)
    if arr.ndim == 1 and arr.shape[0] == n:
        out = np.zeros((n, N_LIBRARIES), np.float32)
        for i, lib in enumerate(arr.tolist()):
            out[i, library_index(lib)] = 1.0
        return out
    raise ValueError(f"APARENT2: library must be None, an index, a name, {n} indices/names or a "
                     f"({n}, {N_LIBRARIES}) array, got shape {arr.shape}")


def library_onehot(library, n: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(n, 13) library one-hot tensor (see :func:`library_vectors`)."""
    return torch.from_numpy(library_vectors(library, n)).to(device=device, dtype=dtype)


def _conv2d_1xk(k: np.ndarray) -> np.ndarray:
    """Keras Conv2D kernel (1, width, in, out) -> torch Conv1d weight (out, in, width)."""
    if k.shape[0] != 1:
        raise ConversionError(f"expected a 1 x k Conv2D kernel, got shape {k.shape}")
    return conv1d_kernel(k[0])


def _check_graph(weights: KerasWeights) -> None:
    """Refuse a file whose ``model_config`` has other kernel sizes, dilations or paddings."""
    if not weights.model_config:
        return
    layers = {layer["name"]: layer["config"] for layer in weights.model_config["config"]["layers"]}
    for i in range(len(DILATIONS) * BLOCKS_PER_GROUP):
        d = DILATIONS[i // BLOCKS_PER_GROUP]
        for k in (0, 1):
            name = f"aparent_resblock_{i // BLOCKS_PER_GROUP}_{i % BLOCKS_PER_GROUP}_conv_{k}"
            cfg = layers.get(name, {})
            got = (cfg.get("kernel_size"), cfg.get("dilation_rate"), cfg.get("padding"))
            if got != ([1, 3], [d, d], "same"):
                raise ConversionError(f"{weights.path}: layer {name} has (kernel_size, dilation_rate, padding) "
                                      f"= {got}, APARENT2 has ([1, 3], [{d}, {d}], 'same')")


def from_keras_h5(path) -> Aparent2:
    """Build :class:`Aparent2` from the published h5 (all 358 arrays mapped, none left over)."""
    weights = KerasWeights(path)
    _check_graph(weights)
    model = Aparent2()

    def conv(module, layer):
        weights.assign(module.weight, layer, "kernel", _conv2d_1xk)
        weights.assign(module.bias, layer, "bias")

    def bn(module, layer):
        weights.assign(module.weight, layer, "gamma")
        weights.assign(module.bias, layer, "beta")
        weights.assign(module.running_mean, layer, "moving_mean")
        weights.assign(module.running_var, layer, "moving_variance")

    conv(model.conv_in, "aparent_conv_0")
    for i, block in enumerate(model.blocks):
        prefix = f"aparent_resblock_{i // BLOCKS_PER_GROUP}_{i % BLOCKS_PER_GROUP}_"
        bn(block.bn0, prefix + "batch_norm_0")
        conv(block.conv0, prefix + "conv_0")
        bn(block.bn1, prefix + "batch_norm_1")
        conv(block.conv1, prefix + "conv_1")
    for g, skip in enumerate(model.skip_convs):
        conv(skip, f"aparent_skip_conv_{g}")
    conv(model.last_block_conv, "aparent_last_block_conv")
    conv(model.final_conv, "aparent_final_conv")
    weights.assign(model.lib_kernel, "aparent_lib_conv", "kernel", lambda k: k[:, :, 0])
    weights.assign(model.lib_bias, "aparent_lib_conv", "bias", lambda b: b[0, :, 0])
    weights.check_complete(model)
    return model.eval()
