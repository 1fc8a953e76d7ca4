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
    assert "seqzoo score" in first and "examples/variants.vcf" in first
    assert "pytest" in second
    ci = (ROOT / ".ci" / "run").read_text()
    assert second.replace("pip install -c", "pip install -q -c") in ci
