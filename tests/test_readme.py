"""The README's Python API example runs as written (on the bundled example, published weights)."""
from __future__ import annotations

import os
import re

from conftest import ROOT, require_weights


def test_readme_python_api_example_runs(tmp_path, monkeypatch, capsys):
    require_weights("Framepool_combined_residual.h5")
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "seqzoo.score_vcf(" in code and "seqzoo.iter_scores(" in code
    for name in os.listdir(ROOT / "examples"):  # a copy: the example writes example_output/ next to it
        (tmp_path / "examples").mkdir(exist_ok=True)
        (tmp_path / "examples" / name).write_bytes((ROOT / "examples" / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    rows, summary = namespace["rows"], namespace["summary"]
    assert len(rows) == summary["rows"] > 0 and summary["identity_holds"]
    assert (tmp_path / "example_output" / "api_scores.parquet").is_file()
    assert "mrl_fold_change" in capsys.readouterr().out
