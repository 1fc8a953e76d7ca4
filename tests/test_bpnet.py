"""BPNet-OSKN: the h5 converter against Keras outputs, the model's inputs/outputs, effects, scoring, Kipoi.

The published ``bpnet.model.h5`` is not available to CI. ``tests/fixtures/bpnet/`` holds a Keras
model of the same architecture with random weights and the original layer names, and its Keras
outputs on six sequences (N runs, lower case), three with zero and three with non-zero bias inputs
(``scripts/make_bpnet_fixture.py``, TensorFlow 2.15.1). Parity with those outputs, with every h5
array mapped, is the converter's check; with the published file in ``$SEQZOO_WEIGHTS_DIR`` it is
also converted and run (no reference outputs exist for it here).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqzoo import registry
from seqzoo.keras_h5 import ConversionError, KerasWeights
from seqzoo.nets import bpnet
from seqzoo.nets.bpnet import (BIAS_INPUTS, EFFECT_NAMES, OUTPUTS, TASKS, VECTOR_OUTPUTS, default_layer_names,
                               effects, from_keras_h5, js_distance, log_total_counts, traced_layer_names)
from seqzoo.weights import WeightsFile

from conftest import require_weights

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "bpnet"
H5 = FIXTURE / "bpnet.fixture.h5"
IO = FIXTURE / "bpnet.fixture_io.npz"
MODEL_DIR = ROOT / "models" / "BPNet-OSKN"
EXAMPLES = MODEL_DIR / "example_files"
OFFICIAL = WeightsFile("bpnet.model.h5", "https://zenodo.org/record/4294904/files/bpnet.model.h5?download=1",
                       "bbe883baef261877bfad07d05feb627d")
ATOL = 1e-4
N_ZERO_BIAS = 3


@pytest.fixture(scope="module")
def model():
    return from_keras_h5(H5)


@pytest.fixture(scope="module")
def io():
    data = np.load(IO)
    return {k: data[k] for k in data.files}


def seqs_of(io) -> list[str]:
    return [str(s) for s in io["seqs"]]


def bias_of(io, rows=slice(None)) -> dict:
    return {k[3:]: io[k][rows] for k in io if k.startswith("in:")}


def expected_layers() -> dict[str, tuple]:
    """h5 layer -> (kernel shape, bias shape or None) of the published architecture."""
    out = {"conv1d_1": ((25, 4, 64), (64,))}
    out.update({f"conv1d_{i}": ((3, 64, 64), (64,)) for i in range(2, 11)})
    for t in range(4):
        out[f"conv2d_transpose_{t + 1}"] = ((25, 1, 2, 64), (2,))
        out[f"conv1d_{11 + t}"] = ((1, 4, 1), None)
        out[f"dense_{2 * t + 1}"] = ((64, 2), (2,))
        out[f"dense_{2 * t + 2}"] = ((2, 1), None)
    return out


# -- the fixture and the converter ----------------------------------------------------------
def test_fixture_is_small_and_has_the_original_layer_names():
    assert sum(p.stat().st_size for p in FIXTURE.iterdir()) < 3_000_000
    w = KerasWeights(H5)
    layers = expected_layers()
    got = {}
    for (layer, name), arr in w.arrays.items():
        got.setdefault(layer, {})[name] = arr.shape
    assert set(got) == set(layers)
    for layer, (kernel, bias) in layers.items():
        want = {"kernel": kernel} if bias is None else {"kernel": kernel, "bias": bias}
        assert got[layer] == want, layer
    config = w.model_config["config"]
    assert [x[0] for x in config["input_layers"]] == ["seq"] + list(BIAS_INPUTS)
    assert [x[0] for x in config["output_layers"]] == [f"{t}/{h}" for t in TASKS for h in ("profile", "counts")]
    meta = json.loads((FIXTURE / "meta.json").read_text())
    assert meta["tasks"] == list(TASKS) and meta["zero_bias_sequences"] == list(range(N_ZERO_BIAS))


def test_every_array_is_mapped_and_the_graph_gives_the_keras_2_2_4_names(model):
    w = KerasWeights(H5)
    assert traced_layer_names(w.model_config) == default_layer_names()
    n_file = sum(a.size for a in w.arrays.values())
    n_torch = sum(p.numel() for p in model.parameters())
    assert n_file == n_torch == 130_984
    assert len(w.arrays) == 44
    # from_keras_h5 ran check_complete: doing it by hand once more
    w2 = KerasWeights(H5)
    names = bpnet.layer_names(w2)
    for layer, kernel in [(names["conv_first"], "kernel"), (names["counts_bias_3"], "kernel")]:
        w2.get(layer, kernel)
    with pytest.raises(ConversionError, match="arrays left over"):
        w2.check_complete(torch.nn.Module())


def test_parity_with_keras_including_nonzero_bias_inputs(model, io):
    out = model.predict_sequences(seqs_of(io), batch_size=4, **bias_of(io))
    worst = {}
    for t in TASKS:
        for head in ("profile", "counts"):
            ref = io[f"out:{t}/{head}"]
            got = out[f"{t}/{head}"]
            assert got.shape == ref.shape and got.dtype == np.float32
            worst[f"{t}/{head}"] = float(np.abs(got - ref).max())
    assert max(worst.values()) <= ATOL, worst
    print("max |torch - keras| per output:", worst)


def test_zero_bias_is_the_default_and_the_bias_branches_matter(model, io):
    seqs = seqs_of(io)
    plain = model.predict_sequences(seqs)
    zeros = model.predict_sequences(seqs, **{k: np.zeros_like(v) for k, v in bias_of(io).items()})
    only_profile = model.predict_sequences(seqs, **{k: v for k, v in bias_of(io).items() if k.endswith("profile")})
    only_counts = model.predict_sequences(seqs, **{k: v for k, v in bias_of(io).items() if k.endswith("counts")})
    z, nz = slice(0, N_ZERO_BIAS), slice(N_ZERO_BIAS, None)
    for t in TASKS:
        prof, cnt = io[f"out:{t}/profile"], io[f"out:{t}/counts"]
        np.testing.assert_array_equal(plain[f"{t}/profile"], zeros[f"{t}/profile"])
        np.testing.assert_array_equal(plain[f"{t}/counts"], zeros[f"{t}/counts"])
        assert np.abs(plain[f"{t}/profile"][z] - prof[z]).max() <= ATOL
        assert np.abs(plain[f"{t}/counts"][z] - cnt[z]).max() <= ATOL
        # without the bias inputs the non-zero-bias rows are far off: both bias layers are live
        assert np.abs(plain[f"{t}/profile"][nz] - prof[nz]).max() > 0.5
        assert np.abs(plain[f"{t}/counts"][nz] - cnt[nz]).max() > 0.5
        # each bias input feeds its own head only
        assert np.abs(only_profile[f"{t}/profile"] - prof).max() <= ATOL
        assert np.abs(only_profile[f"{t}/counts"][nz] - cnt[nz]).max() > 0.5
        assert np.abs(only_counts[f"{t}/counts"] - cnt).max() <= ATOL
        assert np.abs(only_counts[f"{t}/profile"][nz] - prof[nz]).max() > 0.5
        # the bias adds the same value to both strands
        d = only_counts[f"{t}/counts"] - plain[f"{t}/counts"]
        np.testing.assert_allclose(d[:, 0], d[:, 1], atol=1e-5)


def test_shared_bias_inputs_broadcast(model, io):
    seqs = seqs_of(io)[:4]
    row = 4
    shared = {"bias/Sox2/profile": io["in:bias/Sox2/profile"][row], "bias/Klf4/counts": io["in:bias/Klf4/counts"][row]}
    tiled = {k: np.broadcast_to(v, (len(seqs),) + v.shape).copy() for k, v in shared.items()}
    a = model.predict_sequences(seqs, batch_size=3, **shared)
    b = model.predict_sequences(seqs, batch_size=3, **tiled)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # two sequences and a (2,) counts bias: still "one for all", not one value per sequence
    c = model.predict_sequences(seqs[:2], **{"bias/Klf4/counts": np.array([1.0, 2.0])})
    d = model.predict_sequences(seqs[:2], **{"bias/Klf4/counts": np.array([[1.0, 2.0], [1.0, 2.0]])})
    np.testing.assert_array_equal(c["Klf4/counts"], d["Klf4/counts"])


def test_bad_inputs(model, io):
    seqs = seqs_of(io)
    with pytest.raises(ValueError, match="exactly 1000"):
        model.predict_sequences([seqs[0][:999]])
    with pytest.raises(ValueError, match="unknown input"):
        model.predict_sequences(seqs[:1], **{"bias/Oct4/profil": np.zeros((1000, 4))})
    with pytest.raises(ValueError, match="has shape"):
        model.predict_sequences(seqs[:2], **{"bias/Oct4/profile": np.zeros((1000, 2))})
    assert {k: v.shape for k, v in model.predict_sequences([]).items()}["Oct4/profile"] == (0, 1000, 2)


def test_derived_outputs(model, io):
    out = model.predict_sequences(seqs_of(io), **bias_of(io))
    for t in TASKS:
        logits = out[f"{t}/profile"].astype(np.float64)
        counts = out[f"{t}/counts"].astype(np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        # Kipoi's wrapper: softmax(profile) (over positions, per strand) * exp(counts)[:, None]
        want = e / e.sum(axis=1, keepdims=True) * np.exp(counts)[:, None, :]
        np.testing.assert_allclose(out[f"{t}/profile_counts"], want, rtol=2e-5, atol=1e-6)
        n = np.maximum(np.exp(counts) - 1, 0)
        np.testing.assert_allclose(out[f"{t}/log_total_counts"], np.log(1 + n.sum(axis=1)), rtol=1e-6)
        assert out[f"{t}/log_total_counts"].shape == (6,)


def test_batching_and_autograd_paths_agree(model, io):
    seqs, bias = seqs_of(io), bias_of(io)
    a = model.predict_sequences(seqs, batch_size=1, **bias)
    b = model.predict_sequences(seqs, batch_size=6, **bias)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-5)
    from seqzoo.encoding import one_hot_batch
    x = torch.from_numpy(one_hot_batch(seqs[:2], width=1000))
    with torch.enable_grad():
        xg = x.clone().requires_grad_(True)
        profile, counts = model(xg)
        counts.sum().backward()
    assert xg.grad is not None and float(xg.grad.abs().sum()) > 0
    with torch.inference_mode():
        p2, c2 = model(x)
    np.testing.assert_allclose(profile.detach().numpy(), p2.numpy(), atol=1e-5)
    np.testing.assert_allclose(counts.detach().numpy(), c2.numpy(), atol=1e-5)


def _copy_h5(tmp_path, name="copy.h5") -> Path:
    dst = tmp_path / name
    shutil.copy(H5, dst)
    return dst


def test_weights_only_file_uses_the_keras_2_2_4_names(tmp_path, io, model):
    import h5py
    path = _copy_h5(tmp_path)
    with h5py.File(path, "r+") as fh:
        del fh.attrs["model_config"]
    m2 = from_keras_h5(path)
    seqs = seqs_of(io)[:2]
    a, b = model.predict_sequences(seqs), m2.predict_sequences(seqs)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def _edit_config(path: Path, edit) -> None:
    import h5py
    with h5py.File(path, "r+") as fh:
        config = json.loads(fh.attrs["model_config"])
        edit(config)
        fh.attrs["model_config"] = json.dumps(config)


def test_conversion_refuses_files_that_are_not_bpnet_oskn(tmp_path):
    import h5py

    def set_dilation(config):
        for layer in config["config"]["layers"]:
            if layer["name"] == "conv1d_3":
                layer["config"]["dilation_rate"] = [3]

    p = _copy_h5(tmp_path, "dil.h5")
    _edit_config(p, set_dilation)
    with pytest.raises(ConversionError, match="dilation"):
        from_keras_h5(p)

    def swap_tasks(config):  # Oct4's and Sox2's profile outputs swapped: the task order must follow the graph
        for layer in config["config"]["layers"]:
            for node in layer.get("inbound_nodes", []):
                for item in node:
                    if layer["name"] in ("Oct4/profile", "Sox2/profile"):
                        item[0] = {"add_10": "add_12", "add_12": "add_10"}.get(item[0], item[0])

    p = _copy_h5(tmp_path, "swap.h5")
    _edit_config(p, swap_tasks)
    with pytest.raises(ConversionError, match="Oct4/profile should come from one Conv2DTranspose and one Conv1D on "
                                              "bias/Oct4/profile"):
        from_keras_h5(p)

    def rename(config):  # a consistent graph whose numbering is not the published file's
        swap = {"conv2d_transpose_1": "conv2d_transpose_2", "conv2d_transpose_2": "conv2d_transpose_1"}
        for layer in config["config"]["layers"]:
            layer["name"] = layer["config"]["name"] = swap.get(layer["name"], layer["name"])
            for node in layer.get("inbound_nodes", []):
                for item in node:
                    item[0] = swap.get(item[0], item[0])

    p = _copy_h5(tmp_path, "renamed.h5")
    _edit_config(p, rename)
    with pytest.raises(ConversionError, match="maps layers differently"):
        from_keras_h5(p)

    p = _copy_h5(tmp_path, "extra.h5")
    with h5py.File(p, "r+") as fh:
        group = fh["model_weights"]
        g = group.create_group("dense_9/dense_9")
        g.create_dataset("kernel:0", data=np.zeros((2, 1), np.float32))
        group["dense_9"].attrs["weight_names"] = [b"dense_9/kernel:0"]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["layer_names"]]
        group.attrs["layer_names"] = np.array(names + ["dense_9"], dtype="S")
    with pytest.raises(ConversionError, match="left over"):
        from_keras_h5(p)


def test_published_weights_convert_if_present():
    path = require_weights("bpnet.model.h5")
    m = from_keras_h5(path)
    out = m.predict_sequences(["ACGT" * 250, "N" * 1000])
    for t in TASKS:
        assert np.isfinite(out[f"{t}/counts"]).all() and np.isfinite(out[f"{t}/profile"]).all()


# -- effects ------------------------------------------------------------------------------
def test_js_distance_and_log_total_counts():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    q = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.3, 0.2]])
    d = js_distance(p, q, axis=-1)
    assert d[0] == pytest.approx(1.0) and d[1] == 0.0
    m = (p[2] + q[2]) / 2
    jsd = 0.5 * np.sum(p[2] * np.log2(p[2] / m)) + 0.5 * np.sum(q[2] * np.log2(q[2] / m))
    assert d[2] == pytest.approx(np.sqrt(jsd))
    np.testing.assert_allclose(js_distance(q, p, axis=-1), d)
    c = np.array([[np.log(11), np.log(21)], [np.log(11), -3.0], [0.0, 0.0]])
    np.testing.assert_allclose(log_total_counts(c), [np.log(31), np.log(11), 0.0])


def test_effects(model, io):
    seqs = seqs_of(io)
    ref = model.predict_sequences(seqs)
    alt = model.predict_sequences(seqs[1:] + seqs[:1])
    eff = effects(ref, alt)
    assert tuple(eff) == EFFECT_NAMES
    same = effects(ref, ref)
    for k in EFFECT_NAMES:
        assert eff[k].shape == (6,) and eff[k].dtype == np.float64 and np.isfinite(eff[k]).all()
        np.testing.assert_array_equal(same[k], 0.0)
    for t in TASKS:
        np.testing.assert_allclose(eff[f"{t}/delta_log_counts"],
                                   log_total_counts(alt[f"{t}/counts"]) - log_total_counts(ref[f"{t}/counts"]))
        assert (eff[f"{t}/profile_jsd"] > 0).all() and (eff[f"{t}/profile_jsd"] <= 1).all()
        # independent: per strand JS distance of the softmax over positions, mean of the strands
        def probs(x):
            x = x.astype(np.float64)
            e = np.exp(x - x.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        p, q = probs(ref[f"{t}/profile"]), probs(alt[f"{t}/profile"])
        m = (p + q) / 2
        jsd = 0.5 * (p * np.log2(p / m)).sum(axis=1) + 0.5 * (q * np.log2(q / m)).sum(axis=1)
        np.testing.assert_allclose(eff[f"{t}/profile_jsd"], np.sqrt(jsd).mean(axis=1), rtol=1e-6, atol=1e-9)
        d = alt[f"{t}/profile_counts"].astype(np.float64) - ref[f"{t}/profile_counts"]
        np.testing.assert_allclose(eff[f"{t}/max_abs_delta_profile_counts"], np.abs(d).max(axis=(1, 2)))
    assert all(v.shape == (0,) for v in effects({k: v[:0] for k, v in ref.items()},
                                                {k: v[:0] for k, v in ref.items()}).values())


# -- the registry entry and scoring ---------------------------------------------------------
def the_spec():
    return registry.get("BPNet-OSKN")


def test_registry_entry():
    spec = the_spec()
    assert spec.weights == OFFICIAL
    assert spec.outputs == OUTPUTS and spec.effect_names == EFFECT_NAMES and spec.vector_outputs == VECTOR_OUTPUTS
    assert spec.vector_effect_names == () and spec.note_columns == () and spec.rule_options == ()
    assert not spec.needs_gtf and spec.region_windows is not None and spec.no_feature_reason == "no_window"
    assert dict(spec.vector_shapes) == {**{f"{t}/counts": (2,) for t in TASKS},
                                        **{f"{t}/profile_counts": (1000, 2) for t in TASKS}}


def test_model_yaml_names_the_official_weights():
    yaml = pytest.importorskip("yaml")
    descr = yaml.safe_load((MODEL_DIR / "model.yaml").read_text())
    assert descr["defined_as"] == "model.BPNetKipoiModel"
    assert (descr["args"]["weights_url"], descr["args"]["weights_md5"]) == (OFFICIAL.url, OFFICIAL.md5)
    targets = descr["schema"]["targets"]
    assert list(targets["ref"]) == list(targets["alt"]) == list(OUTPUTS)
    assert list(targets["effect"]) == list(EFFECT_NAMES)
    dl = yaml.safe_load((MODEL_DIR / "dataloader.yaml").read_text())
    assert list(dl["args"]) == ["fasta_file", "vcf_file", "skip_report"]


def test_scoring_the_example_vcf(model, tmp_path):
    from seqzoo.outputs import TableWriter
    from seqzoo.scoring import PairScorer, VariantWindows
    from seqzoo.windows.base import WindowPair

    spec = the_spec()
    windows = VariantWindows(spec, EXAMPLES / "genome.fa", None)
    pairs = [e for e in windows.events(EXAMPLES / "variants.vcf") if isinstance(e, WindowPair)]
    windows.summary.check()
    scorer = PairScorer(spec, model, batch_size=8, vectors=True)
    rows = scorer.score(pairs)
    assert len(rows) == len(pairs) == 29
    cols = scorer.columns()
    assert cols[8:16] == [f"{p}_{k}" for k in OUTPUTS for p in ("ref", "alt")]
    assert cols[-2:] == ["record", "alt_index"]
    direct_ref = model.predict_sequences([p.ref_seq for p in pairs])
    direct_alt = model.predict_sequences([p.alt_seq for p in pairs])
    eff = effects(direct_ref, direct_alt)
    for k in OUTPUTS:
        np.testing.assert_allclose([r[f"ref_{k}"] for r in rows], direct_ref[k], atol=1e-5)
        np.testing.assert_allclose([r[f"alt_{k}"] for r in rows], direct_alt[k], atol=1e-5)
    for k in EFFECT_NAMES:
        np.testing.assert_allclose([r[k] for r in rows], eff[k], atol=1e-4)
    assert all(r["ref_Oct4/profile_counts"].shape == (1000, 2) for r in rows)
    # SNVs move the counts a little, the long insertion and deletions more
    assert max(abs(r["Oct4/delta_log_counts"]) for r in rows) > 0
    vector_cols = {f"{p}_{k}" for p in ("ref", "alt") for k in VECTOR_OUTPUTS}
    tsv = TableWriter(tmp_path / "s.tsv", [c for c in cols if c not in vector_cols])
    tsv.write(rows)
    tsv.close()
    header = (tmp_path / "s.tsv").read_text().splitlines()[0].split("\t")
    assert "Oct4/delta_log_counts" in header and "ref_Oct4/log_total_counts" in header
    pq = pytest.importorskip("pyarrow.parquet")
    w = TableWriter(tmp_path / "s.parquet", cols)
    w.write(rows)
    w.close()
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.num_rows == 29
    assert np.asarray(table.column("alt_Klf4/profile_counts")[0].as_py()).shape == (1000, 2)


# -- Kipoi ----------------------------------------------------------------------------------
def _kipoi_ready():
    pytest.importorskip("kipoi", reason="the kipoi extra is not installed (pip install -e '.[kipoi,test]')")
    from seqzoo_dataloaders.variant_windows import VariantWindowsDataLoader

    class Probe(VariantWindowsDataLoader):
        model_name = "BPNet-OSKN"

    Probe(EXAMPLES / "genome.fa", None, EXAMPLES / "variants.vcf")  # no GTF needed


def _model_dir_with_fixture_weights(tmp_path) -> Path:
    """A copy of models/BPNet-OSKN whose model.yaml passes the fixture h5 as the `weights` model arg."""
    yaml = pytest.importorskip("yaml")
    dst = tmp_path / "BPNet-OSKN"
    shutil.copytree(MODEL_DIR, dst, ignore=shutil.ignore_patterns("*.fai", "__pycache__"))
    descr = yaml.safe_load((dst / "model.yaml").read_text())
    descr["args"]["weights"] = str(H5)
    (dst / "model.yaml").write_text(yaml.safe_dump(descr, sort_keys=False, allow_unicode=True))
    return dst


def _run_kipoi(args, cwd) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "kipoi"
    if not script.is_file():
        pytest.skip(f"SKIPPED LOUDLY: no `kipoi` script next to {sys.executable}; Kipoi CLI NOT tested")
    env = dict(os.environ, SEQZOO_OFFLINE="1")
    proc = subprocess.run([str(script)] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"kipoi {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}"
                             f"\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


def test_kipoi_dataloader_in_process(monkeypatch):
    _kipoi_ready()
    import kipoi
    from seqzoo.scoring import VariantWindows
    from seqzoo.windows.base import WindowPair

    monkeypatch.chdir(ROOT)
    Dl = kipoi.get_dataloader_factory("models/BPNet-OSKN", "dir")
    assert Dl.model_name == "BPNet-OSKN"
    dl = Dl(fasta_file=str(EXAMPLES / "genome.fa"), vcf_file=str(EXAMPLES / "variants.vcf"))
    batches = list(dl.batch_iter(batch_size=8))
    assert Dl.get_output_schema().compatible_with_batch(batches[0])
    pairs = [e for e in VariantWindows(the_spec(), EXAMPLES / "genome.fa", None).events(EXAMPLES / "variants.vcf")
             if isinstance(e, WindowPair)]
    assert [s for b in batches for s in b["inputs"]["alt"]] == [p.alt_seq for p in pairs]
    assert dl.summary.rows == 29 and dl.summary.skipped_alleles == 6


def test_kipoi_predict_with_fixture_weights(tmp_path, model):
    _kipoi_ready()
    import pandas as pd
    from seqzoo.scoring import PairScorer, VariantWindows
    from seqzoo.windows.base import WindowPair

    mdir = _model_dir_with_fixture_weights(tmp_path)
    out, report = tmp_path / "preds.tsv", tmp_path / "skipped.tsv"
    args = json.dumps({"fasta_file": str(EXAMPLES / "genome.fa"), "vcf_file": str(EXAMPLES / "variants.vcf"),
                       "skip_report": str(report)})
    proc = _run_kipoi(["predict", str(mdir), "--source", "dir", "--dataloader_args", args, "--batch_size", "8",
                       "-m", "-o", str(out)], cwd=tmp_path)
    assert "rows=29" in proc.stdout + proc.stderr
    table = pd.read_csv(out, sep="\t", dtype={"metadata/variant_id": str, "metadata/gene_id": str},
                        keep_default_na=False)
    spec = the_spec()
    pairs = [e for e in VariantWindows(spec, EXAMPLES / "genome.fa", None).events(EXAMPLES / "variants.vcf")
             if isinstance(e, WindowPair)]
    expected = PairScorer(spec, model).score(pairs)
    assert len(table) == 29
    assert table["metadata/feature_id"].tolist() == [r["feature_id"] for r in expected]
    for k in OUTPUTS:
        np.testing.assert_allclose(table[f"preds/ref/{k}"], [r[f"ref_{k}"] for r in expected], atol=1e-5)
        np.testing.assert_allclose(table[f"preds/alt/{k}"], [r[f"alt_{k}"] for r in expected], atol=1e-5)
    for k in EFFECT_NAMES:
        np.testing.assert_allclose(table[f"preds/effect/{k}"], [r[k] for r in expected], atol=1e-4)
    skipped = pd.read_csv(report, sep="\t", keep_default_na=False)
    assert sorted(skipped["reason"]) == sorted(["window_past_contig_end"] * 3 + ["ref_mismatch", "symbolic_alt",
                                                                                  "contig_not_in_fasta"])


def test_kipoi_test_with_fixture_weights(tmp_path):
    _kipoi_ready()
    mdir = _model_dir_with_fixture_weights(tmp_path)
    proc = _run_kipoi(["test", str(mdir), "--source", "dir"], cwd=tmp_path)
    text = proc.stdout + proc.stderr
    assert "Successfully ran test_predict" in text
    assert "rows=29" in text and "skipped=6" in text


def test_kipoi_test_with_published_weights():
    _kipoi_ready()
    require_weights("bpnet.model.h5")
    proc = _run_kipoi(["test", "models/BPNet-OSKN", "--source", "dir"], cwd=ROOT)
    assert "Successfully ran test_predict" in proc.stdout + proc.stderr


# -- command line ---------------------------------------------------------------------------
def test_cli_score_and_predict_with_fixture_weights(tmp_path, capsys):
    import pandas as pd
    from seqzoo import cli

    out = tmp_path / "scores.tsv"
    assert cli.main(["score", "--model", "BPNet-OSKN", "--fasta", str(EXAMPLES / "genome.fa"), "--vcf",
                     str(EXAMPLES / "variants.vcf"), "--weights", str(H5), "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert len(table) == 29 and all(k in table.columns for k in EFFECT_NAMES)
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["rows"] == 29 and summary["skipped_by_reason"]["window_past_contig_end"] == 3
    pred = tmp_path / "regions.tsv"
    assert cli.main(["predict", "--model", "BPNet-OSKN", "--fasta", str(EXAMPLES / "genome.fa"), "--bed",
                     str(EXAMPLES / "regions.bed"), "--weights", str(H5), "-o", str(pred), "-q"]) == 0
    regions = pd.read_csv(pred, sep="\t", keep_default_na=False)
    assert regions["name"].tolist() == ["peak_1000nt", "peak_600nt", "peak_1401nt", "chr2:1200-1201"]
    skipped = pd.read_csv(str(pred) + ".skipped.tsv", sep="\t", keep_default_na=False)
    assert skipped["reason"].tolist() == ["window_past_contig_end", "contig_not_in_fasta"]
    from seqzoo.genome.fasta import Genome
    from seqzoo.windows.centered import BedWindow, iter_bed_windows
    wins = [w for w in iter_bed_windows(Genome(EXAMPLES / "genome.fa"), EXAMPLES / "regions.bed")
            if isinstance(w, BedWindow)]
    direct = from_keras_h5(H5).predict_sequences([w.seq for w in wins])
    for k in OUTPUTS:
        np.testing.assert_allclose(regions[k], direct[k], atol=1e-5)
    require_weights("Framepool_combined_residual.h5")  # (loaded before the region-mode check)
    assert cli.main(["predict", "--model", "Framepool", "--fasta", str(EXAMPLES / "genome.fa"), "--bed",
                     str(EXAMPLES / "regions.bed"), "-o", str(tmp_path / "x.tsv")]) == 2
    assert "has no region mode" in capsys.readouterr().err
