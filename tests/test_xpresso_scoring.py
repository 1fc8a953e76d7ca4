"""Xpresso end to end: TSS windows, half-life features, `seqzoo score` values and accounting."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import outside_alleles, record_ids, require_weights
from seqzoo.cli import main
from seqzoo.encoding import reverse_complement
from seqzoo.synthetic import gtf_line, other_base, random_sequence, write_fasta, write_gtf, write_vcf

CONTIG = random_sequence(np.random.default_rng(31), 40_000)


def b(pos1):
    return CONTIG[pos1 - 1]


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("xpresso")
    write_fasta(d / "g.fa", {"chr2": CONTIG})
    # GP '+' gene 1-based 10001-12000 (TSS 0-based 10000); GM '-' gene 25001-30000 (TSS 0-based 29999);
    # GE '+' too close to the contig start for a full window (TSS 0-based 1000)
    write_gtf(d / "a.gtf", [gtf_line("2", "gene", 10001, 12000, "+", "", "GP"),
                            gtf_line("2", "gene", 25001, 30000, "-", "", "GM"),
                            gtf_line("2", "gene", 1001, 2000, "+", "", "GE")])
    records = [
        ("2", 10001, "tss_snv", b(10001), other_base(b(10001))),
        ("2", 10001, "tss_ins", b(10001), b(10001) + "TT"),
        ("2", 9000, "up_del", CONTIG[8999:9004], b(9000)),
        ("2", 30000, "m_tss_snv", b(30000), other_base(b(30000))),
        ("2", 1500, "edge", b(1500), other_base(b(1500))),
        ("2", 20000, "between", b(20000), other_base(b(20000))),
    ]
    write_vcf(d / "v.vcf", records)
    (d / "hl.tsv").write_text("gene_id\tf1\tf2\tf3\tf4\tf5\tf6\nGP\t0.5\t-1\t0.25\t2\t0.1\t-0.3\n")
    return d


def run(genome, out, *extra):
    return main(["score", "--model", "Xpresso/human_median", "--fasta", str(genome / "g.fa"),
                 "--gtf", str(genome / "a.gtf"), "--vcf", str(genome / "v.vcf"), "-o", str(out), "--quiet", *extra])


def test_score_with_and_without_halflife(genome, tmp_path):
    require_weights("humanMedian_trainepoch.11-0.426.h5")
    import seqzoo
    model = seqzoo.load_model("Xpresso/human_median")
    assert run(genome, tmp_path / "z.tsv") == 0
    assert run(genome, tmp_path / "h.tsv", "--halflife-file", str(genome / "hl.tsv")) == 0
    z = pd.read_csv(tmp_path / "z.tsv", sep="\t")
    h = pd.read_csv(tmp_path / "h.tsv", sep="\t")
    assert list(z.variant_id) == ["tss_snv", "tss_ins", "up_del", "m_tss_snv"]  # VCF order
    assert list(z.feature_id) == ["GP", "GP", "GP", "GM"]
    assert list(z.halflife_source) == ["zeros"] * 4
    assert list(h.halflife_source) == ["file", "file", "file", "zeros_gene_not_in_file"]
    skipped = pd.read_csv(str(tmp_path / "z.tsv") + ".skipped.tsv", sep="\t")
    assert dict(zip(skipped.variant_id, skipped.reason)) == {"edge": "window_past_contig_end"}
    ids = record_ids(genome / "v.vcf")  # the allele outside every window: in the runs of OUT.outside.tsv
    assert [(ids[r], reason) for r, _, reason in outside_alleles(tmp_path / "z.tsv")] == [
        ("between", "not_in_promoter_window")]
    summary = json.loads(open(str(tmp_path / "z.tsv") + ".summary.json").read())
    assert (summary["alleles"], summary["scored_alleles"], summary["skipped_alleles"]) == (6, 4, 2)
    # values equal a direct prediction on the exact windows
    ref_p = CONTIG[3000:13500]
    alt_snv = ref_p[:7000] + other_base(b(10001)) + ref_p[7001:]
    alt_ins = ref_p[:7001] + "TT" + ref_p[7001:-2]
    alt_del = CONTIG[2996:9000] + CONTIG[9004:13500]  # deletion upstream: pulls sequence in at the 5' end
    ref_m = reverse_complement(CONTIG[29999 - 3499:29999 + 7001])
    alt_m = ref_m[:7000] + reverse_complement(other_base(b(30000))) + ref_m[7001:]
    seqs = [ref_p, alt_snv, alt_ins, alt_del, ref_m, alt_m]
    direct = model.predict_sequences(seqs)["expression"]
    np.testing.assert_allclose(z.ref_expression, direct[[0, 0, 0, 4]], atol=1e-5, rtol=0)
    np.testing.assert_allclose(z.alt_expression, direct[[1, 2, 3, 5]], atol=1e-5, rtol=0)
    np.testing.assert_allclose(z.delta_expression, direct[[1, 2, 3, 5]] - direct[[0, 0, 0, 4]], atol=1e-5)
    hl = np.array([[0.5, -1, 0.25, 2, 0.1, -0.3]], np.float32)
    with_hl = model.predict_sequences([ref_p, alt_snv], halflife=np.repeat(hl, 2, axis=0))["expression"]
    np.testing.assert_allclose(h.ref_expression[0], with_hl[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(h.alt_expression[0], with_hl[1], atol=1e-5, rtol=0)
    assert abs(with_hl[0] - direct[0]) > 1e-3  # the half-life features matter


def test_halflife_file_missing_genes_is_a_warning(genome, tmp_path, caplog):
    """Genes of the annotation that the half-life file lacks get zeros, and the run says how many
    (with examples); a file holding none of them (e.g. versioned IDs) says what to check."""
    def windows(hl):
        return main(["windows", "--model", "Xpresso/human_median", "--fasta", str(genome / "g.fa"),
                     "--gtf", str(genome / "a.gtf"), "--vcf", str(genome / "v.vcf"), "-o", str(tmp_path / "w.tsv"),
                     "--halflife-file", str(hl)])
    from seqzoo.windows import tss
    tss._WARNED.clear()  # (once per process: another test may have warned about this file)
    assert windows(genome / "hl.tsv") == 0
    err = caplog.text
    caplog.clear()
    assert windows(genome / "hl.tsv") == 0
    assert "half-life file" not in caplog.text  # said once
    assert (f"half-life file {genome / 'hl.tsv'} lacks 2 of the annotation's 3 genes (GE, GM): their Xpresso "
            f"windows get zeros (halflife_source=zeros_gene_not_in_file)") in err
    versioned = tmp_path / "versioned.tsv"
    versioned.write_text("gene_id\tf1\tf2\tf3\tf4\tf5\tf6\nGP.3\t0.5\t-1\t0.25\t2\t0.1\t-0.3\n")
    assert windows(versioned) == 0
    err = caplog.text
    caplog.clear()
    assert (f"half-life file {versioned} holds none of the annotation's 3 genes (file: GP.3; annotation: GE, GM, GP): "
            f"every Xpresso window gets zeros") in err and "version suffixes" in err
    full = tmp_path / "full.tsv"
    full.write_text("gene_id\tf1\tf2\tf3\tf4\tf5\tf6\n" + "".join(f"{g}\t0\t0\t0\t0\t0\t0\n" for g in ("GP", "GM", "GE")))
    assert windows(full) == 0
    assert "half-life file" not in caplog.text


def test_no_halflife_file_is_a_warning(genome, tmp_path, caplog):
    """Without --halflife-file every gene's features are zeros (Kipoi's default): said once, with the fix."""
    from seqzoo.windows import tss
    tss._WARNED.clear()
    argv = ["windows", "--model", "Xpresso/human_median", "--fasta", str(genome / "g.fa"), "--gtf",
            str(genome / "a.gtf"), "--vcf", str(genome / "v.vcf"), "-o", str(tmp_path / "w.tsv")]
    assert main(argv) == 0
    assert ("Xpresso: no half-life file (--halflife-file; halflife_file= in Python), so every window's six mRNA "
            "half-life features are zeros (the Kipoi wrapper's default: average features after the paper's "
            "standardisation; rows say halflife_source=zeros). Give a TSV of gene_id and the six features for "
            "gene-specific inputs.") in caplog.text
    assert set(pd.read_csv(tmp_path / "w.tsv", sep="\t").halflife_source) == {"zeros"}
    caplog.clear()
    assert main(argv) == 0
    assert "half-life" not in caplog.text  # once per process


def test_halflife_option_is_refused_for_other_models(genome, tmp_path, capsys):
    require_weights("Framepool_combined_residual.h5")  # (the weights load before the option check)
    code = main(["score", "--model", "Framepool", "--fasta", str(genome / "g.fa"), "--gtf", str(genome / "a.gtf"),
                 "--vcf", str(genome / "v.vcf"), "-o", str(tmp_path / "o.tsv"),
                 "--halflife-file", str(genome / "hl.tsv")])
    assert code == 2
    assert "--halflife-file does not apply to model Framepool (halflife_file= in Python)" in capsys.readouterr().err


def test_bad_halflife_file(genome, tmp_path, capsys):
    require_weights("humanMedian_trainepoch.11-0.426.h5")
    bad = tmp_path / "bad.tsv"
    bad.write_text("gene_id\ta\tb\tc\td\te\tf\nGP\t1\t2\tx\t4\t5\t6\n")
    assert run(genome, tmp_path / "o.tsv", "--halflife-file", str(bad)) == 2
    assert f"half-life file {bad}, line 2: the six features must be numbers" in capsys.readouterr().err
