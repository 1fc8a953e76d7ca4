"""Kipoi integration of models/Framepool: `kipoi predict` / `kipoi test` with --source dir, offline.

The command-line tests run the `kipoi` script next to this interpreter in a subprocess (as a user
would), from the repository root, with $SEQZOO_WEIGHTS_DIR pointing at the published weights and
downloads off ($SEQZOO_OFFLINE); they compare kipoi's output table with seqzoo's own
VariantWindows + PairScorer on the same files. Each kipoi subprocess takes a few seconds.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("kipoi", reason="the kipoi extra is not installed (pip install -e '.[kipoi,test]')")

from seqzoo import registry  # noqa: E402
from seqzoo.scoring import SKIP_COLUMNS, PairScorer, Skip, VariantWindows, metadata_row  # noqa: E402
from seqzoo.synthetic import make_utr_dataset  # noqa: E402
from seqzoo.windows.base import WindowPair  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "Framepool"
WEIGHTS_FILE = "Framepool_combined_residual.h5"
METADATA = ("variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand", "record", "alt_index")
# the whole-allele skips that make_utr_dataset(extra_records=True) plants, by VCF ID
PLANTED_SKIPS = {"mismatch": "ref_mismatch", "symbolic": "symbolic_alt", "intergenic": "not_in_5utr",
                 "crossing": "crosses_utr_exon_boundary", "unknown_contig": "contig_not_in_fasta"}


def weights_dir() -> Path:
    return Path(os.environ.get("SEQZOO_WEIGHTS_DIR") or ROOT.parent / "shared" / "weights")


def require_weights() -> Path:
    path = weights_dir() / WEIGHTS_FILE
    if not path.is_file():
        pytest.skip(f"SKIPPED LOUDLY: published weights file {WEIGHTS_FILE} is not in {weights_dir()} "
                    f"(set SEQZOO_WEIGHTS_DIR to a folder holding it); the Kipoi model was NOT run")
    return path


def kipoi_script() -> Path:
    script = Path(sys.executable).parent / "kipoi"
    if not script.is_file():
        pytest.skip(f"SKIPPED LOUDLY: no `kipoi` script next to {sys.executable}; Kipoi CLI NOT tested")
    return script


def run_kipoi(args: list[str], cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, SEQZOO_WEIGHTS_DIR=str(weights_dir()), SEQZOO_OFFLINE="1")
    proc = subprocess.run([str(kipoi_script())] + args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"kipoi {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}"
                             f"\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


#: text columns of seqzoo's and kipoi's tables (skip reports, metadata), read as str
TEXT_COLUMNS = ("variant_id", "chrom", "ref", "alt", "model", "feature_id", "gene_id", "strand", "reason", "detail",
                "halflife_source")


def read_tsv(path):
    import pandas as pd
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["nan"],
                       dtype={c: str for name in TEXT_COLUMNS for c in (name, f"metadata/{name}")})


def seqzoo_events(paths, model="Framepool", **rule_options):
    """(spec, summary, window pairs, skips) of seqzoo's own stream over ``paths`` for ``model``."""
    spec = registry.get(model)
    windows = VariantWindows(spec, paths["fasta"], paths["gtf"], **rule_options)
    events = list(windows.events(paths["vcf"]))
    pairs = [e for e in events if isinstance(e, WindowPair)]
    skips = [e for e in events if isinstance(e, Skip)]
    return spec, windows.summary, pairs, skips


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_utr_dataset(tmp_path_factory.mktemp("kipoi_genome"), seed=7, n_genes=10, variants_per_utr=4)


def test_model_yaml_names_the_registry_weights():
    yaml = pytest.importorskip("yaml")
    descr = yaml.safe_load((MODEL_DIR / "model.yaml").read_text())
    official = registry.get("Framepool").weights
    assert descr["defined_as"] == "model.FramepoolKipoiModel"
    assert descr["args"]["weights_url"] == official.url
    assert descr["args"]["weights_md5"] == official.md5
    assert "10.1371/journal.pcbi.1008982" in descr["info"]["cite_as"]


def test_example_files_are_small_and_exercise_the_skips():
    files = [MODEL_DIR / "example_files" / n for n in ("genome.fa", "annotation.gtf", "variants.vcf")]
    assert sum(f.stat().st_size for f in files) < 100_000
    _, summary, pairs, skips = seqzoo_events({"fasta": files[0], "gtf": files[1], "vcf": files[2]})
    summary.check()
    assert len(pairs) > 32  # more than one kipoi batch at the default batch size
    assert {s.allele.variant_id: s.reason for s in skips if not s.feature_id} == PLANTED_SKIPS


def test_dataloader_collates_strings_and_writes_the_skip_report(dataset, tmp_path, monkeypatch):
    """In process, through kipoi's own loader for the model directory (yaml args == signature)."""
    import kipoi

    monkeypatch.chdir(ROOT)
    Dl = kipoi.get_dataloader_factory("models/Framepool", "dir")
    assert Dl.model_name == "Framepool" and Dl.type == "SampleIterator"
    _, summary, pairs, skips = seqzoo_events(dataset)
    report = tmp_path / "skipped.tsv"
    dl = Dl(fasta_file=str(dataset["fasta"]), gtf_file=str(dataset["gtf"]), vcf_file=str(dataset["vcf"]),
            skip_report=str(report))
    batches = list(dl.batch_iter(batch_size=16))
    assert Dl.get_output_schema().compatible_with_batch(batches[0])
    assert sum(len(b["inputs"]["ref"]) for b in batches) == len(pairs)
    first = batches[0]
    assert first["inputs"]["ref"].dtype.kind == "U" and first["inputs"]["alt"].dtype.kind == "U"
    assert first["metadata"]["pos"].dtype.kind == "i"
    assert list(first["inputs"]["ref"]) == [p.ref_seq for p in pairs[:16]]
    assert list(first["inputs"]["alt"]) == [p.alt_seq for p in pairs[:16]]
    assert {k: first["metadata"][k][3] for k in METADATA} == metadata_row(pairs[3])
    assert dl.summary.to_dict() == summary.to_dict()
    table = read_tsv(report)
    assert list(table.columns) == list(SKIP_COLUMNS)
    assert table.astype(str).to_dict("records") == [{k: str(v) for k, v in s.as_row().items()} for s in skips]

    # a second pass counts afresh and rewrites the report
    assert sum(len(b["inputs"]["ref"]) for b in dl.batch_iter(batch_size=64)) == len(pairs)
    assert dl.summary.to_dict() == summary.to_dict()
    assert len(read_tsv(report)) == len(skips)

    # stopped early: the report holds what was seen so far and is closed
    dl2 = Dl(fasta_file=str(dataset["fasta"]), gtf_file=str(dataset["gtf"]), vcf_file=str(dataset["vcf"]),
             skip_report=str(tmp_path / "early.tsv"))
    next(iter(dl2))
    dl2.close()
    assert list(read_tsv(tmp_path / "early.tsv").columns) == list(SKIP_COLUMNS)


def test_kipoi_predict_matches_seqzoo(dataset, tmp_path):
    weights = require_weights()
    out, report = tmp_path / "preds.tsv", tmp_path / "preds.skipped.tsv"
    args = ('{"fasta_file": "%s", "gtf_file": "%s", "vcf_file": "%s", "skip_report": "%s"}'
            % (dataset["fasta"], dataset["gtf"], dataset["vcf"], report))
    proc = run_kipoi(["predict", "models/Framepool", "--source", "dir", "--dataloader_args", args,
                      "--batch_size", "32", "-m", "-o", str(out)])

    import seqzoo
    spec, summary, pairs, skips = seqzoo_events(dataset)
    expected = PairScorer(spec, seqzoo.load_model("Framepool", weights=weights)).score(pairs)
    assert summary.line() in proc.stdout + proc.stderr  # the dataloader's accounting line

    table = read_tsv(out)
    for col in ["preds/ref/mrl", "preds/ref/mrl_unscaled", "preds/alt/mrl", "preds/alt/mrl_unscaled",
                "preds/effect/mrl_fold_change", "preds/effect/shift_1", "preds/effect/shift_2"] + \
            [f"metadata/{k}" for k in METADATA]:
        assert col in table.columns, f"{col} missing from {list(table.columns)}"
    assert len(table) == len(pairs) == summary.rows > 32
    for k in METADATA:
        got = table[f"metadata/{k}"].tolist()
        assert got == [row[k] for row in expected], k
    for col, key in [("preds/effect/mrl_fold_change", "mrl_fold_change"), ("preds/effect/shift_1", "shift_1"),
                     ("preds/effect/shift_2", "shift_2"), ("preds/ref/mrl", "ref_mrl"),
                     ("preds/alt/mrl", "alt_mrl"), ("preds/ref/mrl_unscaled", "ref_mrl_unscaled"),
                     ("preds/alt/mrl_unscaled", "alt_mrl_unscaled")]:
        want = np.array([row[key] for row in expected], dtype=np.float64)
        np.testing.assert_allclose(table[col].to_numpy(np.float64), want, rtol=0, atol=1e-5, err_msg=col)
    assert np.isfinite(table["preds/effect/mrl_fold_change"]).all()
    assert (table["preds/effect/mrl_fold_change"].abs() > 0).any()  # real values, not placeholders

    skipped = read_tsv(report)
    assert list(skipped.columns) == list(SKIP_COLUMNS)
    assert skipped.astype(str).to_dict("records") == [{k: str(v) for k, v in s.as_row().items()} for s in skips]
    whole = skipped[skipped["feature_id"] == ""]
    assert dict(zip(whole["variant_id"], whole["reason"])) == PLANTED_SKIPS
    assert summary.alleles == summary.scored_alleles + len(whole)


def test_kipoi_predict_all_skipped_writes_only_the_skip_report(dataset, tmp_path):
    """Zero rows: kipoi 0.8.6 writes no output file at all; the skip report is still complete."""
    require_weights()
    lines = Path(dataset["vcf"]).read_text().splitlines()
    body = [ln for ln in lines if not ln.startswith("#") and ln.split("\t")[2] in ("mismatch", "symbolic",
                                                                                 "intergenic")]
    vcf = tmp_path / "skipped_only.vcf"
    vcf.write_text("\n".join([ln for ln in lines if ln.startswith("#")] + body) + "\n")
    out, report = tmp_path / "none.tsv", tmp_path / "none.skipped.tsv"
    args = ('{"fasta_file": "%s", "gtf_file": "%s", "vcf_file": "%s", "skip_report": "%s"}'
            % (dataset["fasta"], dataset["gtf"], vcf, report))
    proc = run_kipoi(["predict", "models/Framepool", "--source", "dir", "--dataloader_args", args,
                      "-m", "-o", str(out)])
    assert not out.exists()
    assert "rows=0" in proc.stdout + proc.stderr
    skipped = read_tsv(report)
    assert sorted(skipped["reason"]) == ["not_in_5utr", "ref_mismatch", "symbolic_alt"]


def test_kipoi_test_example_from_repo_root():
    require_weights()
    proc = run_kipoi(["test", "models/Framepool", "--source", "dir"])
    out = proc.stdout + proc.stderr
    assert "Successfully ran test_predict" in out
    assert "rows=49" in out and "skipped=5" in out
