"""APARENT2 end to end: 3'-end windows on both strands, effects, TSV/Parquet, accounting."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, outside_alleles, record_ids, require_weights
from seqzoo.cli import main
from seqzoo.encoding import reverse_complement
from seqzoo.registry import aparent2_effects
from seqzoo.synthetic import gtf_line, other_base, random_sequence, write_fasta, write_gtf, write_vcf

CONTIG = random_sequence(np.random.default_rng(41), 5_000)
WEIGHTS = "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5"


def b(pos1):
    return CONTIG[pos1 - 1]


@pytest.fixture(scope="module")
def model():
    import seqzoo
    return seqzoo.load_model("APARENT2", weights=require_weights(WEIGHTS))


def test_effects_reproduce_the_reference_logodds(model):
    ref = np.load(REFERENCE / "aparent2_reference.npz")
    preds = model.predict_sequences(list(ref["seqs"]))
    r = {k: v[:-1] for k, v in preds.items()}
    a = {k: v[1:] for k, v in preds.items()}
    eff = aparent2_effects(r, a)
    np.testing.assert_allclose(eff["delta_logodds_narrow"], np.diff(ref["logodds_narrow"].astype(np.float64)),
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(eff["delta_logodds"], np.diff(ref["logodds_all"].astype(np.float64)), atol=1e-5, rtol=0)
    d = ref["cut_prob"][1:].astype(np.float64) - ref["cut_prob"][:-1]
    np.testing.assert_allclose(eff["max_abs_delta_cut_prob"], np.abs(d).max(1), atol=1e-6, rtol=0)
    # the unambiguous trio: window positions only, and the no-cleavage bin on its own
    np.testing.assert_allclose(eff["max_abs_delta_cleavage"], np.abs(d[:, :205]).max(1), atol=1e-6, rtol=0)
    assert (eff["max_abs_delta_cleavage_position"] <= 204).all()
    picked = np.abs(d[np.arange(len(d)), eff["max_abs_delta_cleavage_position"]])
    np.testing.assert_allclose(picked, np.abs(d[:, :205]).max(1), atol=1e-6, rtol=0)
    np.testing.assert_allclose(eff["delta_no_cleavage"], d[:, 205], atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("aparent2")
    write_fasta(d / "g.fa", {"chr3": CONTIG})
    # TP '+' ends at 1-based 2000 (window 0-based [1899, 2104), anchor split at 1969);
    # TM '-' starts at 1-based 3001 (window [2896, 3101), split at 3031)
    write_gtf(d / "a.gtf", [gtf_line("chr3", "transcript", 1001, 2000, "+", "TP", "GP"),
                            gtf_line("chr3", "exon", 1001, 2000, "+", "TP", "GP"),
                            gtf_line("chr3", "transcript", 3001, 4000, "-", "TM", "GM"),
                            gtf_line("chr3", "exon", 3001, 4000, "-", "TM", "GM"),
                            gtf_line("chr3", "transcript", 4850, 4990, "+", "TE", "GE")])
    write_vcf(d / "v.vcf", [
        ("chr3", 1971, "snv_at_pas", b(1971), other_base(b(1971))),
        ("chr3", 1960, "ins_5p", b(1960), b(1960) + "AAA"),        # left of the anchor: trims the 5' end
        ("chr3", 2100, "del_3p_end", CONTIG[2099:2103], b(2100)),  # near the window's 3' end
        ("chr3", 1900, "snv_first", b(1900), other_base(b(1900))),      # window index 0
        ("chr3", 3040, "m_del", CONTIG[3039:3042], b(3040)),
        ("chr3", 4900, "edge", b(4900), other_base(b(4900))),
        ("chr3", 2500, "between", b(2500), other_base(b(2500))),
    ], {"chr3": len(CONTIG)})
    return d


def run(genome, out, model_name="APARENT2"):
    return main(["score", "--model", model_name, "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(genome / "v.vcf"), "-o", str(out), "--quiet"])


def test_score_tsv_and_parquet(genome, tmp_path, model):
    assert run(genome, tmp_path / "s.tsv") == 0
    assert run(genome, tmp_path / "s.parquet") == 0
    t = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    q = pd.read_parquet(tmp_path / "s.parquet")
    assert list(t.variant_id) == ["snv_at_pas", "ins_5p", "del_3p_end", "snv_first", "m_del"]
    assert list(t.feature_id) == ["TP"] * 4 + ["TM"]
    assert "delta_cut_prob" not in t.columns and len(q.delta_cut_prob[0]) == 206 and len(q.ref_cut_prob[0]) == 206
    np.testing.assert_allclose(q.delta_logodds_narrow, t.delta_logodds_narrow, atol=1e-9)
    skipped = pd.read_csv(str(tmp_path / "s.tsv") + ".skipped.tsv", sep="\t")
    assert dict(zip(skipped.variant_id, skipped.reason)) == {"edge": "window_past_contig_end"}
    ids = record_ids(genome / "v.vcf")  # the allele outside every window: in the runs of OUT.outside.tsv
    assert [(ids[r], reason) for r, _, reason in outside_alleles(tmp_path / "s.tsv")] == [("between",
                                                                                       "not_in_pas_window")]
    summary = json.loads(open(str(tmp_path / "s.tsv") + ".summary.json").read())
    assert (summary["alleles"], summary["scored_alleles"], summary["skipped_alleles"]) == (7, 5, 2)
    # exact windows, then values equal a direct prediction on them
    ref_p = CONTIG[1899:2104]
    assert ref_p[100] == b(2000)
    alt = [ref_p[:71] + other_base(b(1971)) + ref_p[72:],
           CONTIG[1902:1960] + "AAA" + CONTIG[1960:2104],
           CONTIG[1899:2100] + CONTIG[2103:2107],
           other_base(b(1900)) + ref_p[1:]]
    ref_m = reverse_complement(CONTIG[2896:3101])
    alt.append(reverse_complement(CONTIG[2896:3040] + CONTIG[3042:3103]))
    assert all(len(s) == 205 for s in alt)
    windows_out = tmp_path / "w.tsv"
    assert main(["windows", "--model", "APARENT2", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(genome / "v.vcf"), "-o", str(windows_out), "--quiet"]) == 0
    w = pd.read_csv(windows_out, sep="\t")
    assert list(w.alt_seq) == alt and list(w.ref_seq) == [ref_p] * 4 + [ref_m]
    direct_ref = model.predict_sequences([ref_p, ref_m])
    direct_alt = model.predict_sequences(alt)
    np.testing.assert_allclose(t.ref_iso_prob, direct_ref["iso_prob"][[0, 0, 0, 0, 1]], atol=1e-6, rtol=0)
    np.testing.assert_allclose(t.alt_iso_prob, direct_alt["iso_prob"], atol=1e-6, rtol=0)
    eff = aparent2_effects({k: v[[0, 0, 0, 0, 1]] for k, v in direct_ref.items()}, direct_alt)
    np.testing.assert_allclose(t.delta_logodds_narrow, eff["delta_logodds_narrow"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(t.delta_logodds, eff["delta_logodds"], atol=1e-5, rtol=0)
    assert list(t.argmax_abs_delta_cut_prob) == list(eff["argmax_abs_delta_cut_prob"])
