"""BPNet-OSKN (Avsec et al. 2021): 1000-nt sequence -> ChIP-nexus profiles of Oct4, Sox2, Nanog, Klf4.

Architecture of the published ``bpnet.model.h5`` (zenodo record 4294904; Kipoi ``BPNet-OSKN``),
read from the code that built it: ``basepair.models.multihead_seq_model`` in
kundajelab/bpnet-manuscript with the paper's configuration
``nexus,peaks,OSNK,0,10,1,FALSE,same,0.5,64,25,0.004,9,FALSE,[1,50],TRUE``
(``basepair/exp/paper/config.py``), whose layers, heads and model loop are the same as in
kundajelab/bpnet at commit 0cb7277 (``bpnet/layers.py``, ``bpnet/heads.py``, ``bpnet/seqmodel.py``),
the commit Kipoi's entry pins. Keras 2.2.4 auto-named the layers in creation order:

* input ``seq`` (B, 1000, 4): one-hot A, C, G, T; N (and every non-ACGT character) = all-zero row;
* body ``DilatedConv1D``: ``conv1d_1`` Conv1D(64, 25, 'same', ReLU), then for i = 1..9
  ``conv1d_{i+1}`` Conv1D(64, 3, 'same', ReLU, dilation 2**i) with a residual ``add_i``:
  h <- h + relu(conv(h)); the bottleneck is ``add_9`` (B, 1000, 64);
* per task t = 0..3 in the order Oct4, Sox2, Nanog, Klf4 (``for task in tasks: for head in heads``):

  - profile head (``DeConv1D``): ``reshape_{2t+1}`` to (B, 1000, 1, 64),
    ``conv2d_transpose_{t+1}`` Conv2DTranspose(2, kernel (25, 1), stride 1, 'same') — a 1-D
    transposed convolution along the sequence, i.e. a correlation with the kernel flipped, 12
    positions of zero padding on each side — ``reshape_{2t+2}`` back to (B, 1000, 2); plus the
    bias track: input ``bias/<task>/profile`` (B, 1000, 4) through ``conv1d_{11+t}``
    Conv1D(1, 1, no bias term), broadcast-added to both strands (``add``) = ``<task>/profile``
    logits (B, 1000, 2);
  - counts head (``GlobalAvgPoolFCN``, no splines): ``global_average_pooling1d_{t+1}`` over the
    1000 positions of the bottleneck, ``dense_{2t+1}`` Dense(2); plus input ``bias/<task>/counts``
    (B, 2) through ``dense_{2t+2}`` Dense(1, no bias term), broadcast-added to both strands =
    ``<task>/counts`` (B, 2), trained on log(1 + total counts) of each strand.

Bias (control) inputs: during training ``bias/<task>/profile`` held the PATCH-CAP control counts of
the + and - strand at moving-average windows 1 and 50 (channels: +, -, +50, -50) and
``bias/<task>/counts`` log(1 + control total) per strand. Kipoi's wrapper feeds zeros, which adds
exactly nothing (the bias layers have no bias term); seqzoo's default is the same, and the inputs
can be given by name (per sequence (N, 1000, 4) / (N, 2), or one (1000, 4) / (2,) for all).

Outputs of :meth:`BPNet.predict_batch` per task (float32): ``<task>/profile`` logits
(N, 1000, 2), ``<task>/counts`` (N, 2), ``<task>/profile_counts`` = softmax over positions of the
profile (per strand) x exp(counts) (N, 1000, 2) — the per-task output of Kipoi's wrapper and of
``bpnet.BPNet.predict`` — and ``<task>/log_total_counts`` (N,) = log(1 + n+ + n-) with
n_s = max(exp(counts_s) - 1, 0) the predicted total of strand s.

The four profile heads run as one 1-D convolution with 8 output channels (the transposed kernels
flipped) and the four counts heads as one 64 x 8 matrix product; the parameters stay per task
(:class:`torch.nn.ConvTranspose1d`, :class:`torch.nn.Linear`) as in the file.
"""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..encoding import one_hot_batch
from ..keras_h5 import ConversionError, KerasWeights, conv1d_kernel, dense_kernel
from .base import SequenceModel

TASKS = ("Oct4", "Sox2", "Nanog", "Klf4")
SEQ_LEN = 1000
N_FILTERS = 64
CONV1_KERNEL = 25
DILATIONS = tuple(2 ** i for i in range(1, 10))   # 2 .. 512
TCONV_KERNEL = 25
N_STRANDS = 2
N_PROFILE_BIAS = 4   # bias/<task>/profile channels
N_COUNTS_BIAS = 2    # bias/<task>/counts channels


def profile_bias_name(task: str) -> str:
    return f"bias/{task}/profile"


def counts_bias_name(task: str) -> str:
    return f"bias/{task}/counts"


BIAS_INPUTS = tuple(n for t in TASKS for n in (profile_bias_name(t), counts_bias_name(t)))


class BPNet(SequenceModel):
    """Torch BPNet-OSKN. ``forward(x (B, L, 4), profile_bias (B, 4 tasks, L, 4) | None,
    counts_bias (B, 4 tasks, 2) | None)`` -> (profile logits (B, 4, L, 2), counts (B, 4, 2))."""

    name = "BPNet-OSKN"
    per_sequence_inputs = BIAS_INPUTS

    def __init__(self, tasks: Sequence[str] = TASKS):
        super().__init__()
        self.tasks = tuple(tasks)
        self.conv_first = torch.nn.Conv1d(4, N_FILTERS, CONV1_KERNEL, padding=CONV1_KERNEL // 2)
        self.dil_convs = torch.nn.ModuleList(
            torch.nn.Conv1d(N_FILTERS, N_FILTERS, 3, padding=d, dilation=d) for d in DILATIONS)
        n = len(self.tasks)
        self.profile_tconv = torch.nn.ModuleList(
            torch.nn.ConvTranspose1d(N_FILTERS, N_STRANDS, TCONV_KERNEL, padding=TCONV_KERNEL // 2) for _ in range(n))
        self.profile_bias = torch.nn.ModuleList(torch.nn.Conv1d(N_PROFILE_BIAS, 1, 1, bias=False) for _ in range(n))
        self.counts_dense = torch.nn.ModuleList(torch.nn.Linear(N_FILTERS, N_STRANDS) for _ in range(n))
        self.counts_bias = torch.nn.ModuleList(torch.nn.Linear(N_COUNTS_BIAS, 1, bias=False) for _ in range(n))

    # -- pieces ------------------------------------------------------------------------------
    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, L, 4) -> bottleneck (B, 64, L) (``add_9``)."""
        h = x.transpose(1, 2)
        if torch.is_grad_enabled():
            h = F.relu(self.conv_first(h))
            for conv in self.dil_convs:
                h = h + F.relu(conv(h))
            return h
        h = self.conv_first(h).relu_()
        for conv in self.dil_convs:  # inference: in place, no new (B, 64, L) tensor per add
            h.add_(conv(h).relu_())
        return h

    def _fused_profile_conv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The four transposed convs as one conv1d: weight (2T, 64, 25), bias (2T,).

        ConvTranspose1d(stride 1, padding p) is conv1d with the kernel flipped, in/out swapped and
        padding K - 1 - p (= p for K = 25, p = 12)."""
        w = torch.cat([m.weight for m in self.profile_tconv], dim=1)       # (64, 2T, K)
        b = torch.cat([m.bias for m in self.profile_tconv])
        return w.transpose(0, 1).flip(2), b

    def heads(self, h: torch.Tensor, profile_bias: torch.Tensor | None = None,
              counts_bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """bottleneck (B, 64, L) -> profile logits (B, T, L, 2), counts (B, T, 2)."""
        n_tasks, (batch, _, length) = len(self.tasks), h.shape
        w, b = self._fused_profile_conv()
        profile = F.conv1d(h, w, b, padding=TCONV_KERNEL // 2)                   # (B, 2T, L)
        profile = profile.reshape(batch, n_tasks, N_STRANDS, length).transpose(2, 3)  # (B, T, L, 2)
        pooled = h.mean(dim=2)                                                   # (B, 64)
        wc = torch.cat([m.weight for m in self.counts_dense])                    # (2T, 64)
        bc = torch.cat([m.bias for m in self.counts_dense])
        counts = F.linear(pooled, wc, bc).reshape(batch, n_tasks, N_STRANDS)
        if profile_bias is not None:
            kp = torch.stack([m.weight[0, :, 0] for m in self.profile_bias])     # (T, 4)
            profile = profile + torch.einsum("btlc,tc->btl", profile_bias, kp).unsqueeze(-1)
        if counts_bias is not None:
            kc = torch.stack([m.weight[0] for m in self.counts_bias])            # (T, 2)
            counts = counts + torch.einsum("btc,tc->bt", counts_bias, kc).unsqueeze(-1)
        return profile, counts

    def forward(self, x: torch.Tensor, profile_bias: torch.Tensor | None = None,
                counts_bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.trunk(x), profile_bias, counts_bias)

    # -- strings in, numpy out ---------------------------------------------------------------
    def _bias_arrays(self, n: int, extra: dict) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Stack the named bias inputs to (n, T, L, 4) and (n, T, 2); None if none is given."""
        unknown = sorted(set(extra) - set(BIAS_INPUTS))
        if unknown:
            raise ValueError(f"BPNet-OSKN: unknown input(s) {unknown}; the model takes the sequence and "
                             f"{', '.join(BIAS_INPUTS)}")
        extra = {k: v for k, v in extra.items() if v is not None}
        prof = cnts = None
        if any(profile_bias_name(t) in extra for t in self.tasks):
            prof = np.zeros((n, len(self.tasks), SEQ_LEN, N_PROFILE_BIAS), np.float32)
            for i, t in enumerate(self.tasks):
                if profile_bias_name(t) in extra:
                    prof[:, i] = _broadcast(extra[profile_bias_name(t)], (n, SEQ_LEN, N_PROFILE_BIAS),
                                            profile_bias_name(t))
        if any(counts_bias_name(t) in extra for t in self.tasks):
            cnts = np.zeros((n, len(self.tasks), N_COUNTS_BIAS), np.float32)
            for i, t in enumerate(self.tasks):
                if counts_bias_name(t) in extra:
                    cnts[:, i] = _broadcast(extra[counts_bias_name(t)], (n, N_COUNTS_BIAS), counts_bias_name(t))
        return prof, cnts

    def predict_sequences(self, seqs: Sequence[str], batch_size: int = 64, **extra) -> dict[str, np.ndarray]:
        """As :meth:`SequenceModel.predict_sequences`; a bias input given once ((1000, 4) or (2,))
        applies to every sequence."""
        n = len(seqs)
        shapes = {profile_bias_name(t): (SEQ_LEN, N_PROFILE_BIAS) for t in self.tasks}
        shapes.update({counts_bias_name(t): (N_COUNTS_BIAS,) for t in self.tasks})
        full = {}
        for k, v in extra.items():
            if k in shapes and v is not None:
                full[k] = _broadcast(v, (n,) + shapes[k], k)
            else:
                full[k] = v
        return super().predict_sequences(seqs, batch_size=batch_size, **full)

    def predict_batch(self, seqs: Sequence[str], **extra) -> dict[str, np.ndarray]:
        """One batch of 1000-nt strings -> dict of float32 arrays (see the module docstring)."""
        for i, s in enumerate(seqs):
            if len(s) != SEQ_LEN:
                raise ValueError(f"BPNet-OSKN takes sequences of exactly {SEQ_LEN} nt; sequence {i} "
                                 f"({s[:20]!r}...) has {len(s)}")
        n = len(seqs)
        prof_bias, cnt_bias = self._bias_arrays(n, extra)
        dev = self.device
        with torch.inference_mode():
            x = torch.from_numpy(one_hot_batch(seqs, width=SEQ_LEN, n_value=0.0)).to(dev)
            pb = torch.from_numpy(prof_bias).to(dev) if prof_bias is not None else None
            cb = torch.from_numpy(cnt_bias).to(dev) if cnt_bias is not None else None
            profile, counts = self.forward(x, pb, cb)
            scaled = torch.softmax(profile, dim=2).mul_(torch.exp(counts).unsqueeze(2))
            profile, counts, scaled = profile.cpu().numpy(), counts.cpu().numpy(), scaled.cpu().numpy()
        log_total = log_total_counts(counts).astype(np.float32)
        out = {}
        for i, t in enumerate(self.tasks):
            out[f"{t}/profile"] = profile[:, i]
            out[f"{t}/counts"] = counts[:, i]
            out[f"{t}/profile_counts"] = scaled[:, i]
            out[f"{t}/log_total_counts"] = log_total[:, i]
        return out


def _broadcast(value, shape: tuple, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"BPNet-OSKN input {name!r} has shape {arr.shape}; expected {shape} or {shape[1:]}") from None


# -- derived quantities and variant effects ------------------------------------------------------
def log_total_counts(counts: np.ndarray) -> np.ndarray:
    """log(1 + n+ + n-) from per-strand ``counts`` (..., 2) = log(1 + n_s), in float64.

    n_s = exp(counts_s) - 1, clipped at 0 (a negative prediction means no reads on that strand).
    """
    c = np.asarray(counts, np.float64)
    n = np.clip(np.expm1(c), 0.0, None)
    return np.log1p(n.sum(axis=-1))


def _softmax_positions(logits: np.ndarray) -> np.ndarray:
    """Softmax over positions (axis -2) of (N, L, 2) logits, float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-2, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-2, keepdims=True)


def js_distance(p: np.ndarray, q: np.ndarray, axis: int = -2) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) between distributions along ``axis``."""
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=axis)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=axis)
    return np.sqrt(np.clip(0.5 * (kl_p + kl_q), 0.0, 1.0))


EFFECT_SUFFIXES = ("delta_log_counts", "profile_jsd", "max_abs_delta_profile_counts")
EFFECT_NAMES = tuple(f"{t}/{s}" for t in TASKS for s in EFFECT_SUFFIXES)
OUTPUTS = tuple(f"{t}/log_total_counts" for t in TASKS)
VECTOR_OUTPUTS = tuple(f"{t}/{k}" for t in TASKS for k in ("counts", "profile_counts"))


def effects(ref: dict, alt: dict) -> dict:
    """Per task, in float64 from the float32 predictions (each (N,)):

    * ``<task>/delta_log_counts`` = log_total_counts(alt) - log_total_counts(ref), with
      log_total_counts = log(1 + n+ + n-), n_s = max(exp(counts_s) - 1, 0);
    * ``<task>/profile_jsd``: the Jensen-Shannon distance (base 2, 0..1) between the ref and alt
      profile shapes — softmax over the 1000 positions of each strand's logits — averaged over
      the two strands (shape only: independent of the counts);
    * ``<task>/max_abs_delta_profile_counts``: max over positions and strands of
      |alt - ref| of the recombined profile softmax(profile) x exp(counts).
    """
    out = {}
    for t in TASKS:
        out[f"{t}/delta_log_counts"] = log_total_counts(alt[f"{t}/counts"]) - log_total_counts(ref[f"{t}/counts"])
        p, q = _softmax_positions(ref[f"{t}/profile"]), _softmax_positions(alt[f"{t}/profile"])
        out[f"{t}/profile_jsd"] = js_distance(p, q, axis=-2).mean(axis=-1)
        d = np.asarray(alt[f"{t}/profile_counts"], np.float64) - np.asarray(ref[f"{t}/profile_counts"], np.float64)
        out[f"{t}/max_abs_delta_profile_counts"] = np.abs(d).max(axis=(1, 2), initial=0.0)
    return out


# -- converter ------------------------------------------------------------------------------
def default_layer_names(n_tasks: int = len(TASKS)) -> dict[str, str]:
    """Role -> layer name as Keras 2.2.4 auto-named them in the original file."""
    names = {"conv_first": "conv1d_1"}
    names.update({f"dil_conv_{i}": f"conv1d_{i + 2}" for i in range(len(DILATIONS))})
    for t in range(n_tasks):
        names[f"profile_tconv_{t}"] = f"conv2d_transpose_{t + 1}"
        names[f"profile_bias_{t}"] = f"conv1d_{len(DILATIONS) + 2 + t}"
        names[f"counts_dense_{t}"] = f"dense_{2 * t + 1}"
        names[f"counts_bias_{t}"] = f"dense_{2 * t + 2}"
    return names


def _graph(config: dict) -> tuple[dict, dict]:
    """name -> layer config, name -> names of inbound layers (Keras 2 functional config)."""
    layers = {layer["name"]: layer for layer in config["config"]["layers"]}
    inbound = {}
    for name, layer in layers.items():
        srcs = []
        for node in layer.get("inbound_nodes", []):
            for item in node:
                srcs.append(item[0])
        inbound[name] = srcs
    return layers, inbound


def traced_layer_names(config: dict, tasks: Sequence[str] = TASKS) -> dict[str, str]:
    """Role -> layer name, read from the graph in ``model_config`` (from each task's named outputs
    ``<task>/profile`` and ``<task>/counts`` back to the body), so that the task order does not rest
    on the layer numbering. Raises ConversionError where the graph is not BPNet's."""
    layers, inbound = _graph(config)

    def cls(name):
        return layers[name]["class_name"]

    def upstream(start: str, stop: set) -> list[str]:
        seen, todo, order = set(), [start], []
        while todo:
            name = todo.pop()
            if name in seen or name in stop:
                continue
            seen.add(name)
            order.append(name)
            todo.extend(inbound.get(name, []))
        return order

    body = [n for n in layers if cls(n) == "Conv1D" and inbound[n] and
            not any(cls(s) == "InputLayer" and s.startswith("bias/") for s in inbound[n])]
    names = {}
    # body: the convolutions on the path from `seq`, in graph order (first conv reads `seq`)
    first = [n for n in body if inbound[n] == ["seq"]]
    if len(first) != 1:
        raise ConversionError(f"model_config: expected one Conv1D reading input 'seq', found {first}")
    names["conv_first"] = first[0]
    dil = sorted((n for n in body if n != first[0]),
                 key=lambda n: np.ravel(layers[n]["config"].get("dilation_rate", 1))[0])
    if len(dil) != len(DILATIONS):
        raise ConversionError(f"model_config: expected {len(DILATIONS)} dilated Conv1D layers in the body, "
                              f"found {len(dil)}: {dil}")
    for i, n in enumerate(dil):
        names[f"dil_conv_{i}"] = n
    body_set = set(body)
    for t, task in enumerate(tasks):
        for head in ("profile", "counts"):
            out = f"{task}/{head}"
            if out not in layers:
                raise ConversionError(f"model_config has no output layer {out!r}")
            up = upstream(out, body_set)
            if head == "profile":
                tconv = [n for n in up if cls(n) == "Conv2DTranspose"]
                bias = [n for n in up if cls(n) == "Conv1D" and f"bias/{task}/profile" in inbound[n]]
                if len(tconv) != 1 or len(bias) != 1:
                    raise ConversionError(f"model_config: {out} should come from one Conv2DTranspose and one "
                                          f"Conv1D on bias/{task}/profile; found {tconv} and {bias}")
                names[f"profile_tconv_{t}"], names[f"profile_bias_{t}"] = tconv[0], bias[0]
            else:
                dense = [n for n in up if cls(n) == "Dense" and
                         any(cls(s) == "GlobalAveragePooling1D" for s in inbound[n])]
                bias = [n for n in up if cls(n) == "Dense" and f"bias/{task}/counts" in inbound[n]]
                if len(dense) != 1 or len(bias) != 1:
                    raise ConversionError(f"model_config: {out} should come from one Dense after a global average "
                                          f"pool and one Dense on bias/{task}/counts; found {dense} and {bias}")
                names[f"counts_dense_{t}"], names[f"counts_bias_{t}"] = dense[0], bias[0]
    return names


def _check_layer_configs(weights: KerasWeights, names: dict) -> None:
    """Hyper-parameters the port assumes, where the file has a model_config."""
    if not weights.model_config:
        return
    layers, _ = _graph(weights.model_config)

    def conf(role):
        return layers[names[role]]["config"]

    def want(role, key, value):
        got = conf(role).get(key)
        if isinstance(got, (list, tuple)):
            got = tuple(got)
        if got != value:
            raise ConversionError(f"{weights.path}: layer {names[role]} ({role}) has {key}={got!r}, the port "
                                  f"assumes {value!r}")

    want("conv_first", "kernel_size", (CONV1_KERNEL,))
    want("conv_first", "padding", "same")
    want("conv_first", "activation", "relu")
    for i, d in enumerate(DILATIONS):
        want(f"dil_conv_{i}", "dilation_rate", (d,))
        want(f"dil_conv_{i}", "kernel_size", (3,))
        want(f"dil_conv_{i}", "padding", "same")
        want(f"dil_conv_{i}", "activation", "relu")
    for t in range(len(TASKS)):
        want(f"profile_tconv_{t}", "kernel_size", (TCONV_KERNEL, 1))
        want(f"profile_tconv_{t}", "strides", (1, 1))
        want(f"profile_tconv_{t}", "padding", "same")
        want(f"profile_tconv_{t}", "activation", "linear")
        want(f"profile_bias_{t}", "use_bias", False)
        want(f"counts_dense_{t}", "activation", "linear")
        want(f"counts_bias_{t}", "use_bias", False)


def tconv_kernel(k: np.ndarray) -> np.ndarray:
    """Keras Conv2DTranspose kernel (25, 1, out, in) -> torch ConvTranspose1d weight (in, out, 25)."""
    if k.ndim != 4 or k.shape[1] != 1:
        raise ConversionError(f"Conv2DTranspose kernel of shape {k.shape}; expected (k, 1, out, in)")
    return np.transpose(k[:, 0], (2, 1, 0))


def layer_names(weights: KerasWeights) -> dict[str, str]:
    """Role -> h5 layer name: traced from ``model_config`` when the file has one (and checked
    against the Keras 2.2.4 names), else the Keras 2.2.4 names."""
    default = default_layer_names()
    if not weights.model_config:
        return default
    traced = traced_layer_names(weights.model_config)
    if traced != default:
        diff = {k: (default[k], traced[k]) for k in default if default[k] != traced.get(k)}
        raise ConversionError(f"{weights.path}: the graph in model_config maps layers differently from the "
                              f"published BPNet-OSKN naming (role: (expected, found)): {json.dumps(diff)}")
    return traced


def from_keras_h5(path) -> BPNet:
    """Build :class:`BPNet` from ``bpnet.model.h5`` (every array mapped, hyper-parameters checked)."""
    weights = KerasWeights(path)
    names = layer_names(weights)
    _check_layer_configs(weights, names)
    model = BPNet()
    weights.assign(model.conv_first.weight, names["conv_first"], "kernel", conv1d_kernel)
    weights.assign(model.conv_first.bias, names["conv_first"], "bias")
    for i, conv in enumerate(model.dil_convs):
        weights.assign(conv.weight, names[f"dil_conv_{i}"], "kernel", conv1d_kernel)
        weights.assign(conv.bias, names[f"dil_conv_{i}"], "bias")
    for t in range(len(TASKS)):
        weights.assign(model.profile_tconv[t].weight, names[f"profile_tconv_{t}"], "kernel", tconv_kernel)
        weights.assign(model.profile_tconv[t].bias, names[f"profile_tconv_{t}"], "bias")
        weights.assign(model.profile_bias[t].weight, names[f"profile_bias_{t}"], "kernel", conv1d_kernel)
        weights.assign(model.counts_dense[t].weight, names[f"counts_dense_{t}"], "kernel", dense_kernel)
        weights.assign(model.counts_dense[t].bias, names[f"counts_dense_{t}"], "bias")
        weights.assign(model.counts_bias[t].weight, names[f"counts_bias_{t}"], "kernel", dense_kernel)
    weights.check_complete(model)
    return model.eval()
