"""The same battery for every registered model (and the toy plug-in): its spec is complete, the
command line, the workflow and the Kipoi model directories are derived from it, and what the model
really returns matches the schema the spec declares (names, dtypes, per-position shapes)."""
from __future__ import annotations

import csv
import re
import sys

import numpy as np
import pytest

from conftest import ROOT, require_weights, weights_dir
from seqzoo import registry
from seqzoo.cli import build_parser
from seqzoo.synthetic import make_gene_model_dataset
from seqzoo.table import kind_of

sys.path.insert(0, str(ROOT / "tests" / "plugins"))
import seqzoo_toy  # noqa: E402  (the toy plug-in: the battery is for models from outside too)

SPECS = {**registry.MODELS, seqzoo_toy.SPEC.name: seqzoo_toy.SPEC}
TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.mark.parametrize("name", list(SPECS))
def test_spec_is_complete(name):
    spec = SPECS[name]
    assert spec.description and spec.citation
    assert re.fullmatch(r"[0-9a-f]{32}", spec.weights.md5) and spec.weights.url.startswith("https://")
    assert TOKEN.match(spec.no_feature_reason) and spec.no_feature[1]
    effects = spec.effect_names + spec.vector_effect_names
    assert set(spec.effect_docs) == set(effects), "every effect has its formula and unit"
    assert set(spec.vector_shapes) == set(spec.vector_outputs + spec.vector_effect_names)
    assert len(set(spec.outputs + spec.vector_outputs)) == len(spec.outputs + spec.vector_outputs)
    assert {o.name for o in spec.options} == set(spec.rule_options)
    for option in spec.options:
        assert option.help and option.flag == "--" + option.name.replace("_", "-")


def test_every_option_is_a_command_line_flag():
    actions = build_parser()._subparsers._group_actions[0].choices
    for command in ("score", "windows"):
        flags = {f for a in actions[command]._actions for f in a.option_strings}
        assert {o.flag for o in registry.options().values()} <= flags, command
    assert "--halflife-file" in {f for a in actions["score"]._actions for f in a.option_strings}


def _kipoi_args(spec) -> dict:
    yaml = pytest.importorskip("yaml")
    if spec.name.startswith("Xpresso/"):
        with open(ROOT / "models" / "Xpresso" / "models.tsv") as fh:
            rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
        header, *rows = rows
        row = dict(zip(header, next(r for r in rows if r[0] == spec.name.split("/")[1])))
        template = (ROOT / "models" / "Xpresso" / "model-template.yaml").read_text()
        for key, value in row.items():  # kipoi renders the template with the row (jinja2)
            template = template.replace("{{ %s }}" % key, value)
        return yaml.safe_load(template)["args"]
    return yaml.safe_load((ROOT / "models" / spec.name / "model.yaml").read_text())["args"]


@pytest.mark.parametrize("name", list(registry.MODELS))
def test_kipoi_model_directory_names_the_specs_weights(name):
    spec = registry.MODELS[name]
    args = _kipoi_args(spec)
    assert (args["weights_url"], args["weights_md5"]) == (spec.weights.url, spec.weights.md5)


def _model(spec, tmp):
    """The model with its published weights; stand-ins of the published layout where those are absent."""
    import seqzoo

    if spec.name == "HAL":
        path = tmp / "hal.npz"
        np.savez(path, weights=np.random.default_rng(0).normal(size=(4096, 8)))
        return seqzoo.load_model("HAL", weights=path)
    if spec.name == "BPNet-OSKN":
        return seqzoo.load_model("BPNet-OSKN", weights=ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5")
    if spec.name == seqzoo_toy.SPEC.name:
        (tmp / "toy.json").write_text('{"pseudocount": 0}')
        model = seqzoo_toy.build(tmp / "toy.json")
        model.seqzoo_name = spec.name
        return model
    if not (weights_dir() / spec.weights.filename).is_file():
        require_weights(spec.weights.filename)
    return seqzoo.load_model(spec.name)


@pytest.fixture(scope="module")
def genes(tmp_path_factory):
    d = tmp_path_factory.mktemp("battery")
    return d, make_gene_model_dataset(d)


@pytest.mark.parametrize("name", list(SPECS))
def test_outputs_match_the_declared_schema(name, genes):
    """A real run: every declared column is there with the declared dtype and per-position shape."""
    import seqzoo

    spec = SPECS[name]
    tmp, paths = genes
    model = _model(spec, tmp)
    rows, summary, _ = seqzoo.score_vcf([(spec, model)], paths["fasta"], paths["vcf"],
                                        paths["gtf"] if spec.needs_gtf else None)
    assert summary["identity_holds"] and len(rows) > 0, name
    for key in spec.outputs + spec.effect_names:
        for col in ([f"ref_{key}", f"alt_{key}"] if key in spec.outputs else [key]):
            assert kind_of(str(rows[col].dtype)) == kind_of(spec.output_dtype(key)), (name, col, rows[col].dtype)
    for key in spec.vector_outputs + spec.vector_effect_names:
        for col in ([f"ref_{key}", f"alt_{key}"] if key in spec.vector_outputs else [key]):
            cell = rows[col].iloc[0]
            assert cell.shape == tuple(spec.vector_shapes[key]), (name, col)
            assert kind_of(str(cell.dtype)) == kind_of(spec.output_dtype(key)), (name, col, cell.dtype)
    assert rows["record"].dtype == np.int64 and rows["alt_index"].dtype == np.int64


def test_unknown_model_names_the_known_ones_and_a_case_slip():
    from seqzoo import registry
    from seqzoo.registry import UnknownModelError

    with pytest.raises(UnknownModelError) as caught:
        registry.get("framepool")
    assert str(caught.value).startswith("unknown model 'framepool' (did you mean 'Framepool'? model names are "
                                        "case-sensitive); seqzoo has: APARENT2, BPNet-OSKN, Framepool, HAL")
    with pytest.raises(UnknownModelError) as caught:
        registry.get("Enformer")
    assert str(caught.value).startswith("unknown model 'Enformer'; seqzoo has: APARENT2")


@pytest.mark.parametrize("name,hint", [
    ("Framepol", " (did you mean 'Framepool'?)"), ("BPNet", " (did you mean 'BPNet-OSKN'?)"),
    ("Xpresso/human_medain", " (did you mean 'Xpresso/human_median'?)"),
    ("Xpresso", " (Xpresso has several weight sets: Xpresso/human_GM12878, Xpresso/human_K562, Xpresso/human_median, "
                "Xpresso/mouse_ESCs, Xpresso/mouse_median)")])
def test_unknown_model_suggests_the_model_meant(name, hint):
    from seqzoo import registry
    from seqzoo.registry import UnknownModelError

    with pytest.raises(UnknownModelError) as caught:
        registry.get(name)
    assert str(caught.value).startswith(f"unknown model {name!r}{hint}; seqzoo has: APARENT2, BPNet-OSKN")
