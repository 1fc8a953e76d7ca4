"""Kipoi integration of the Xpresso group (models/Xpresso): one template, five weight sets.

``models/Xpresso`` is a Kipoi model group (``model-template.yaml`` + ``models.tsv``, rendered by
kipoi itself), so ``models/Xpresso/<set>`` works with ``--source dir`` without per-set folders.
The command-line tests run the `kipoi` script next to this interpreter from the repository root
(as tests/test_kipoi.py does), offline, and compare kipoi's table with seqzoo's own
VariantWindows + PairScorer on a synthetic genome (scripts/make_xpresso_example.py). Weight sets
whose file is not in $SEQZOO_WEIGHTS_DIR are skipped loudly, naming the file.
"""
from __future__ import annotations

import filecmp
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

kipoi = pytest.importorskip("kipoi", reason="the kipoi extra is not installed (pip install -e '.[kipoi,test]')")

import test_kipoi as kipoi_tests  # noqa: E402
from conftest import load_script, require_weights, weights_dir  # noqa: E402
from test_kipoi import read_tsv, run_kipoi  # noqa: E402  (the same helpers as Framepool's tests)

from seqzoo import registry  # noqa: E402
from seqzoo.scoring import SKIP_COLUMNS, PairScorer, metadata_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GROUP = ROOT / "models" / "Xpresso"
SETS = list(registry.XPRESSO_WEIGHT_SETS)
METADATA = ("variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand", "halflife_source",
            "record", "alt_index")
EXAMPLE_NAMES = ("genome.fa", "annotation.gtf", "variants.vcf", "halflife.tsv")


SCRIPT = load_script("make_xpresso_example.py")


def seqzoo_events(paths, halflife=True):
    options = {"halflife_file": str(paths["halflife"])} if halflife else {}
    return kipoi_tests.seqzoo_events(paths, "Xpresso/human_median", **options)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return SCRIPT.make_tss_dataset(tmp_path_factory.mktemp("xpresso_genome"), seed=11)


@pytest.fixture(scope="module")
def human_median():
    import seqzoo
    return seqzoo.load_model("Xpresso/human_median", weights=require_weights("humanMedian_trainepoch.11-0.426.h5"))


# -- the group: one template, five models ------------------------------------------------------
def test_group_lists_exactly_the_five_weight_sets():
    from kipoi.sources import LocalComponentGroup
    assert LocalComponentGroup.is_group(str(GROUP))
    assert sorted(LocalComponentGroup.load(str(GROUP))._list_components()) == sorted(SETS)
    # no per-set folders: the template is the only model.yaml
    assert not any((GROUP / s).exists() for s in SETS) and not (GROUP / "model.yaml").exists()


@pytest.mark.parametrize("weight_set", SETS)
def test_rendered_model_yaml_names_the_registry_weights(weight_set, monkeypatch):
    monkeypatch.chdir(ROOT)  # --source dir is the working directory
    descr = kipoi.get_model_descr(f"models/Xpresso/{weight_set}", source="dir")
    spec = registry.get(f"Xpresso/{weight_set}")
    assert descr.defined_as == "model.XpressoKipoiModel"
    assert dict(descr.args) == {"model_name": spec.name, "weights_url": spec.weights.url,
                                "weights_md5": spec.weights.md5}
    assert spec.weights.url == "https://zenodo.org/record/4075690/files/" + spec.weights.filename
    assert descr.default_dataloader == ".."
    assert "10.1016/j.celrep.2020.107663" in descr.info.cite_as
    assert spec.weights.filename in descr.info.doc and weight_set in descr.info.doc
    assert kipoi.get_source("dir").get_model_dir(f"models/Xpresso/{weight_set}") == str(GROUP)


def test_weight_sets_share_one_window_rule():
    """Why one dataloader serves the five sets (it borrows human_median's window rule)."""
    from seqzoo_dataloaders.xpresso import WINDOW_SPEC
    base = registry.get(WINDOW_SPEC)
    for s in SETS:
        spec = registry.get(f"Xpresso/{s}")
        assert (spec.window_rule, spec.note_columns, spec.rule_options, spec.outputs, spec.effects) == \
            (base.window_rule, base.note_columns, base.rule_options, base.outputs, base.effects)


def test_example_files_are_the_script_output_and_small(tmp_path):
    SCRIPT.make_tss_dataset(tmp_path, seed=0)
    for name in EXAMPLE_NAMES:
        assert filecmp.cmp(GROUP / "example_files" / name, tmp_path / name, shallow=False), \
            f"models/Xpresso/example_files/{name} differs from `python scripts/make_xpresso_example.py`"
    files = {k: GROUP / "example_files" / n for k, n in zip(("fasta", "gtf", "vcf", "halflife"), EXAMPLE_NAMES)}
    assert sum(f.stat().st_size for f in files.values()) < 100_000
    _, summary, pairs, skips = seqzoo_events(files)
    summary.check()
    assert (summary.alleles, summary.rows) == (22, 20)
    assert {s.allele.variant_id: s.reason for s in skips if not s.feature_id} == SCRIPT.PLANTED_SKIPS


# -- in process: the dataloader and the generic model class ------------------------------------
def test_dataloader_yields_windows_halflife_and_metadata(dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    Dl = kipoi.get_dataloader_factory("models/Xpresso/human_median/..", "dir")
    assert Dl.type == "SampleIterator"
    _, summary, pairs, skips = seqzoo_events(dataset)
    dl = Dl(fasta_file=str(dataset["fasta"]), gtf_file=str(dataset["gtf"]), vcf_file=str(dataset["vcf"]),
            halflife_file=str(dataset["halflife"]), skip_report=str(tmp_path / "skipped.tsv"))
    batches = list(dl.batch_iter(batch_size=8))
    assert Dl.get_output_schema().compatible_with_batch(batches[0])
    inputs = {k: np.concatenate([b["inputs"][k] for b in batches]) for k in ("ref", "alt", "halflife")}
    meta = {k: np.concatenate([b["metadata"][k] for b in batches]) for k in METADATA}
    assert list(inputs["ref"]) == [p.ref_seq for p in pairs] and list(inputs["alt"]) == [p.alt_seq for p in pairs]
    assert inputs["halflife"].shape == (len(pairs), 6) and inputs["halflife"].dtype == np.float32
    np.testing.assert_array_equal(inputs["halflife"], np.stack([p.inputs["halflife"] for p in pairs]))
    assert [{k: meta[k][i] for k in METADATA} for i in range(len(pairs))] == \
        [metadata_row(p, registry.get("Xpresso/human_median")) for p in pairs]
    assert set(meta["halflife_source"]) == {"file", "zeros_gene_not_in_file"}
    assert {len(s) for s in inputs["ref"]} == {len(s) for s in inputs["alt"]} == {10_500}
    assert dl.summary.to_dict() == summary.to_dict()
    assert list(read_tsv(tmp_path / "skipped.tsv")["reason"]) == [s.reason for s in skips]


def test_generic_kipoi_model_predicts_each_distinct_input_once(dataset, human_median, monkeypatch):
    from seqzoo.kipoi_model import SeqzooKipoiModel
    spec, _, pairs, _ = seqzoo_events(dataset)
    require_weights("humanMedian_trainepoch.11-0.426.h5")
    model = SeqzooKipoiModel(spec.weights.url, spec.weights.md5, batch_size=8, model_name=spec.name)
    seen = []
    real = model.model.predict_sequences
    monkeypatch.setattr(model.model, "predict_sequences", lambda seqs, **kw: seen.append(len(seqs)) or real(seqs, **kw))
    x = {"ref": np.array([p.ref_seq for p in pairs]), "alt": np.array([p.alt_seq for p in pairs]),
         "halflife": np.stack([p.inputs["halflife"] for p in pairs])}
    out = model.predict_on_batch(x)
    distinct = {(s, p.inputs["halflife"].tobytes()) for p in pairs for s in (p.ref_seq, p.alt_seq)}
    assert seen == [len(distinct)] and len(distinct) < 2 * len(pairs)
    ref, alt = PairScorer(spec, human_median).predict_pairs(pairs)
    np.testing.assert_allclose(out["ref"]["expression"], ref["expression"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["alt"]["expression"], alt["expression"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["effect"]["delta_expression"], spec.effects(ref, alt)["delta_expression"],
                               rtol=0, atol=1e-6)
    # the half-life features matter, and a batch without them means zeros
    no_hl = model.predict_on_batch({"ref": x["ref"], "alt": x["alt"]})
    zeros = model.predict_on_batch(dict(x, halflife=np.zeros_like(x["halflife"])))
    np.testing.assert_allclose(no_hl["ref"]["expression"], zeros["ref"]["expression"], rtol=0, atol=1e-6)
    assert not np.allclose(no_hl["ref"]["expression"], out["ref"]["expression"])
    with pytest.raises(ValueError, match="unknown model input"):
        model.predict_on_batch(dict(x, indicator=np.zeros((len(pairs), 2))))
    with pytest.raises(ValueError, match="first axis"):
        model.predict_on_batch(dict(x, halflife=x["halflife"][:2]))
    with pytest.raises(ValueError, match="1 alt"):
        model.predict_on_batch({"ref": x["ref"][:2], "alt": x["alt"][:1]})


def test_xpresso_model_class_checks_its_name():
    sys.path.insert(0, str(GROUP))
    try:
        spec = importlib.util.spec_from_file_location("xpresso_model_py", GROUP / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(GROUP))
    with pytest.raises(ValueError, match="not an Xpresso weight set"):
        module.XpressoKipoiModel("Framepool", "u", "m")
    from seqzoo.kipoi_model import SeqzooKipoiModel

    class Fixed(SeqzooKipoiModel):
        model_name = "Framepool"

    with pytest.raises(ValueError, match="contradicts"):
        Fixed("u", "m", model_name="Xpresso/human_median")
    with pytest.raises(TypeError, match="model name"):
        SeqzooKipoiModel("u", "m")


# -- the kipoi command line ----------------------------------------------------------------------
@pytest.mark.parametrize("with_halflife", [True, False], ids=["halflife_file", "no_halflife_file"])
def test_kipoi_predict_matches_seqzoo(dataset, human_median, tmp_path, with_halflife):
    out, report = tmp_path / "preds.tsv", tmp_path / "preds.skipped.tsv"
    args = {"fasta_file": str(dataset["fasta"]), "gtf_file": str(dataset["gtf"]), "vcf_file": str(dataset["vcf"]),
            "skip_report": str(report)}
    if with_halflife:
        args["halflife_file"] = str(dataset["halflife"])
    proc = run_kipoi(["predict", "models/Xpresso/human_median", "--source", "dir", "--dataloader_args",
                      json.dumps(args), "--batch_size", "8", "-m", "-o", str(out)])

    spec, summary, pairs, skips = seqzoo_events(dataset, halflife=with_halflife)
    expected = PairScorer(spec, human_median).score(pairs)
    assert summary.line() in proc.stdout + proc.stderr  # the dataloader's accounting line

    table = read_tsv(out)
    for col in ["preds/ref/expression", "preds/alt/expression", "preds/effect/delta_expression"] + \
            [f"metadata/{k}" for k in METADATA]:
        assert col in table.columns, f"{col} missing from {list(table.columns)}"
    assert len(table) == len(pairs) == summary.rows > 8  # more than one batch
    for k in METADATA:
        assert table[f"metadata/{k}"].tolist() == [row[k] for row in expected], k
    sources = set(table["metadata/halflife_source"])
    assert sources == ({"file", "zeros_gene_not_in_file"} if with_halflife else {"zeros"})
    for col, key in [("preds/ref/expression", "ref_expression"), ("preds/alt/expression", "alt_expression"),
                     ("preds/effect/delta_expression", "delta_expression")]:
        want = np.array([row[key] for row in expected], dtype=np.float64)
        np.testing.assert_allclose(table[col].to_numpy(np.float64), want, rtol=0, atol=1e-5, err_msg=col)
    assert (table["preds/effect/delta_expression"].abs() > 0).any()  # real values, not placeholders
    skipped = read_tsv(report)
    assert list(skipped.columns) == list(SKIP_COLUMNS)
    assert skipped.astype(str).to_dict("records") == [{k: str(v) for k, v in s.as_row().items()} for s in skips]
    assert dict(zip(skipped["variant_id"], skipped["reason"])) == SCRIPT.PLANTED_SKIPS


@pytest.mark.parametrize("weight_set", SETS)
def test_kipoi_test_example(weight_set):
    filename = registry.XPRESSO_WEIGHT_SETS[weight_set][0]
    if not (weights_dir() / filename).is_file():
        pytest.skip(f"SKIPPED LOUDLY: published weights file {filename} (Xpresso/{weight_set}) is not in "
                    f"{weights_dir()} (set SEQZOO_WEIGHTS_DIR to a folder holding it); "
                    f"`kipoi test models/Xpresso/{weight_set}` NOT run (its model.yaml is checked above)")
    proc = run_kipoi(["test", f"models/Xpresso/{weight_set}", "--source", "dir"])
    out = proc.stdout + proc.stderr
    assert "Successfully ran test_predict" in out
    assert "rows=20" in out and "skipped=4" in out
