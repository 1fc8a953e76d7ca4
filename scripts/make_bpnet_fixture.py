"""Build the BPNet-OSKN test fixture with TensorFlow/Keras: random weights, the original layer names.

The published ``bpnet.model.h5`` (zenodo record 4294904, md5 bbe883baef261877bfad07d05feb627d)
cannot be fetched in CI, so ``tests/test_bpnet.py`` checks the converter against a Keras model of
the same architecture instead: this script builds it layer by layer as the original code does
(``basepair.models.multihead_seq_model`` in kundajelab/bpnet-manuscript, identical in
kundajelab/bpnet 0cb7277: ``bpnet/layers.py`` DilatedConv1D + DeConv1D + GlobalAvgPoolFCN,
``bpnet/heads.py`` ProfileHead/ScalarHead with ``use_bias=True``, ``bpnet/seqmodel.py`` SeqModel
looping ``for task in tasks: for head in heads``), with the paper's hyper-parameters
(``nexus,peaks,OSNK,0,10,1,FALSE,same,0.5,64,25,0.004,9,FALSE,[1,50],TRUE``: 64 filters, first
kernel 25, 9 dilated layers, transposed-conv kernel 25, 'same' padding, no batch norm, profile
bias tracks [1, 50] -> 4 channels, counts bias 2 channels), draws random weights (biases included,
so that every array matters) and saves

* ``tests/fixtures/bpnet/bpnet.fixture.h5``: the whole model (legacy Keras HDF5, ``model.save``),
  layer names set explicitly to what Keras 2.2.4 auto-named in the original file (``conv1d_1`` ..
  ``conv1d_14``, ``conv2d_transpose_1..4``, ``dense_1..8``, ``add_1..17``, ``reshape_1..8``,
  ``global_average_pooling1d_1..4``; Keras 2.15 would start at ``conv1d``);
* ``tests/fixtures/bpnet/bpnet.fixture_io.npz``: the input sequences (strings with N runs and lower
  case), the bias inputs (zero for the first sequences, random non-negative for the others) and the
  Keras outputs ``<task>/profile`` (N, 1000, 2) and ``<task>/counts`` (N, 2), float32;
* ``tests/fixtures/bpnet/meta.json``: versions, seed, layer list.

Not run in CI. Needs TensorFlow 2.x with the Keras 2 API, e.g.::

    python3.11 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1 tf-keras==2.15.1 h5py 'numpy<2'
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python scripts/make_bpnet_fixture.py [OUT_DIR]

(the fixture in the repository was made with exactly that: TensorFlow 2.15.1, tf-keras 2.15.1, on CPU;
a rerun gives the same arrays and outputs — the h5 bytes also hold the marshalled code of the
identity Lambda layers, which changes with this file's line numbers).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

SEED = 20211
TASKS = ("Oct4", "Sox2", "Nanog", "Klf4")
SEQ_LEN = 1000
FILTERS = 64
CONV1_KERNEL = 25
N_DIL_LAYERS = 9
TCONV_KERNEL = 25
N_PROFILE_BIAS_TRACKS = 4   # control counts (+, -) at moving-average windows 1 and 50
N_COUNTS_BIAS_TRACKS = 2    # log(1 + control total counts) per strand
N_SEQS = 6
N_ZERO_BIAS = 3             # sequences 0..2 get zero bias inputs (the Kipoi wrapper's), 3..5 random


def keras_module():
    try:
        import tf_keras as keras  # the Keras 2 API when TensorFlow ships Keras 3
    except ImportError:
        from tensorflow import keras
    return keras


def build_model(keras):
    """The BPNet-OSKN graph with Keras 2.2.4's auto-names (creation order of the original code)."""
    kl = keras.layers
    counters: dict[str, int] = {}

    def name(prefix: str) -> str:
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}_{counters[prefix]}"

    def identity(x):
        return x

    seq = kl.Input(shape=(SEQ_LEN, 4), name="seq")
    # body: DilatedConv1D(filters=64, conv1_kernel_size=25, n_dil_layers=9, padding='same', residual)
    x = kl.Conv1D(FILTERS, kernel_size=CONV1_KERNEL, padding="same", activation="relu", name=name("conv1d"))(seq)
    for i in range(1, N_DIL_LAYERS + 1):
        conv = kl.Conv1D(FILTERS, kernel_size=3, padding="same", activation="relu", dilation_rate=2 ** i,
                         name=name("conv1d"))(x)
        x = kl.add([x, conv], name=name("add"))
    bottleneck = x

    outputs, bias_inputs = [], []
    for task in TASKS:
        # ProfileHead(net=DeConv1D(n_tasks=2, filters=64, tconv_kernel_size=25, padding='same'), use_bias=True)
        p = kl.Reshape((-1, 1, FILTERS), name=name("reshape"))(bottleneck)
        p = kl.Conv2DTranspose(2, kernel_size=(TCONV_KERNEL, 1), padding="same", name=name("conv2d_transpose"))(p)
        p = kl.Reshape((-1, 2), name=name("reshape"))(p)
        binp = kl.Input(shape=(None, N_PROFILE_BIAS_TRACKS), name=f"bias/{task}/profile")
        bx = kl.Conv1D(1, kernel_size=1, use_bias=False, name=name("conv1d"))(binp)
        p = kl.add([p, bx], name=name("add"))
        outputs.append(kl.Lambda(identity, name=f"{task}/profile")(p))
        bias_inputs.append(binp)
        # ScalarHead(net=GlobalAvgPoolFCN(n_tasks=2), use_bias=True, bias_shape=(2,))
        c = kl.GlobalAveragePooling1D(name=name("global_average_pooling1d"))(bottleneck)
        c = kl.Dense(2, name=name("dense"))(c)
        cinp = kl.Input(shape=(N_COUNTS_BIAS_TRACKS,), name=f"bias/{task}/counts")
        cx = kl.Dense(1, use_bias=False, name=name("dense"))(cinp)
        c = kl.add([c, cx], name=name("add"))
        outputs.append(kl.Lambda(identity, name=f"{task}/counts")(c))
        bias_inputs.append(cinp)
    return keras.models.Model([seq] + bias_inputs, outputs)


def randomize(model, rng: np.random.Generator) -> None:
    """Random weights giving outputs in a trained BPNet's range: kernels N(0, gain^2 / fan_in)
    (gain 1 for the first conv, 0.6 for the residual convs so the trunk does not blow up, 1.5 for
    the transposed convs, 0.3 for the counts Dense layers); biases N(0, 0.1), except the counts
    Dense biases N(4, 0.5) (exp(counts) in the tens to thousands); the bias-track weights
    N(0, 0.5), so that non-zero bias inputs move the outputs by several units."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        kind = layer.__class__.__name__
        new = []
        for w in weights:
            if w.ndim == 1:
                new.append(rng.normal(4.0, 0.5, w.shape) if kind == "Dense" else rng.normal(0, 0.1, w.shape))
            elif layer.name in BIAS_LAYERS:
                new.append(rng.normal(0, 0.5, w.shape))
            else:
                if kind == "Conv2DTranspose":  # (k, 1, out, in)
                    fan_in, gain = w.shape[0] * w.shape[3], 1.5
                elif kind == "Dense":  # (in, out)
                    fan_in, gain = w.shape[0], 0.3
                else:  # Conv1D (k, in, out)
                    fan_in, gain = int(np.prod(w.shape[:-1])), (1.0 if layer.name == "conv1d_1" else 0.6)
                new.append(rng.normal(0, gain / np.sqrt(fan_in), w.shape))
        layer.set_weights([a.astype(np.float32) for a in new])


#: the bias-track layers: conv1d_11..14 (profile), dense_2, 4, 6, 8 (counts)
BIAS_LAYERS = {f"conv1d_{11 + t}" for t in range(4)} | {f"dense_{2 * t + 2}" for t in range(4)}


def make_sequences(rng: np.random.Generator) -> list[str]:
    seqs = ["".join(rng.choice(list("ACGT"), SEQ_LEN)) for _ in range(N_SEQS)]
    s = list(seqs[1])
    s[0:30] = "N" * 30                      # N runs at the start, the middle and the end
    s[480:520] = "N" * 40
    s[-25:] = "N" * 25
    seqs[1] = "".join(s)
    seqs[2] = seqs[2][:300].lower() + seqs[2][300:]   # soft-masked stretch: read as upper case
    seqs[4] = "N" * 100 + seqs[4][100:]
    return seqs


def one_hot(seqs: list[str]) -> np.ndarray:
    out = np.zeros((len(seqs), SEQ_LEN, 4), np.float32)
    for i, s in enumerate(seqs):
        for j, base in enumerate(s.upper()):
            k = "ACGT".find(base)
            if k >= 0:
                out[i, j, k] = 1.0
    return out


def moving_average(x: np.ndarray, n: int) -> np.ndarray:
    """Per-channel moving average along axis 0 ('same' length), as the bias tracks were smoothed."""
    if n == 1:
        return x
    kernel = np.ones(n) / n
    return np.stack([np.convolve(x[:, c], kernel, mode="same") for c in range(x.shape[1])], axis=1)


def bias_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Zeros for the first N_ZERO_BIAS sequences; for the rest control-like tracks: Poisson counts on
    both strands, smoothed at windows 1 and 50 (4 channels) and log(1 + total) per strand."""
    out = {}
    for task in TASKS:
        prof = np.zeros((N_SEQS, SEQ_LEN, N_PROFILE_BIAS_TRACKS), np.float32)
        cnts = np.zeros((N_SEQS, N_COUNTS_BIAS_TRACKS), np.float32)
        for i in range(N_ZERO_BIAS, N_SEQS):
            raw = rng.poisson(rng.uniform(0.05, 0.6), size=(SEQ_LEN, 2)).astype(np.float64)
            prof[i] = np.concatenate([moving_average(raw, 1), moving_average(raw, 50)], axis=1)
            cnts[i] = np.log1p(raw.sum(axis=0))
        out[f"bias/{task}/profile"] = prof
        out[f"bias/{task}/counts"] = cnts
    return out


def main(out_dir: Path) -> None:
    import h5py
    import tensorflow as tf

    keras = keras_module()
    tf.random.set_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = build_model(keras)
    randomize(model, rng)
    seqs = make_sequences(rng)
    bias = bias_inputs(rng)
    feed = {"seq": one_hot(seqs), **bias}
    preds = model.predict([feed[n] for n in model.input_names], batch_size=N_SEQS, verbose=0)
    outputs = {name: np.asarray(p, np.float32) for name, p in zip(model.output_names, preds)}
    for task in TASKS:
        assert outputs[f"{task}/profile"].shape == (N_SEQS, SEQ_LEN, 2)
        assert outputs[f"{task}/counts"].shape == (N_SEQS, 2)

    out_dir.mkdir(parents=True, exist_ok=True)
    h5_path = out_dir / "bpnet.fixture.h5"
    model.save(str(h5_path), include_optimizer=False, save_format="h5")
    arrays = {"seqs": np.array(seqs)}
    arrays.update({f"in:{k}": v for k, v in bias.items()})
    arrays.update({f"out:{k}": v for k, v in outputs.items()})
    np.savez_compressed(out_dir / "bpnet.fixture_io.npz", **arrays)
    with h5py.File(h5_path, "r") as fh:
        layer_names = [n.decode() if isinstance(n, bytes) else str(n) for n in fh["model_weights"].attrs["layer_names"]]
    meta = {
        "made_by": "scripts/make_bpnet_fixture.py",
        "seed": SEED,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "h5py": h5py.__version__,
        "numpy": np.__version__,
        "tasks": list(TASKS),
        "n_sequences": N_SEQS,
        "zero_bias_sequences": list(range(N_ZERO_BIAS)),
        "model_inputs": list(model.input_names),
        "model_outputs": list(model.output_names),
        "h5_layer_names": layer_names,
        "npz_keys": "seqs; in:bias/<task>/profile (N,1000,4), in:bias/<task>/counts (N,2); "
                    "out:<task>/profile (N,1000,2) logits, out:<task>/counts (N,2)",
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    for task in TASKS:
        c = outputs[f"{task}/counts"]
        p = outputs[f"{task}/profile"]
        print(f"{task}: counts range {c.min():.3f}..{c.max():.3f}, profile logits sd {p.std():.3f}")
    print(f"wrote {h5_path} ({h5_path.stat().st_size} bytes), {out_dir / 'bpnet.fixture_io.npz'}, "
          f"{out_dir / 'meta.json'}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bpnet"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
