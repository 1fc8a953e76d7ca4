"""Several models in one run: the same rows and values as one run per model, one accounting."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import outside_alleles, record_ids, require_weights
from seqzoo.cli import main
from seqzoo.synthetic import make_gene_model_dataset

MODELS = {"Framepool": "Framepool_combined_residual.h5",
          "APARENT2": "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5",
          "Xpresso/human_median": "humanMedian_trainepoch.11-0.426.h5"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("multi")
    paths = make_gene_model_dataset(d)
    table = np.random.default_rng(0).normal(size=(4096, 8))
    np.savez(d / "hal.npz", weights=table)
    return paths, d / "hal.npz"


def score(paths, out, models, *extra):
    return main(["score", "--model", models, "--fasta", str(paths["fasta"]), "--gtf", str(paths["gtf"]),
                 "--vcf", str(paths["vcf"]), "-o", str(out), "--quiet", *extra])


def test_multi_model_run_equals_single_model_runs(data, tmp_path):
    for f in MODELS.values():
        require_weights(f)
    paths, hal = data
    names = ",".join(list(MODELS) + ["HAL"])
    assert score(paths, tmp_path / "all.parquet", names, "--weights", f"HAL={hal}") == 0
    multi = pd.read_parquet(tmp_path / "all.parquet")
    assert list(multi.columns[:1]) == ["model"]
    summary = json.loads((tmp_path / "all.parquet.summary.json").read_text())
    skipped = pd.read_csv(str(tmp_path / "all.parquet") + ".skipped.tsv", sep="\t", keep_default_na=False)
    assert summary["identity_holds"] and summary["alleles"] == summary["scored_alleles"] + summary["skipped_alleles"]
    ids = record_ids(paths["vcf"])  # outside every model's windows: a run in OUT.outside.tsv, no skip row
    assert [(ids[r], reason) for r, _, reason in outside_alleles(tmp_path / "all.parquet", paths["vcf"])] == [
        ("intergenic", "no_window_in_any_model")]
    assert "intergenic" not in set(skipped.variant_id)
    assert set(multi.model) == set(MODELS) | {"HAL"}
    for name in list(MODELS) + ["HAL"]:
        out = tmp_path / f"{name.replace('/', '_')}.parquet"
        extra = ["--weights", str(hal)] if name == "HAL" else []
        assert score(paths, out, name, *extra) == 0
        single = pd.read_parquet(out)
        part = multi[multi.model == name].reset_index(drop=True)
        assert len(part) == len(single) > 0, name
        assert summary["rows_by_model"][name] == len(single)
        for col in single.columns:
            a, b = part[col], single[col]
            if a.dtype == object and isinstance(a.iloc[0], (list, np.ndarray)):
                np.testing.assert_allclose(np.stack(a), np.stack(b), atol=1e-6)
            elif np.issubdtype(b.dtype, np.floating):
                np.testing.assert_allclose(a.astype(float), b, atol=1e-6, err_msg=f"{name} {col}")
            else:
                assert list(a) == list(b), (name, col)


def test_windows_for_several_models_and_all(data, tmp_path):
    paths, _ = data
    assert main(["windows", "--model", "all", "--fasta", str(paths["fasta"]), "--gtf", str(paths["gtf"]),
                 "--vcf", str(paths["vcf"]), "-o", str(tmp_path / "w.tsv"), "--quiet"]) == 0
    w = pd.read_csv(tmp_path / "w.tsv", sep="\t", keep_default_na=False)
    assert {"Framepool", "APARENT2", "HAL", "Xpresso/human_median", "Xpresso/mouse_ESCs"} <= set(w.model)
    lengths = w.groupby("model").alt_seq.apply(lambda s: set(s.str.len()))
    assert lengths["APARENT2"] == {205} and lengths["HAL"] == {160} and lengths["Xpresso/human_median"] == {10_500}


def test_all_leaves_out_models_without_weights(data, tmp_path, caplog):
    paths, _ = data
    require_weights(MODELS["Framepool"])
    assert score(paths, tmp_path / "a.tsv", "all") == 0
    t = pd.read_csv(tmp_path / "a.tsv", sep="\t", keep_default_na=False)
    assert "HAL" not in set(t.model) and "Framepool" in set(t.model)
    assert "leaving out HAL" in caplog.text


def test_in_memory_rows_of_chunks_with_one_model_each_keep_the_runs_dtypes(data):
    """score_vcf's DataFrame of a several-model run is one table, whatever the chunks: a chunk where
    another model has no row (its columns all absent) used to make pandas warn (a FutureWarning
    about all-NA entries in concat) and could leave a column's dtype to one chunk."""
    import warnings

    import seqzoo

    require_weights(MODELS["Framepool"])
    paths, hal = data
    models = [("Framepool", seqzoo.load_model("Framepool")), ("HAL", seqzoo.load_model("HAL", weights=hal))]
    whole = seqzoo.score_vcf(models, paths["fasta"], paths["vcf"], paths["gtf"]).rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chunked = seqzoo.score_vcf(models, paths["fasta"], paths["vcf"], paths["gtf"], chunk_rows=1).rows
    assert set(whole.model) == {"Framepool", "HAL"} and len(whole) > 10
    pd.testing.assert_frame_equal(chunked, whole, check_exact=False, atol=1e-5, rtol=0)  # (batches differ)
    assert whole.alt_mrl.isna().sum() == (whole.model == "HAL").sum()
