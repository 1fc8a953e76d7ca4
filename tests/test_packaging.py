"""The pins live in constraints.txt; environment.yml and the README's commands must agree with it."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(text: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", text, re.M)}


def test_environment_yml_has_the_constraints_pins():
    constraints = pins((ROOT / "constraints.txt").read_text())
    env = pins((ROOT / "environment.yml").read_text())
    assert constraints == env
    assert constraints["torch"] == "2.13.0" and constraints["numpy"] == "1.26.4" and constraints["kipoi"] == "0.8.6"


def test_readme_opens_with_the_two_setup_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    first, second = blocks[0].strip(), blocks[1].strip()
    assert "seqzoo score --model all" in first and "examples/variants.vcf" in first
    assert first.startswith("python3 scripts/install.py && ") and "\n" not in first
    assert second == "python3 scripts/install.py --tests && .venv/bin/python -m pytest -q tests"
    ci = (ROOT / ".ci" / "run").read_text()
    assert second in ci


def test_package_metadata_and_version():
    import seqzoo
    from importlib.metadata import metadata

    meta = metadata("seqzoo")
    assert meta["Version"] == seqzoo.__version__ and meta["License"] == "MIT"
    assert "Programming Language :: Python :: 3.13" in meta.get_all("Classifier")
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "## " + seqzoo.__version__ in (ROOT / "CHANGELOG.md").read_text()
    import yaml
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == seqzoo.__version__
    assert {r["notes"].split(" ")[0] for r in citation["references"]} == {"Framepool", "APARENT2", "Xpresso", "HAL",
                                                                           "BPNet-OSKN"}


def test_core_requirements_leave_numpy_2_open():
    from importlib.metadata import requires

    core = [r for r in requires("seqzoo") if "extra ==" not in r]
    assert any(r.startswith("numpy") and "<2" not in r for r in core)
    assert any(r.startswith("pysam") for r in core)
    assert any("numpy<2" in r.replace(" ", "") and 'extra == "kipoi"' in r for r in requires("seqzoo"))
