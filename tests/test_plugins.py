"""A model added from outside the package (tests/plugins/seqzoo_toy: base counts of an 11-nt window
centred on the variant) scores end to end through the Python API, ``seqzoo score``, ``seqzoo
windows`` and a multi-model run with a built-in model, with no change to seqzoo's files. Every value
is checked by hand."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seqzoo
from conftest import ROOT, require_weights
from seqzoo import registry
from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf, write_vcf

PLUGINS = ROOT / "tests" / "plugins"
SEQZOO = Path(sys.executable).parent / "seqzoo"
TOY = "ToyBaseCounts"
PSEUDOCOUNT = 0.5


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    seq = random_sequence(np.random.default_rng(11), 2000)
    fasta = write_fasta(d / "genome.fa", {"1": seq})
    gtf = write_gtf(d / "genes.gtf", [gtf_line("1", "five_prime_utr", 1001, 1100, "+", "T1", "G1"),
                                      gtf_line("1", "CDS", 1101, 1400, "+", "T1", "G1")])
    b = lambda pos, n=1: seq[pos - 1:pos - 1 + n]  # noqa: E731  (1-based VCF POS)
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    records = [("1", 1050, "in_utr", b(1050), other[b(1050)]),          # both models
               ("1", 500, "outside_utr", b(500), other[b(500)]),         # the toy only; Framepool silent
               ("1", 3, "at_start", b(3), other[b(3)]),                  # toy: window past the contig start
               ("1", 1060, "insertion", b(1060), b(1060) + "GG"),
               ("1", 700, "mismatch", other[b(700)], b(700)),            # REF differs from the FASTA
               ("1", 800, "multi", b(800), ",".join(x for x in "ACGT" if x != b(800)))]
    vcf = write_vcf(d / "variants.vcf", records)
    weights = d / "toy_base_counts.json"
    weights.write_text(json.dumps({"pseudocount": PSEUDOCOUNT}))
    return {"fasta": fasta, "gtf": gtf, "vcf": vcf, "weights": weights, "seq": seq, "records": records}


def expected_windows(seq: str, pos: int, ref: str, alt: str) -> tuple[str, str]:
    """The 11-nt window with REF's first base at index 5, and its alt (length kept, trimmed right)."""
    p0 = pos - 1
    ref_win = seq[p0 - 5:p0 + 6]
    alt_win = (seq[p0 - 5:p0] + alt + seq[p0 + len(ref):])[:11]
    return ref_win, alt_win


def counts(window: str) -> dict:
    return {f"count_{b}": window.count(b) + PSEUDOCOUNT for b in "ACGT"}


@pytest.fixture()
def toy_registered(monkeypatch):
    """The plug-in registered from Python (the entry point is tested in a subprocess)."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    import seqzoo_toy
    monkeypatch.setitem(registry.MODELS, TOY, seqzoo_toy.SPEC)
    return seqzoo_toy


def check_toy_rows(rows: pd.DataFrame, data) -> None:
    seq = data["seq"]
    by_id = {r[2]: r for r in data["records"]}
    expected_ids = ["in_utr", "outside_utr", "insertion", "multi", "multi", "multi"]
    assert rows["variant_id"].tolist() == expected_ids
    assert rows["record"].tolist() == [1, 2, 4, 6, 6, 6] and rows["alt_index"].tolist() == [0, 0, 0, 0, 1, 2]
    for _, row in rows.iterrows():
        _, pos, _, ref, _ = by_id[row["variant_id"]]
        ref_win, alt_win = expected_windows(seq, pos, ref, row["alt"])
        for side, win in (("ref", ref_win), ("alt", alt_win)):
            for key, value in counts(win).items():
                assert row[f"{side}_{key}"] == value, (row["variant_id"], side, key)
        gc = lambda w: w.count("G") + w.count("C")  # noqa: E731
        assert row["delta_gc"] == gc(alt_win) - gc(ref_win)
        assert row["feature_id"] == f"1:{pos - 1 - 5}-{pos - 1 + 6}" and row["strand"] == "+"


def test_score_vcf_from_python(toy_registered, data):
    rows, summary, skipped = seqzoo.score_vcf(TOY, data["fasta"], data["vcf"], weights=data["weights"])
    check_toy_rows(rows, data)
    profile = np.stack(rows["ref_profile"])
    assert profile.shape == (6, 11, 4) and (profile.sum(axis=2) == 1).all()  # one-hot: the window has no N
    np.testing.assert_array_equal(np.stack(rows["delta_profile"]), np.stack(rows["alt_profile"]) - profile)
    assert skipped[["variant_id", "reason"]].values.tolist() == [["at_start", "window_past_contig_end"],
                                                                 ["mismatch", "ref_mismatch"]]
    assert (summary["alleles"], summary["scored_alleles"], summary["skipped_alleles"]) == (8, 6, 2)
    assert summary["identity_holds"]
    chunks = list(seqzoo.iter_scores(TOY, data["fasta"], data["vcf"], weights=data["weights"], chunk_rows=1))
    assert [c.last_record for c in chunks] == [1, 2, 3, 4, 5, 6]
    assert sum(c.rows.n for c in chunks) == 6 and chunks[-1].summary == summary
    windows, _, _ = seqzoo.windows_vcf(TOY, data["fasta"], data["vcf"])  # no weights needed
    for _, row in windows.iterrows():
        _, pos, _, ref, _ = next(r for r in data["records"] if r[2] == row["variant_id"])
        assert (row["ref_seq"], row["alt_seq"]) == expected_windows(data["seq"], pos, ref, row["alt"])


def _cli(*args, env=None):
    """``seqzoo`` in a child process with the plug-in folder on PYTHONPATH (found by its entry point)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([str(SEQZOO), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_entry_point_registers_the_plugin_everywhere(data, tmp_path):
    listed = json.loads(_cli("models", "--json").stdout)
    toy = next(m for m in listed if m["name"] == TOY)
    assert toy["options"][0]["flag"] == "--flank-note" and toy["needs_gtf"] is False
    assert "--flank-note" in _cli("score", "--help").stdout  # the option's flag, derived from the spec
    out = tmp_path / "toy.tsv"
    _cli("score", "--model", TOY, "--fasta", data["fasta"], "--vcf", data["vcf"], "--weights", data["weights"],
         "-o", out, "--flank-note", "any text")
    check_toy_rows(pd.read_csv(out, sep="\t"), data)
    win = tmp_path / "toy_windows.tsv"
    _cli("windows", "--model", TOY, "--fasta", data["fasta"], "--vcf", data["vcf"], "-o", win)
    table = pd.read_csv(win, sep="\t")
    assert table["ref_seq"].tolist()[0] == expected_windows(data["seq"], 1050, *data["records"][0][3:5])[0]


def test_multi_model_run_with_a_builtin_model(data, tmp_path):
    require_weights("Framepool_combined_residual.h5")
    out = tmp_path / "both.parquet"
    _cli("score", "--model", f"{TOY},Framepool", "--fasta", data["fasta"], "--gtf", data["gtf"], "--vcf", data["vcf"],
         "--weights", f"{TOY}={data['weights']}", "-o", out)
    rows = pd.read_parquet(out)
    assert list(rows.columns[:1]) == ["model"] and list(rows.columns[-2:]) == ["record", "alt_index"]
    assert rows[["variant_id", "model"]].values.tolist() == [
        ["in_utr", TOY], ["in_utr", "Framepool"], ["outside_utr", TOY], ["insertion", TOY], ["insertion", "Framepool"],
        ["multi", TOY], ["multi", TOY], ["multi", TOY]]
    check_toy_rows(rows[rows.model == TOY].reset_index(drop=True), data)
    assert rows[rows.model == TOY]["mrl_fold_change"].isna().all()
    assert rows[rows.model == "Framepool"]["delta_gc"].isna().all()
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t", keep_default_na=False)
    at_start = skipped[skipped.variant_id == "at_start"].iloc[0]
    assert at_start["reason"] == "no_window_in_any_model" and at_start["model"] == ""
    assert at_start["detail"].startswith(f"{TOY}: window_past_contig_end (") and \
        "Framepool: not_in_5utr (the variant overlaps no 5'UTR exon in the GTF)" in at_start["detail"]
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["rows_by_model"] == {"Framepool": 2, TOY: 6} and summary["identity_holds"]
    assert summary["skipped_by_reason"] == {"no_window_in_any_model": 1, "ref_mismatch": 1}
