"""Shared fixtures: the published weights folder (../shared/weights or $SEQZOO_WEIGHTS_DIR) and the
original models' reference outputs (../shared/reference or $SEQZOO_REFERENCE_DIR)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = Path(os.environ.get("SEQZOO_REFERENCE_DIR") or SHARED / "reference")


def load_script(filename: str):
    """The module of ``scripts/<filename>`` (example generators and the like), loaded by path."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(Path(filename).stem, ROOT / "scripts" / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def weights_dir() -> Path:
    return Path(os.environ.get("SEQZOO_WEIGHTS_DIR") or SHARED / "weights")


def require_weights(filename: str) -> Path:
    """Path of a published weights file, or a loud skip naming what is missing and where."""
    path = weights_dir() / filename
    if not path.is_file():
        pytest.skip(f"SKIPPED LOUDLY: published weights file {filename} is not in {weights_dir()} "
                    f"(set SEQZOO_WEIGHTS_DIR to a folder holding it); parity NOT checked")
    return path


@pytest.fixture(autouse=True)
def _offline_weights(monkeypatch, tmp_path_factory):
    """Tests never download: weights come from the shared folder; the cache is a temp folder."""
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(weights_dir()))
    monkeypatch.setenv("SEQZOO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("SEQZOO_OFFLINE", "1")


@pytest.fixture(scope="session")
def framepool_model():
    import seqzoo
    path = require_weights("Framepool_combined_residual.h5")
    return seqzoo.load_model("Framepool", weights=path)


def outside_alleles(out, vcf=None) -> list[tuple[int, int, str]]:
    """(record, alt_index, reason) of every allele in the runs of ``OUT.outside.tsv`` (runs cover
    consecutive alleles in VCF order; ``vcf`` gives the number of ALTs per record when a run spans
    several records, else every record of such a run must have one ALT)."""
    import pandas as pd

    runs = pd.read_csv(f"{out}.outside.tsv", sep="\t", keep_default_na=False)
    n_alts = {}
    if vcf is not None:
        n = 0
        for line in open(vcf):
            if line.startswith("#") or not line.strip():
                continue
            n += 1
            n_alts[n] = len(line.split("\t")[4].split(","))
    alleles = []
    for r in runs.itertuples():
        keys = [(rec, k) for rec in range(r.first_record, r.last_record + 1) for k in range(n_alts.get(rec, 1))]
        keys = [key for key in keys if (r.first_record, r.first_alt_index) <= key <= (r.last_record, r.last_alt_index)]
        assert len(keys) == r.alleles, f"run {r} does not match the VCF's alleles"
        alleles += [(rec, k, r.reason) for rec, k in keys]
    return alleles


def record_ids(vcf) -> dict:
    """1-based record number -> the VCF ID column."""
    ids, n = {}, 0
    for line in open(vcf):
        if line.startswith("#") or not line.strip():
            continue
        n += 1
        ids[n] = line.split("\t")[2]
    return ids
