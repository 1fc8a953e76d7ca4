"""`seqzoo plot`: effect distributions per model and one variant's ref/alt cleavage profile."""
from __future__ import annotations

import pytest

from conftest import require_weights
from seqzoo.cli import main
from seqzoo.plots import first_difference
from seqzoo.synthetic import make_gene_model_dataset

APARENT2 = "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_gene_model_dataset(tmp_path_factory.mktemp("plots"), seed=4)


def files(d):
    return ["--fasta", str(d["fasta"]), "--gtf", str(d["gtf"]), "--vcf", str(d["vcf"])]


def test_effect_distributions_png_and_pdf(data, tmp_path):
    require_weights("Framepool_combined_residual.h5")
    require_weights(APARENT2)
    scores = tmp_path / "s.parquet"
    assert main(["score", "--model", "Framepool,APARENT2", *files(data), "-o", str(scores), "--quiet"]) == 0
    for out in (tmp_path / "e.png", tmp_path / "e.pdf"):
        assert main(["plot", "effects", "--scores", str(scores), "-o", str(out)]) == 0
        head = out.read_bytes()[:8]
        assert out.stat().st_size > 5_000 and head[:4] in (b"\x89PNG", b"%PDF")
    one = tmp_path / "one.tsv"
    assert main(["score", "--model", "APARENT2", *files(data), "-o", str(one), "--quiet"]) == 0
    assert main(["plot", "effects", "--scores", str(one), "--score", "delta_logodds", "-o",
                 str(tmp_path / "one.png")]) == 0
    assert main(["plot", "effects", "--scores", str(one), "--score", "nope", "-o", str(tmp_path / "x.png")]) == 2


def test_variant_track(data, tmp_path):
    require_weights(APARENT2)
    import pandas as pd
    w = tmp_path / "w.tsv"
    assert main(["windows", "--model", "APARENT2", *files(data), "-o", str(w), "--quiet"]) == 0
    vid = pd.read_csv(w, sep="\t").variant_id.iloc[0]
    out = tmp_path / "track.png"
    assert main(["plot", "variant", "--model", "APARENT2", *files(data), "--variant", vid, "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10_000
    assert main(["plot", "variant", "--model", "APARENT2", *files(data), "--variant", "nope",
                 "-o", str(out)]) == 2


def test_first_difference():
    assert first_difference("ACGTA", "ACCTA") == 2 and first_difference("ACG", "ACGT") == 3
