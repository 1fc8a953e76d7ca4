"""CUDA (``--device cuda``): every model's variant scores and in-silico mutagenesis on a GPU equal
the CPU's to 1e-5 (absolute, and relative for values above 1).

On a GPU every alt window is a full forward pass (the incremental engines are CPU code), so these
tests also check the GPU's full passes against the CPU's incremental path. CI has no GPU: every
test here skips there, saying so. On a GPU machine, ``scripts/device_check.sh`` runs them with
``benchmarks/gpu.py``. ``SEQZOO_TEST_GPU=cpu`` runs them with the CPU in the GPU's place: a check
of their plumbing only (both runs take the same CPU path; no CUDA code runs).

HAL's and BPNet-OSKN's published weights are not reachable here: HAL uses a random table of the
published layout, BPNet-OSKN the random-weights fixture of its architecture
(``tests/fixtures/bpnet``); the GPU's arithmetic does not depend on the values.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch

import seqzoo
from conftest import ROOT, require_weights
from seqzoo.cli import main

EX = ROOT / "examples"
GPU = os.environ.get("SEQZOO_TEST_GPU", "cuda")
BPNET = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"

pytestmark = pytest.mark.skipif(
    GPU == "cuda" and not torch.cuda.is_available(),
    reason="SKIPPED LOUDLY: no CUDA device here; --device cuda is checked only on a GPU machine "
           "(scripts/device_check.sh runs these tests and benchmarks/gpu.py there)")

#: the published weights files the tests need (the other two models use stand-ins, see above)
PUBLISHED = {"Framepool": "Framepool_combined_residual.h5",
             "APARENT2": "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5",
             "Xpresso/human_median": "humanMedian_trainepoch.11-0.426.h5"}

#: one ISM window per model in the bundled example (feature or region), and its options
ISM_WINDOWS = {"Framepool": dict(feature="TX1", indels=True),  # '-' strand, with deletions and insertions
               "APARENT2": dict(feature="TX0"),
               "Xpresso/human_median": dict(feature="GENE0", halflife_file=EX / "halflife.tsv"),
               "HAL": dict(feature="TX1:donor1", indels=True),
               "BPNet-OSKN": dict(region="chr1:20000-20100")}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict:
    """{model: weights file}: the published files, HAL's random table, BPNet-OSKN's fixture."""
    table = tmp_path_factory.mktemp("hal") / "hal.npz"
    np.savez(table, weights=np.random.default_rng(11).normal(size=(4096, 8)))
    return {**{m: require_weights(f) for m, f in PUBLISHED.items()}, "HAL": table, "BPNet-OSKN": BPNET}


def loaded(weights: dict, device: str) -> list:
    """[(name, model on ``device``)] for every model, loaded as ``seqzoo.load_model(device=...)`` does."""
    return [(name, seqzoo.load_model(name, weights=path, device=device)) for name, path in weights.items()]


#: float32 sums in another order (cuDNN's convolutions against oneDNN's, batched full passes against
#: the incremental engines) differ by a few units of the last place: 1e-5 absolute, and 1e-5 relative
#: for values far above 1 (BPNet-OSKN's read counts reach ~5, where 1e-5 absolute is 2e-6 relative)
ATOL = RTOL = 1e-5
#: argmax columns (APARENT2's cleavage bin): a near-tie between two bins may resolve either way; at
#: most this share of rows may differ
ARGMAX_FLIPS = 0.01


def assert_same_table(gpu: pd.DataFrame, cpu: pd.DataFrame, what: str) -> None:
    """The same rows and columns; numbers and per-position arrays to ATOL + RTOL * |cpu| (NaN and
    absent cells where the CPU has them), argmax columns equal but for ARGMAX_FLIPS, text equal."""
    assert list(gpu.columns) == list(cpu.columns), what
    assert len(gpu) == len(cpu) > 0, what
    for c in cpu.columns:
        a, b = gpu[c].to_numpy(), cpu[c].to_numpy()
        if "argmax" in c or c.endswith("_position"):
            differ = ~((a == b) | (pd.isna(a) & pd.isna(b)))
            assert differ.mean() <= ARGMAX_FLIPS, f"{what}: column {c}: {differ.sum()} of {len(b)} rows differ"
        elif b.dtype.kind in "fiu":
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=RTOL, atol=ATOL,
                                       err_msg=f"{what}: column {c}")
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                if isinstance(y, np.ndarray):
                    np.testing.assert_allclose(x, y, rtol=RTOL, atol=ATOL, err_msg=f"{what}: column {c}, row {i}")
                else:
                    assert x == y or (pd.isna(x) and pd.isna(y)), f"{what}: column {c}, row {i}: {x!r} != {y!r}"


def test_every_model_scores_the_example_vcf_on_the_gpu_as_on_the_cpu(weights):
    """``score_vcf`` of the bundled example with all five models at once: the same rows, skips and
    summary; the scores to 1e-5 (GPU: full passes; CPU: the incremental engines); every model's
    parameters on its device."""
    runs = []
    for device in ("cpu", GPU):
        models = loaded(weights, device)
        assert {next(m.parameters()).device.type for _, m in models} == {torch.device(device).type}
        runs.append(seqzoo.score_vcf(models, EX / "genome.fa", EX / "variants.vcf", EX / "annotation.gtf",
                                     halflife_file=EX / "halflife.tsv"))
    cpu, gpu = runs
    assert gpu.summary == cpu.summary and cpu.summary["scored_alleles"] > 0
    assert set(cpu.rows.model) == set(weights)  # every model scored some of the example's alleles
    assert_same_table(gpu.rows, cpu.rows, "score_vcf rows")
    pd.testing.assert_frame_equal(gpu.skipped, cpu.skipped)


@pytest.mark.parametrize("name", list(ISM_WINDOWS))
def test_ism_on_the_gpu_equals_the_cpu(weights, name):
    """``seqzoo.ism`` of one window per model: every substitution (Framepool and HAL: also the 1-nt
    indels) on the GPU (batched full passes) equals the CPU (incremental where the model has it)."""
    options = dict(ISM_WINDOWS[name], gtf=None if name == "BPNet-OSKN" else EX / "annotation.gtf")
    tables = []
    for device in ("cpu", GPU):
        model = seqzoo.load_model(name, weights=weights[name], device=device)
        table, window = seqzoo.ism([(name, model)], EX / "genome.fa", **options)
        tables.append(table)
    cpu, gpu = tables
    assert_same_table(gpu, cpu, f"ISM {name}")
    n_snv = int((cpu.kind == "snv").sum())
    assert n_snv == 3 * len(window.window.seq)


def test_the_ism_command_runs_on_the_gpu(tmp_path, weights):
    """``seqzoo ism --device cuda`` writes the same table as on the CPU."""
    argv = ["ism", "--model", "APARENT2", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
            "--feature", "TX0", "-q", "--weights", str(weights["APARENT2"])]
    assert main(argv + ["-o", str(tmp_path / "cpu.tsv")]) == 0
    assert main(argv + ["-o", str(tmp_path / "gpu.tsv"), "--device", GPU]) == 0
    assert_same_table(pd.read_csv(tmp_path / "gpu.tsv", sep="\t"), pd.read_csv(tmp_path / "cpu.tsv", sep="\t"),
                      "seqzoo ism --device")
