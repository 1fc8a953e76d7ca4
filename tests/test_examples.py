"""The bundled example: the committed files are scripts/make_example.py's output, `--model all` gives
rows for every model whose weights are present (one short line for each left out), the others give
rows with stand-in weights, and the default workflow config runs on it as it is."""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, load_script, require_weights, weights_dir
from seqzoo import registry
from seqzoo.cli import main

EXAMPLES = ROOT / "examples"
SNAKEMAKE = ROOT / ".venv-snakemake" / "bin" / "snakemake"


def test_example_files_are_the_generators_output(tmp_path):
    load_script("make_example.py").make_example(tmp_path)
    for name in ("genome.fa", "annotation.gtf", "variants.vcf", "halflife.tsv", "regions.bed"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
    assert sum((EXAMPLES / n).stat().st_size for n in os.listdir(EXAMPLES) if not n.endswith(".fai")) < 100_000


def example_argv(out, model="all", *extra):
    return ["score", "--model", model, "--fasta", str(EXAMPLES / "genome.fa"), "--gtf", str(EXAMPLES / "annotation.gtf"),
            "--vcf", str(EXAMPLES / "variants.vcf"), "-o", str(out), "-q", *extra]


def test_model_all_gives_rows_for_every_model_whose_weights_are_present(tmp_path, caplog):
    present = [n for n, s in registry.MODELS.items() if (weights_dir() / s.weights.filename).is_file()]
    if not present:
        require_weights("Framepool_combined_residual.h5")
    out = tmp_path / "all.tsv"
    assert main(example_argv(out, "all", "--halflife-file", str(EXAMPLES / "halflife.tsv"))) == 0
    summary = json.loads(out.with_name("all.tsv.summary.json").read_text())
    assert sorted(summary["rows_by_model"]) == sorted(present)
    assert all(summary["rows_by_model"][m] > 0 for m in present) and summary["identity_holds"]
    left_out = [r.getMessage() for r in caplog.records if "leaving out" in r.getMessage()]
    assert sorted(m.split(" ")[4].rstrip(":") for m in left_out) == sorted(set(registry.MODELS) - set(present))
    for message in left_out:  # one short line, saying where it looked and where to get the file
        spec = registry.get(message.split(" ")[4].rstrip(":"))
        assert "\n" not in message and len(message) < 250 and spec.weights.url in message
        assert f"{spec.weights.filename} is not in $SEQZOO_WEIGHTS_DIR ({weights_dir()}) or the cache" in message
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t", keep_default_na=False)
    assert {"ref_mismatch", "symbolic_alt", "spanning_deletion_alt", "contig_not_in_fasta"} <= set(skipped.reason)


def test_hal_and_bpnet_give_rows_on_the_example_with_stand_in_weights(tmp_path):
    hal = tmp_path / "hal.npz"
    np.savez(hal, weights=np.random.default_rng(0).normal(size=(4096, 8)))
    bpnet = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"
    out = tmp_path / "hb.tsv"
    assert main(example_argv(out, "HAL,BPNet-OSKN", "--weights", f"HAL={hal}", "--weights",
                             f"BPNet-OSKN={bpnet}")) == 0
    summary = json.loads(out.with_name("hb.tsv.summary.json").read_text())
    assert summary["rows_by_model"]["HAL"] > 0 and summary["rows_by_model"]["BPNet-OSKN"] > 0
    pred = tmp_path / "regions.tsv"
    assert main(["predict", "--model", "BPNet-OSKN", "--fasta", str(EXAMPLES / "genome.fa"), "--bed",
                 str(EXAMPLES / "regions.bed"), "--weights", str(bpnet), "-o", str(pred), "-q"]) == 0
    assert pd.read_csv(pred, sep="\t")["name"].tolist() == ["promoter_0", "gene_1"]
    assert pd.read_csv(f"{pred}.skipped.tsv", sep="\t")["reason"].tolist() == ["window_past_contig_end"]


def test_default_workflow_config_runs_as_it_is(tmp_path):
    """workflow/config.yaml on the bundled example, only the output folder moved out of the checkout."""
    if not SNAKEMAKE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SNAKEMAKE} is missing in CI (the README's second command creates it)")
        pytest.skip(f"SKIPPED LOUDLY: {SNAKEMAKE} not found; the default workflow config was NOT run")
    for name in ("Framepool", "APARENT2"):
        require_weights(registry.get(name).weights.filename)
    seqzoo = ROOT / ".venv" / "bin" / "seqzoo"
    if not seqzoo.is_file():  # the config names the README's .venv; tests may run from another environment
        pytest.skip(f"SKIPPED LOUDLY: {seqzoo} (the default config's `seqzoo`) does not exist here")
    out = tmp_path / "wf"
    proc = subprocess.run([str(SNAKEMAKE), "-s", "workflow/Snakefile", "-j2", "--config", f"outdir={out}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-4000:]
    merged = pd.read_parquet(out / "merged.parquet")
    assert set(merged.model) == {"Framepool", "APARENT2"}
    assert (out / "merged.vcf.gz").is_file() and json.loads((out / "merged.summary.json").read_text())["identity_holds"]
