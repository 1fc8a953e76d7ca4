"""Kipoi integration of models/APARENT2: `kipoi predict` / `kipoi test` with --source dir, offline.

The command-line tests run the `kipoi` script next to this interpreter from the repository root
(tests/test_kipoi.py's runner: $SEQZOO_WEIGHTS_DIR, downloads off) and compare kipoi's table with
seqzoo's own VariantWindows + PairScorer on a synthetic genome (scripts/make_aparent2_example.py):
scalar outputs and effects, and the per-position arrays (206,) that kipoi's TSV writer flattens
into one column per position.
"""
from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pytest

kipoi = pytest.importorskip("kipoi", reason="the kipoi extra is not installed (pip install -e '.[kipoi,test]')")

from conftest import load_script, require_weights  # noqa: E402
from test_kipoi import read_tsv, run_kipoi, seqzoo_events  # noqa: E402  (the same helpers as Framepool's tests)

from seqzoo import registry  # noqa: E402
from seqzoo.scoring import SKIP_COLUMNS, PairScorer, metadata_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "APARENT2"
SPEC = registry.get("APARENT2")
METADATA = ("variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand", "record", "alt_index")
EXAMPLE_NAMES = ("genome.fa", "annotation.gtf", "variants.vcf")
N_POSITIONS = 206
#: model.yaml's targets: name -> shape, per group (what SeqzooKipoiModel returns for APARENT2)
TARGETS = {
    "ref": {"iso_prob": (), "cut_prob": (N_POSITIONS,)},
    "alt": {"iso_prob": (), "cut_prob": (N_POSITIONS,)},
    "effect": {"delta_logodds_narrow": (), "delta_logodds": (), "max_abs_delta_cut_prob": (),
               "argmax_abs_delta_cut_prob": (), "max_abs_delta_cleavage": (), "max_abs_delta_cleavage_position": (),
               "delta_no_cleavage": (), "delta_cut_prob": (N_POSITIONS,)},
}


SCRIPT = load_script("make_aparent2_example.py")


def example_paths():
    return {k: MODEL_DIR / "example_files" / n for k, n in zip(("fasta", "gtf", "vcf"), EXAMPLE_NAMES)}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return SCRIPT.make_pas_dataset(tmp_path_factory.mktemp("aparent2_genome"), seed=7)


@pytest.fixture(scope="module")
def aparent2():
    import seqzoo
    return seqzoo.load_model("APARENT2", weights=require_weights(SPEC.weights.filename))


# -- the model directory -------------------------------------------------------------------------
def test_model_yaml_names_the_registry_weights_and_the_paper():
    yaml = pytest.importorskip("yaml")
    descr = yaml.safe_load((MODEL_DIR / "model.yaml").read_text())
    assert descr["defined_as"] == "model.APARENT2KipoiModel"
    assert descr["args"] == {"weights_url": SPEC.weights.url, "weights_md5": SPEC.weights.md5}
    assert SPEC.weights.url.rsplit("/", 1)[1] == SPEC.weights.filename  # $SEQZOO_WEIGHTS_DIR/<file>
    assert descr["default_dataloader"] == "."
    assert descr["info"]["cite_as"] == "https://doi.org/10.1186/s13059-022-02799-4"
    assert "Genome Biology 23: 232 (2022)" in " ".join(descr["info"]["trained_on"].split())


def test_schema_targets_are_the_registry_outputs(monkeypatch):
    monkeypatch.chdir(ROOT)
    descr = kipoi.get_model_descr("models/APARENT2", source="dir")
    got = {group: {name: s.shape for name, s in leaves.items()} for group, leaves in descr.schema.targets.items()}
    assert got == TARGETS
    # ... which are the registry's scalar and per-position outputs and effects
    assert set(TARGETS["ref"]) == set(SPEC.outputs + SPEC.vector_outputs)
    assert set(TARGETS["effect"]) == set(SPEC.effect_names + SPEC.vector_effect_names)
    assert {k for k, shape in TARGETS["effect"].items() if shape} == set(SPEC.vector_effect_names)
    assert {k: s.shape for k, s in descr.schema.inputs.items()} == {"ref": (), "alt": ()}


def test_example_files_are_the_script_output_and_small(tmp_path):
    SCRIPT.make_pas_dataset(tmp_path, seed=0)
    for name in EXAMPLE_NAMES:
        assert filecmp.cmp(MODEL_DIR / "example_files" / name, tmp_path / name, shallow=False), \
            f"models/APARENT2/example_files/{name} differs from `python scripts/make_aparent2_example.py`"
    files = example_paths()
    assert sum(f.stat().st_size for f in files.values()) < 50_000
    _, summary, pairs, skips = seqzoo_events(files, "APARENT2")
    summary.check()
    assert (summary.alleles, summary.rows) == (SCRIPT.EXPECTED_ALLELES, SCRIPT.EXPECTED_ROWS)
    assert {s.allele.variant_id: s.reason for s in skips if not s.feature_id} == SCRIPT.PLANTED_SKIPS
    assert {p.strand for p in pairs} == {"+", "-"}
    # the planted PAS sits at index 70 of every reference window; PAS variants change it
    assert {p.ref_seq[70:76] for p in pairs} == {"AATAAA"}
    changed = {p.allele.variant_id for p in pairs if p.alt_seq[70:76] != "AATAAA"}
    assert {"tp_pas_snv", "tp_anchor_deletion", "tm_pas_snv", "tm_anchor_deletion", "to_pas_snv"} <= changed


# -- in process: kipoi's loaders for the model directory ------------------------------------------
def test_dataloader_yields_205_nt_windows_and_metadata(dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    Dl = kipoi.get_dataloader_factory("models/APARENT2", "dir")
    assert Dl.model_name == "APARENT2" and Dl.type == "SampleIterator"
    _, summary, pairs, skips = seqzoo_events(dataset, "APARENT2")
    report = tmp_path / "skipped.tsv"
    dl = Dl(fasta_file=str(dataset["fasta"]), gtf_file=str(dataset["gtf"]), vcf_file=str(dataset["vcf"]),
            skip_report=str(report))
    batches = list(dl.batch_iter(batch_size=16))
    assert Dl.get_output_schema().compatible_with_batch(batches[0])
    inputs = {k: np.concatenate([b["inputs"][k] for b in batches]) for k in ("ref", "alt")}
    meta = {k: np.concatenate([b["metadata"][k] for b in batches]) for k in METADATA}
    assert inputs["ref"].dtype.kind == "U" and meta["pos"].dtype.kind == "i"
    assert list(inputs["ref"]) == [p.ref_seq for p in pairs] and list(inputs["alt"]) == [p.alt_seq for p in pairs]
    assert {len(s) for s in inputs["ref"]} == {len(s) for s in inputs["alt"]} == {205}
    assert [{k: meta[k][i] for k in METADATA} for i in range(len(pairs))] == [metadata_row(p, SPEC) for p in pairs]
    assert dl.summary.to_dict() == summary.to_dict()
    table = read_tsv(report)
    assert list(table.columns) == list(SKIP_COLUMNS)
    assert table.astype(str).to_dict("records") == [{k: str(v) for k, v in s.as_row().items()} for s in skips]


def test_model_outputs_match_the_schema(monkeypatch):
    """kipoi.get_model builds the class offline from $SEQZOO_WEIGHTS_DIR; every target of the
    schema is returned with its shape, and nothing else."""
    require_weights(SPEC.weights.filename)
    monkeypatch.chdir(ROOT)
    model = kipoi.get_model("models/APARENT2", source="dir")
    assert type(model).__name__ == "APARENT2KipoiModel" and model.weights_path.name == SPEC.weights.filename
    files = example_paths()
    dl = model.default_dataloader(fasta_file=str(files["fasta"]), gtf_file=str(files["gtf"]),
                                  vcf_file=str(files["vcf"]))
    batch = next(iter(dl.batch_iter(batch_size=8)))
    preds = model.predict_on_batch(batch["inputs"])
    assert {g: set(v) for g, v in preds.items()} == {g: set(v) for g, v in TARGETS.items()}, \
        "SeqzooKipoiModel.predict_on_batch must return spec.outputs + spec.vector_outputs for ref and alt"
    for group, leaves in model.schema.targets.items():
        for name, schema in leaves.items():
            assert preds[group][name].shape == (8,) + TARGETS[group][name], (group, name)
            assert schema.compatible_with_batch(preds[group][name]), (group, name)
    for group in ("ref", "alt"):
        np.testing.assert_allclose(preds[group]["cut_prob"].sum(1), 1.0, atol=1e-5)
        np.testing.assert_allclose(preds[group]["iso_prob"], preds[group]["cut_prob"][:, 80:110].sum(1), atol=1e-5)


# -- the kipoi command line ----------------------------------------------------------------------
def test_kipoi_predict_matches_seqzoo(dataset, aparent2, tmp_path):
    out, report = tmp_path / "preds.tsv", tmp_path / "preds.skipped.tsv"
    args = {"fasta_file": str(dataset["fasta"]), "gtf_file": str(dataset["gtf"]), "vcf_file": str(dataset["vcf"]),
            "skip_report": str(report)}
    proc = run_kipoi(["predict", "models/APARENT2", "--source", "dir", "--dataloader_args", json.dumps(args),
                      "--batch_size", "16", "-m", "-o", str(out)])

    _, summary, pairs, skips = seqzoo_events(dataset, "APARENT2")
    expected = PairScorer(SPEC, aparent2, vectors=True).score(pairs)
    assert summary.line() in proc.stdout + proc.stderr  # the dataloader's accounting line

    table = read_tsv(out)
    want_columns = {f"metadata/{k}" for k in METADATA}
    for group, leaves in TARGETS.items():
        for name, shape in leaves.items():
            want_columns |= ({f"preds/{group}/{name}/{i}" for i in range(shape[0])} if shape
                             else {f"preds/{group}/{name}"})
    assert set(table.columns) == want_columns, \
        f"columns missing or extra: {sorted(set(table.columns) ^ want_columns)[:8]}"
    assert len(table) == len(pairs) == summary.rows > 16  # more than one batch
    for k in METADATA:
        assert table[f"metadata/{k}"].tolist() == [row[k] for row in expected], k

    def column(group, name):
        return table[f"preds/{group}/{name}"].to_numpy(np.float64)

    def block(group, name):
        return table[[f"preds/{group}/{name}/{i}" for i in range(N_POSITIONS)]].to_numpy(np.float64)

    for group, name, key in [("ref", "iso_prob", "ref_iso_prob"), ("alt", "iso_prob", "alt_iso_prob"),
                             ("effect", "delta_logodds_narrow", "delta_logodds_narrow"),
                             ("effect", "delta_logodds", "delta_logodds"),
                             ("effect", "max_abs_delta_cut_prob", "max_abs_delta_cut_prob")]:
        want = np.array([row[key] for row in expected], dtype=np.float64)
        np.testing.assert_allclose(column(group, name), want, rtol=0, atol=1e-5, err_msg=f"{group}/{name}")
    for group, name, key in [("ref", "cut_prob", "ref_cut_prob"), ("alt", "cut_prob", "alt_cut_prob"),
                             ("effect", "delta_cut_prob", "delta_cut_prob")]:
        want = np.stack([row[key] for row in expected]).astype(np.float64)
        np.testing.assert_allclose(block(group, name), want, rtol=0, atol=1e-5, err_msg=f"{group}/{name}")
    # argmax: equal, or a tie within float32 noise between two positions
    got_pos = table["preds/effect/argmax_abs_delta_cut_prob"].to_numpy()
    assert got_pos.dtype.kind == "i"
    delta = np.abs(block("effect", "delta_cut_prob"))
    for i, row in enumerate(expected):
        if got_pos[i] != row["argmax_abs_delta_cut_prob"]:
            assert abs(delta[i, got_pos[i]] - delta[i, row["argmax_abs_delta_cut_prob"]]) < 1e-6, i
    assert (column("effect", "delta_logodds_narrow") != 0).any()  # real values, not placeholders
    from seqzoo.kipoi_model import read_kipoi_tsv
    arrays = read_kipoi_tsv(out)  # the text-sorted per-position columns back in position order
    np.testing.assert_array_equal(arrays["preds/ref/cut_prob"], block("ref", "cut_prob"))
    assert arrays["preds/effect/delta_cut_prob"].shape == (len(table), N_POSITIONS)
    pas_rows = table["metadata/variant_id"].isin(["tp_pas_snv", "tm_pas_snv", "to_pas_snv"]).to_numpy()
    assert (column("effect", "delta_logodds_narrow")[pas_rows] < 0).all()  # breaking AATAAA lowers usage

    skipped = read_tsv(report)
    assert list(skipped.columns) == list(SKIP_COLUMNS)
    assert skipped.astype(str).to_dict("records") == [{k: str(v) for k, v in s.as_row().items()} for s in skips]
    assert dict(zip(skipped["variant_id"], skipped["reason"])) == SCRIPT.PLANTED_SKIPS


def test_kipoi_test_example_from_repo_root():
    require_weights(SPEC.weights.filename)
    proc = run_kipoi(["test", "models/APARENT2", "--source", "dir"])
    out = proc.stdout + proc.stderr
    assert "Successfully ran test_predict" in out
    assert f"alleles={SCRIPT.EXPECTED_ALLELES} rows={SCRIPT.EXPECTED_ROWS}" in out and "skipped=5" in out
