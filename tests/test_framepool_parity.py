"""Framepool torch port vs the original Keras model's outputs (../shared/reference)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import REFERENCE, require_weights

TOL = 1e-5


@pytest.fixture(scope="module")
def ref():
    path = REFERENCE / "framepool_reference.npz"
    if not path.is_file():
        pytest.skip(f"SKIPPED LOUDLY: reference outputs {path} missing; parity NOT checked")
    return np.load(path)


def test_load_model_default_resolution_is_eval_mode():
    import seqzoo
    require_weights("Framepool_combined_residual.h5")
    model = seqzoo.load_model("Framepool")  # resolved through $SEQZOO_WEIGHTS_DIR (conftest)
    assert not model.training
    assert "Framepool" in seqzoo.list_models()


def test_each_sequence_alone(framepool_model, ref):
    seqs = list(ref["seqs"])
    mrl = np.array([framepool_model.predict_sequences([s])["mrl"][0] for s in seqs])
    unscaled = np.array([framepool_model.predict_sequences([s])["mrl_unscaled"][0] for s in seqs])
    assert np.abs(mrl - ref["mrl"]).max() <= TOL
    assert np.abs(unscaled - ref["mrl_unscaled"]).max() <= TOL


def test_batched_left_padded(framepool_model, ref):
    out = framepool_model.predict_sequences(list(ref["seqs"]), batch_size=64)
    assert out["mrl"].shape == (24,) and out["mrl"].dtype == np.float32
    assert np.abs(out["mrl"] - ref["mrl_batched_leftpad"]).max() <= TOL
    assert np.abs(out["mrl_unscaled"] - ref["mrl_unscaled_batched_leftpad"]).max() <= TOL
    # batches of mixed lengths (batch_size 5 groups different lengths) equal one at a time
    small = framepool_model.predict_sequences(list(ref["seqs"]), batch_size=5)
    assert np.abs(small["mrl"] - ref["mrl"]).max() <= TOL


def test_both_string_paths_match_the_keras_reference(framepool_model, ref):
    """predict_sequences takes convolution 1 from the 7-mer table, its literal() twin (the full
    passes of incremental=False) computes it as GEMMs: both reproduce the Keras outputs, alone and
    batched, and differ from each other only by float32 rounding."""
    seqs = list(ref["seqs"])
    twin = framepool_model.literal()
    assert framepool_model.conv1_by_lookup and not twin.conv1_by_lookup
    outs = {}
    for name, model in (("lookup", framepool_model), ("literal", twin)):
        alone = np.array([model.predict_sequences([s])["mrl"][0] for s in seqs])
        batched = model.predict_sequences(seqs, batch_size=64)
        assert np.abs(alone - ref["mrl"]).max() <= TOL, name
        assert np.abs(batched["mrl"] - ref["mrl_batched_leftpad"]).max() <= TOL, name
        assert np.abs(batched["mrl_unscaled"] - ref["mrl_unscaled_batched_leftpad"]).max() <= TOL, name
        outs[name] = batched["mrl"]
    assert np.abs(outs["lookup"] - outs["literal"]).max() <= 2e-6


def test_other_library_indicator(framepool_model, ref):
    out = framepool_model.predict_sequences(list(ref["seqs"]), indicator=[1, 0])
    assert np.abs(out["mrl"] - ref["mrl_indicator_10"]).max() <= TOL


def test_keras_style_forward_on_tensor(framepool_model, ref):
    from seqzoo.encoding import one_hot
    s = str(ref["seqs"][0])
    x = torch.from_numpy(one_hot(s))[None]
    with torch.inference_mode():
        y = framepool_model(x, torch.tensor([[0.0, 1.0]]))
    assert y.shape == (1, 1)
    assert abs(float(y[0, 0]) - float(ref["mrl"][0])) <= TOL


@pytest.mark.parametrize("batched", [False, True])
def test_kipoi_shift_effects(framepool_model, ref, batched):
    from seqzoo.registry import framepool_effects
    refs, alts = list(ref["pair_ref_seqs"]), list(ref["pair_alt_seqs"])
    if batched:
        r = framepool_model.predict_sequences(refs, batch_size=64)
        a = framepool_model.predict_sequences(alts, batch_size=64)
    else:
        singles = [(framepool_model.predict_sequences([x]), framepool_model.predict_sequences([y]))
                   for x, y in zip(refs, alts)]
        r = {k: np.array([s[0][k][0] for s in singles]) for k in singles[0][0]}
        a = {k: np.array([s[1][k][0] for s in singles]) for k in singles[0][1]}
    for shift, key in [(0, "mrl"), (1, "mrl_shift_1"), (2, "mrl_shift_2")]:
        assert np.abs(r[key] - ref[f"pair_mrl_ref_shift{shift}"]).max() <= TOL
        assert np.abs(a[key] - ref[f"pair_mrl_alt_shift{shift}"]).max() <= TOL
    eff = framepool_effects(r, a)
    suffix = "_batched" if batched else ""
    for name in ("mrl_fold_change", "shift_1", "shift_2"):
        assert np.abs(eff[name] - ref[f"pair_{name}{suffix}"]).max() <= TOL, name


def test_shifts_equal_appended_zero_rows(framepool_model, ref):
    """The shared-trunk shift equals literally appending N rows at the 3' end (Kipoi's way)."""
    from seqzoo.encoding import one_hot
    s = str(ref["pair_ref_seqs"][1])
    x = torch.from_numpy(one_hot(s))[None]
    ind = torch.tensor([[0.0, 1.0]])
    with torch.inference_mode():
        shared, _ = framepool_model.forward_shifts(x, ind)
        for k in (1, 2):
            padded = torch.cat([x, torch.zeros(1, k, 4)], dim=1)
            assert abs(float(framepool_model(padded, ind)[0, 0]) - float(shared[0, k])) <= 1e-6


def test_sequence_without_bases_is_refused(framepool_model):
    with pytest.raises(ValueError, match="no A/C/G/T base"):
        framepool_model.predict_sequences(["ACGT", "NNNN"])


def test_cuda_matches_reference(ref):
    """The CUDA path (--device cuda); CI has no GPU, so this skips there, saying so."""
    if not torch.cuda.is_available():
        pytest.skip("SKIPPED LOUDLY: no CUDA device on this machine; the CUDA path is NOT checked here")
    import seqzoo
    model = seqzoo.load_model("Framepool", weights=require_weights("Framepool_combined_residual.h5"), device="cuda")
    out = model.predict_sequences(list(ref["seqs"]))
    assert np.abs(out["mrl"] - ref["mrl"]).max() <= TOL


def test_packed_string_path_equals_tensor_path(framepool_model):
    """predict_sequences (packed channels-last path) equals the literal tensor graph
    (forward_shifts on left-padded one-hot) on mixed lengths 1..400 with N, in batches of mixed
    lengths, including the < 3 nt sequences whose frames pool over zero padding."""
    from seqzoo.encoding import one_hot_batch
    rng = np.random.default_rng(11)
    seqs = []
    for i in range(160):
        length = int(rng.integers(1, 8)) if i % 5 == 0 else int(rng.integers(1, 400))
        s = "".join(rng.choice(list("ACGTN" if i % 3 == 0 else "ACGT"), length))
        seqs.append(s if any(c in "ACGT" for c in s) else "C" + s[1:])
    out = framepool_model.predict_sequences(seqs, batch_size=23)
    x = torch.from_numpy(one_hot_batch(seqs))
    with torch.inference_mode():
        mrl, unscaled = framepool_model.forward_shifts(x, torch.tensor([[0.0, 1.0]]))
    assert np.abs(out["mrl"] - mrl[:, 0].numpy()).max() <= TOL
    assert np.abs(out["mrl_unscaled"] - unscaled[:, 0].numpy()).max() <= TOL
    assert np.abs(out["mrl_shift_1"] - mrl[:, 1].numpy()).max() <= TOL
    assert np.abs(out["mrl_shift_2"] - mrl[:, 2].numpy()).max() <= TOL
    # a weight changed in place is picked up by the cached channels-last weights
    saved = framepool_model.conv1.weight.detach().clone()
    with torch.no_grad():
        framepool_model.conv1.weight.mul_(1.5)
    try:
        changed = framepool_model.predict_sequences(seqs[:20])
        x = torch.from_numpy(one_hot_batch(seqs[:20]))
        with torch.inference_mode():
            mrl, _ = framepool_model.forward_shifts(x, torch.tensor([[0.0, 1.0]]))
        assert np.abs(changed["mrl"] - mrl[:, 0].numpy()).max() <= TOL
        assert np.abs(changed["mrl"] - out["mrl"][:20]).max() > 1e-3
    finally:
        with torch.no_grad():
            framepool_model.conv1.weight.copy_(saved)
