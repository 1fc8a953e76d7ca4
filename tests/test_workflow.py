"""The sharded workflow (seqzoo shard -> seqzoo score per shard and model -> seqzoo merge, and the
Snakemake workflow around it) gives the same outputs as one single-process multi-model run."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from cyvcf2 import VCF

from conftest import ROOT, outside_alleles, record_ids, require_weights
from seqzoo import workflow
from seqzoo.cli import main
from seqzoo.synthetic import make_gene_model_dataset

MODELS = ["Framepool", "APARENT2"]
WEIGHTS = ["Framepool_combined_residual.h5",
           "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5"]
FLOAT = {"rtol": 1e-5, "atol": 1e-6}  # float32 model outputs, batched differently (see assert_same_outputs)
SNAKEMAKE = ROOT / ".venv-snakemake" / "bin" / "snakemake"


def _augment(vcf: Path, fasta_seq: str) -> None:
    """Adds records of every kind to the synthetic VCF: a multi-allelic record, a REF mismatch, a
    symbolic ALT, a duplicated record, a contig missing from the FASTA (a second VCF contig), and a
    chr1 record after it (an unsorted VCF: merged back in file order); beside the intergenic record,
    outside every feature, a record whose second ALT is '*' (skipped) between two outside alleles
    (two runs in OUT.outside.tsv, not one whose range holds the skipped allele)."""
    lines = vcf.read_text().splitlines()
    header = [x for x in lines if x.startswith("#")]
    body = [x.split("\t") for x in lines if not x.startswith("#")]
    utr = next(r for r in body if r[2] == "." and 11_000 <= int(r[1]) <= 11_060)  # a 5'UTR variant (gene 0)
    p = int(utr[1])
    base = fasta_seq[p - 1]
    others = [b for b in "ACGT" if b != base]
    extra = [["chr1", str(p), "multi", base, f"{others[0]},{others[1]}"],
             ["chr1", str(p), "mismatch", others[0], base],
             ["chr1", str(p), "symbolic", base, "<DEL>"],
             ["chr1", str(p), "dup", base, others[2]],
             ["chr1", str(p), "dup", base, others[2]]]
    at = body.index(utr) + 1
    body[at:at] = [r + ["50", "PASS", "."] for r in extra]
    far = next(r for r in body if r[2] == "intergenic")
    q = int(far[1])
    base_q = fasta_seq[q - 1]
    other_q = next(b for b in "ACGT" if b != base_q)
    at = body.index(far) + 1
    body[at:at] = [["chr1", str(q), "outside_star", base_q, f"{other_q},*", "50", "PASS", "."],
                   ["chr1", str(q), "outside_next", base_q, other_q, "50", "PASS", "."]]
    body += [["chrUn", "100", "unknown_contig", "A", "G", "50", "PASS", "."],
             ["chrUn", "200", "unknown_contig2", "C", "T", "50", "PASS", "."],
             ["chr1", str(p), "late", base, others[1], "50", "PASS", "."]]
    header.insert(-1, "##contig=<ID=chrUn,length=1000>")
    vcf.write_text("\n".join(header + ["\t".join(r) for r in body]) + "\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("workflow")
    paths = make_gene_model_dataset(d)
    seq = "".join(paths["fasta"].read_text().splitlines()[1:])
    _augment(paths["vcf"], seq)
    return paths


def _score(paths, vcf, out, models):
    return main(["score", "--model", ",".join(models), "--fasta", str(paths["fasta"]), "--gtf", str(paths["gtf"]),
                 "--vcf", str(vcf), "-o", str(out), "--quiet"])


def _single(paths, out_dir: Path, models=MODELS) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    assert _score(paths, paths["vcf"], out_dir / "single.parquet", models) == 0
    assert _score(paths, paths["vcf"], out_dir / "single.vcf.gz", models) == 0
    return {"parquet": out_dir / "single.parquet", "vcf": out_dir / "single.vcf.gz",
            "skipped": out_dir / "single.parquet.skipped.tsv", "summary": out_dir / "single.parquet.summary.json",
            "outside": out_dir / "single.parquet.outside.tsv"}


def assert_same_outputs(merged: dict, single: dict, models=MODELS) -> None:
    """Row for row: Parquet (schema, every column), the annotated VCF (header, every record, INFO),
    the skip report and the summary (byte for byte).

    Model outputs are float32 and depend in their last bits on how windows are batched (a shard's
    batches differ from the whole VCF's), so scores agree to float32 precision (FLOAT), not bitwise.
    """
    assert pq.read_schema(merged["parquet"]).remove_metadata() == pq.read_schema(single["parquet"]).remove_metadata()
    a, b = pd.read_parquet(merged["parquet"]), pd.read_parquet(single["parquet"])
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    for col in b.columns:
        x, y = a[col], b[col]
        first = y.dropna().iloc[0] if y.notna().any() else None
        if isinstance(first, (list, np.ndarray)):
            assert list(x.isna()) == list(y.isna()), col
            for u, v in zip(x, y):
                if v is not None:
                    np.testing.assert_allclose(np.asarray(u, float), np.asarray(v, float), **FLOAT)
        elif np.issubdtype(y.dtype, np.floating):
            np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), err_msg=col, **FLOAT)
        else:
            assert list(x) == list(y), col
    assert Path(merged["skipped"]).read_text() == Path(single["skipped"]).read_text()
    if "outside" in merged:
        assert Path(merged["outside"]).read_text() == Path(single["outside"]).read_text()
    assert json.loads(Path(merged["summary"]).read_text()) == json.loads(Path(single["summary"]).read_text())
    assert Path(merged["summary"]).read_text() == Path(single["summary"]).read_text()
    vm, vs = VCF(str(merged["vcf"])), VCF(str(single["vcf"]))
    assert _without_command(vm.raw_header) == _without_command(vs.raw_header)
    rm, rs = [str(r).rstrip("\n").split("\t") for r in vm], [str(r).rstrip("\n").split("\t") for r in vs]
    assert len(rm) == len(rs) > 0
    for x, y in zip(rm, rs):
        assert x[:7] == y[:7] and x[8:] == y[8:]
        ix, iy = (dict(f.partition("=")[::2] for f in r[7].split(";")) for r in (x, y))
        assert ix.keys() == iy.keys(), (x, y)
        for key in ix:
            if not key.startswith("SEQZOO_"):
                assert ix[key] == iy[key]
                continue
            ex, ey = [e.split("|") for e in ix[key].split(",")], [e.split("|") for e in iy[key].split(",")]
            assert [e[:5] for e in ex] == [e[:5] for e in ey], key  # Allele|Consequence|Feature|Gene|STRAND
            np.testing.assert_allclose(np.array([e[5:] for e in ex], float), np.array([e[5:] for e in ey], float),
                                       rtol=2e-5, atol=1e-5)  # INFO holds 6 significant digits
    for m in models:
        assert any(f"SEQZOO_{m}=" in r[7] for r in rm), m


def test_shard_splits_by_contig_and_size_keeping_file_order(data, tmp_path):
    vcf = data["vcf"]
    gz = tmp_path / "v.vcf.gz"
    with open(vcf, "rb") as src, gzip.open(gz, "wb") as dst:  # plain gzip reads the same as bgzip here
        shutil.copyfileobj(src, dst)
    body = [x for x in vcf.read_text().splitlines() if not x.startswith("#")]
    for source in (vcf, gz):
        out = tmp_path / ("shards_" + source.name)
        shards = workflow.shard(source, out, 20)
        assert shards == workflow.read_manifest(out / "manifest.tsv")
        assert [s.contig for s in shards] == ["chr1"] * 4 + ["chrUn", "chr1"]
        assert [s.n_records for s in shards] == [20, 20, 20, 8, 2, 1]
        assert [s.first_record for s in shards] == [1, 21, 41, 61, 69, 71]
        joined = []
        for s in shards:
            text = (out / f"{s.name}.vcf").read_text().splitlines()
            assert [x for x in text if x.startswith("#")] == [x for x in vcf.read_text().splitlines() if x.startswith("#")]
            joined += [x for x in text if not x.startswith("#")]
        assert joined == body
    empty = tmp_path / "empty.vcf"
    empty.write_text("".join(x + "\n" for x in vcf.read_text().splitlines() if x.startswith("#")))
    assert [(s.name, s.n_records) for s in workflow.shard(empty, tmp_path / "e", 5)] == [("shard_00000", 0)]
    with pytest.raises(ValueError):
        workflow.shard(vcf, tmp_path / "bad", 0)


@pytest.mark.parametrize("models,per_shard", [(MODELS, 7), (["APARENT2"], 30)])
def test_merge_of_shards_equals_single_run(data, tmp_path, models, per_shard):
    """No Snakemake: shard, score each shard per model in-process, merge, compare."""
    for f in WEIGHTS:
        require_weights(f)
    single = _single(data, tmp_path / "single", models)
    shards = workflow.shard(data["vcf"], tmp_path / "shards", per_shard)
    for s in shards:
        for m in models:
            out = workflow.part_path(tmp_path / "parts", m, s.name)
            assert _score(data, tmp_path / "shards" / f"{s.name}.vcf", out, [m]) == 0
    # a shard whose part has no rows at all for a model is part of the test
    assert any(pq.read_metadata(workflow.part_path(tmp_path / "parts", m, s.name)).num_rows == 0
               for s in shards for m in models)
    merged = {"parquet": tmp_path / "m.parquet", "vcf": tmp_path / "m.vcf.gz", "skipped": tmp_path / "m.skipped.tsv",
              "summary": tmp_path / "m.summary.json", "outside": tmp_path / "m.parquet.outside.tsv"}
    workflow.merge(tmp_path / "shards" / "manifest.tsv", tmp_path / "parts", models, data["vcf"], merged["parquet"],
                   merged["vcf"], merged["skipped"], merged["summary"])
    assert_same_outputs(merged, single, models)
    skipped = pd.read_csv(merged["skipped"], sep="\t", keep_default_na=False)
    reasons = dict(zip(skipped.variant_id, skipped.reason))
    assert reasons["mismatch"] == "ref_mismatch" and reasons["unknown_contig"] == "contig_not_in_fasta"
    ids = record_ids(data["vcf"])
    outside = {ids[r]: reason for r, _, reason in outside_alleles(tmp_path / "m.parquet", data["vcf"])}
    assert outside["intergenic"] == ("no_window_in_any_model" if len(models) > 1 else "not_in_pas_window")


def test_merge_refuses_a_manifest_that_does_not_match(data, tmp_path):
    for f in WEIGHTS:
        require_weights(f)
    workflow.shard(data["vcf"], tmp_path / "shards", 10)
    other = tmp_path / "other.vcf"
    lines = data["vcf"].read_text().splitlines()
    other.write_text("\n".join(lines[:-3]) + "\n")
    for m in MODELS:
        for s in workflow.read_manifest(tmp_path / "shards" / "manifest.tsv"):
            p = workflow.part_path(tmp_path / "parts", m, s.name)
            p.parent.mkdir(parents=True, exist_ok=True)
            assert _score(data, tmp_path / "shards" / f"{s.name}.vcf", p, [m]) == 0
    with pytest.raises(ValueError, match="manifest does not match"):
        workflow.merge(tmp_path / "shards" / "manifest.tsv", tmp_path / "parts", MODELS, other, tmp_path / "m.parquet")


def _seqzoo_executable() -> str:
    """The seqzoo console script of the environment running the tests."""
    exe = Path(sys.executable).parent / "seqzoo"
    return str(exe) if exe.is_file() else shutil.which("seqzoo") or "seqzoo"


def test_snakemake_workflow_equals_single_run(data, tmp_path):
    if not SNAKEMAKE.is_file():
        pytest.skip(f"SKIPPED LOUDLY: {SNAKEMAKE} not found, the Snakemake workflow is NOT tested. Create it with: "
                    f"cd {ROOT} && python3 -m venv .venv-snakemake && "
                    f".venv-snakemake/bin/pip install -c constraints-snakemake.txt snakemake")
    for f in WEIGHTS:
        require_weights(f)
    seqzoo = _seqzoo_executable()
    help_text = subprocess.run([seqzoo, "--help"], capture_output=True, text=True).stdout
    assert "shard" in help_text and "merge" in help_text, f"{seqzoo} has no shard/merge subcommands"
    single = _single(data, tmp_path / "single")
    out = tmp_path / "wf"
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "vcf": str(data["vcf"]), "fasta": str(data["fasta"]), "gtf": str(data["gtf"]), "outdir": str(out),
        "models": MODELS, "records_per_shard": 25, "seqzoo": seqzoo}))
    proc = subprocess.run([str(SNAKEMAKE), "-s", str(ROOT / "workflow" / "Snakefile"), "-j2", "--configfile",
                           str(config), "--directory", str(tmp_path)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=600)
    logs = "\n".join(f"--- {p}\n{p.read_text()}" for p in sorted((out / "logs").rglob("*.log"))) \
        if (out / "logs").is_dir() else ""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:] + logs[-5000:]
    manifest = workflow.read_manifest(out / "shards" / "manifest.tsv")
    assert len(manifest) == 5 and {s.contig for s in manifest} == {"chr1", "chrUn"}
    merged = {"parquet": out / "merged.parquet", "vcf": out / "merged.vcf.gz", "skipped": out / "merged.skipped.tsv",
              "summary": out / "merged.summary.json", "outside": out / "merged.outside.tsv"}
    assert_same_outputs(merged, single)
    # the console shows what a single run prints: each distinct warning of the jobs once, the summary line
    console = proc.stdout + proc.stderr
    summary = json.loads(merged["summary"].read_text())
    assert f"seqzoo merge {','.join(MODELS)}: records={summary['records']} alleles={summary['alleles']} " in console
    assert console.count("seqzoo: WARNING: VCF contig 'chrUn' matches no FASTA contig") == 1
    assert f"seqzoo workflow: wrote {out}/merged.parquet, merged.vcf.gz, merged.skipped.tsv" in console


def test_snakemake_config_mistakes_are_named_before_any_job(data, tmp_path):
    """A misspelled config key gets the key meant; a missing input file is named with its key before
    the VCF is sharded (else every score job fails on it)."""
    if not SNAKEMAKE.is_file():
        pytest.skip(f"SKIPPED LOUDLY: {SNAKEMAKE} not found, the Snakemake workflow is NOT tested (see "
                    f"test_snakemake_workflow_equals_single_run)")
    base = {"vcf": str(data["vcf"]), "fasta": str(data["fasta"]), "gtf": str(data["gtf"]),
            "outdir": str(tmp_path / "wf"), "models": ["Framepool"], "seqzoo": _seqzoo_executable()}
    for change, message in (
            ({"records_per_shards": 10}, "config key `records_per_shards` is not a seqzoo workflow key (did you mean "
                                         "`records_per_shard`?); the keys are vcf, fasta, gtf, chrom_alias, outdir"),
            ({"fasta": str(tmp_path / "typo.fa")}, f"config key `fasta`: {tmp_path / 'typo.fa'} does not exist (a "
                                                   f"relative path is read from the folder snakemake runs in, "
                                                   f"{tmp_path})")):
        config = tmp_path / "config.yaml"
        config.write_text(json.dumps(dict(base, **change)))
        proc = subprocess.run([str(SNAKEMAKE), "-s", str(ROOT / "workflow" / "Snakefile"), "-j1", "--configfile",
                               str(config), "--directory", str(tmp_path)],
                              capture_output=True, text=True, env=dict(os.environ), timeout=300)
        assert proc.returncode != 0 and message in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        assert not (tmp_path / "wf").exists()


SCORE = {"Framepool": "mrl_fold_change", "APARENT2": "delta_logodds_narrow"}  # each model's first effect


def _without_command(header: str) -> str:
    """A VCF header without its ##seqzooCommand line (the runs' command lines differ)."""
    lines = header.splitlines()
    assert sum(x.startswith("##seqzooCommand=seqzoo ") for x in lines) == 1
    return "\n".join(x for x in lines if not x.startswith("##seqzooCommand="))


def _write_part(parts, model, shard_name, rows, skips, summary):
    """A part as `seqzoo score --model M -o part.parquet` writes it: every column of the model (NaN or
    zeros where the hand-made row gives nothing), record numbers local to the shard."""
    from seqzoo import registry
    from seqzoo.outputs import TableWriter
    from seqzoo.table import model_columns

    path = workflow.part_path(parts, model, shard_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = model_columns(registry.get(model), vectors=True)
    full = []
    for r in rows:
        r = dict(r)
        r[SCORE[model]] = r.pop("score")
        full.append({c.name: r[c.name] if c.name in r else np.zeros(c.shape, np.float32) if c.shape else
                     -1 if c.kind == "int" else "" if c.kind == "str" else np.nan for c in columns})
    writer = TableWriter(path, columns)
    writer.write(full)
    writer.close()
    header = "variant_id\tchrom\tpos\tref\talt\trecord\talt_index\tmodel\tfeature_id\treason\tdetail\n"
    Path(str(path) + ".skipped.tsv").write_text(header + "".join("\t".join(map(str, s)) + "\n" for s in skips))
    Path(str(path) + ".summary.json").write_text(json.dumps(summary))


def test_merge_skip_semantics_on_handmade_parts(tmp_path):
    """Without weights: feature-level skips of a scoring model are kept, an allele no model scores
    gets one row (common reason or no_window_in_any_model naming each), an allele-level problem one row."""
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "chr1\t10\ta\tA\tG\t.\t.\t.\nchr1\t20\tb\tC\tT\t.\t.\t.\nchr1\t30\tc\tG\tA\t.\t.\t.\n")
    shards = workflow.shard(vcf, tmp_path / "shards", 2)
    assert [(s.first_record, s.n_records) for s in shards] == [(1, 2), (3, 1)]
    parts = tmp_path / "parts"

    def row(vid, pos, ref, alt, fid, score, record=1):
        return dict(variant_id=vid, chrom="chr1", pos=pos, ref=ref, alt=alt, feature_id=fid, gene_id="G", strand="+",
                    score=score, record=record, alt_index=0)

    def summ(alleles, rows, scored, fskips=None):
        return {"alleles": alleles, "rows": rows, "scored_alleles": scored, "unmatched_contigs": {},
                "feature_skips_by_reason": fskips or {}}

    _write_part(parts, "Framepool", "shard_00000", [row("a", 10, "A", "G", "T1", 1.5)],
                [("a", "chr1", 10, "A", "G", 1, 0, "Framepool", "T2", "crosses_utr_exon_boundary", "T2 detail"),
                 ("b", "chr1", 20, "C", "T", 2, 0, "Framepool", "", "not_in_5utr", "no UTR")],
                summ(2, 1, 1, {"crosses_utr_exon_boundary": 1}))
    _write_part(parts, "APARENT2", "shard_00000", [row("a", 10, "A", "G", "T1", 2.5), row("a", 10, "A", "G", "T3", 3.5)],
                [("b", "chr1", 20, "C", "T", 2, 0, "APARENT2", "", "not_in_pas_window", "no PAS")], summ(2, 2, 1))
    for m in ("Framepool", "APARENT2"):
        _write_part(parts, m, "shard_00001", [], [("c", "chr1", 30, "G", "A", 1, 0, "", "", "ref_mismatch", "VCF REF=G")],
                    summ(1, 0, 0))
    out = tmp_path / "m.parquet"
    summary = workflow.merge(tmp_path / "shards" / "manifest.tsv", parts, ["Framepool", "APARENT2"], vcf, out,
                             tmp_path / "m.vcf")
    table = pd.read_parquet(out)
    assert list(table.columns[:2]) == ["model", "variant_id"]
    assert list(zip(table.model, table.feature_id)) == [("Framepool", "T1"), ("APARENT2", "T1"), ("APARENT2", "T3")]
    assert list(table.mrl_fold_change[:1]) == [1.5] and table.mrl_fold_change[1:].isna().all()
    assert list(table.delta_logodds_narrow[1:]) == [2.5, 3.5] and table.delta_logodds_narrow[:1].isna().all()
    assert Path(str(out) + ".skipped.tsv").read_text().splitlines()[1:] == [
        "a\tchr1\t10\tA\tG\t1\t0\tFramepool\tT2\tcrosses_utr_exon_boundary\tT2 detail",
        "c\tchr1\t30\tG\tA\t3\t0\t\t\tref_mismatch\tVCF REF=G"]
    # b lies outside both models' features: a run in OUT.outside.tsv, counted with the skipped alleles
    assert Path(str(out) + ".outside.tsv").read_text().splitlines()[1:] == [
        "2\t0\t2\t0\t1\tchr1:20\tchr1:20\tno_window_in_any_model"]
    d = summary.to_dict()
    assert (d["records"], d["alleles"], d["rows"], d["scored_alleles"]) == (3, 3, 3, 1)
    assert d["skipped_by_reason"] == {"no_window_in_any_model": 1, "ref_mismatch": 1}
    assert d["feature_skips_by_reason"] == {"crosses_utr_exon_boundary": 1}
    assert d["rows_by_model"] == {"APARENT2": 2, "Framepool": 1}
    assert json.loads(Path(str(out) + ".summary.json").read_text()) == d
    records = [x.split("\t") for x in (tmp_path / "m.vcf").read_text().splitlines() if not x.startswith("#")]
    assert [r[7] for r in records] == [  # the hand-made parts' NaN and -1
        "SEQZOO_Framepool=G|5_prime_UTR_variant|T1|G|1|1.5|nan|nan;SEQZOO_APARENT2=G|sequence_variant|T1|G|1|2.5|nan|"
        "nan|-1|nan|-1|nan,G|sequence_variant|T3|G|1|3.5|nan|nan|-1|nan|-1|nan", ".", "."]


def test_merge_of_a_vcf_without_records(data, tmp_path):
    for f in WEIGHTS:
        require_weights(f)
    empty = tmp_path / "empty.vcf"
    empty.write_text("".join(x + "\n" for x in data["vcf"].read_text().splitlines() if x.startswith("#")))
    paths = dict(data, vcf=empty)
    assert _score(paths, empty, tmp_path / "single.parquet", MODELS) == 0
    (s,) = workflow.shard(empty, tmp_path / "shards", 10)
    for m in MODELS:
        assert _score(paths, tmp_path / "shards" / f"{s.name}.vcf", workflow.part_path(tmp_path / "parts", m, s.name),
                      [m]) == 0
    workflow.merge(tmp_path / "shards" / "manifest.tsv", tmp_path / "parts", MODELS, empty, tmp_path / "m.parquet")
    assert pq.read_schema(tmp_path / "m.parquet") == pq.read_schema(tmp_path / "single.parquet")
    assert pq.read_metadata(tmp_path / "m.parquet").num_rows == 0
    for suffix in (".skipped.tsv", ".summary.json"):
        assert Path(f"{tmp_path}/m.parquet{suffix}").read_text() == Path(f"{tmp_path}/single.parquet{suffix}").read_text()


def test_snakemake_workflow_passes_the_chrom_alias_file(data, tmp_path):
    """Config key chrom_alias -> `seqzoo score --chrom-alias` in every score job: a VCF and GTF in
    RefSeq names against the FASTA's '1' give the rows of a single run with the same alias file."""
    if not SNAKEMAKE.is_file():
        pytest.skip(f"SKIPPED LOUDLY: {SNAKEMAKE} not found, the Snakemake workflow is NOT tested (see "
                    f"test_snakemake_workflow_equals_single_run)")
    require_weights(WEIGHTS[0])
    vcf = tmp_path / "refseq.vcf"
    vcf.write_text(data["vcf"].read_text().replace("chr1", "NC_000001.11"))
    gtf = tmp_path / "refseq.gtf"
    gtf.write_text("".join("NC_000001.11" + x[1:] if x.startswith("1\t") else x
                           for x in data["gtf"].read_text().splitlines(keepends=True)))
    alias = tmp_path / "hg.chromAlias.txt"
    alias.write_text("# ucsc\tassembly\trefseq\nchr1\t1\tNC_000001.11\n")
    single = tmp_path / "single.parquet"
    assert main(["score", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(gtf), "--vcf", str(vcf),
                 "-o", str(single), "--quiet", "--chrom-alias", str(alias)]) == 0
    out = tmp_path / "wf"
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"vcf": str(vcf), "fasta": str(data["fasta"]), "gtf": str(gtf),
                                  "chrom_alias": str(alias), "outdir": str(out), "models": ["Framepool"],
                                  "records_per_shard": 1000, "seqzoo": _seqzoo_executable()}))
    proc = subprocess.run([str(SNAKEMAKE), "-s", str(ROOT / "workflow" / "Snakefile"), "-j1", "--configfile",
                           str(config), "--directory", str(tmp_path)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=600)
    logs = "\n".join(f"--- {p}\n{p.read_text()}" for p in sorted((out / "logs").rglob("*.log"))) \
        if (out / "logs").is_dir() else ""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:] + logs[-5000:]
    merged, one = pd.read_parquet(out / "merged.parquet"), pd.read_parquet(single)
    assert len(one) > 0 and set(one.chrom) == {"NC_000001.11"}
    pd.testing.assert_frame_equal(merged[one.columns], one, rtol=1e-5, atol=1e-6)


def test_outside_runs_do_not_span_a_skipped_alt(data, tmp_path):
    """The intergenic record, then one whose second ALT is '*' (a spanning_deletion_alt skip row)
    and one more outside record: the single run's OUT.outside.tsv ends a run at the first ALT and
    starts another after the '*' (before, one run's range held the skipped ALT, which merge then took
    for an outside allele); the merged outputs equal it (test_merge_of_shards_equals_single_run)."""
    require_weights(WEIGHTS[1])
    out = tmp_path / "a.parquet"
    assert _score(data, data["vcf"], out, ["APARENT2"]) == 0
    ids = record_ids(data["vcf"])
    runs = pd.read_csv(f"{out}.outside.tsv", sep="\t")
    named = [(ids[a], i, ids[b], j, n) for a, i, b, j, n in zip(runs.first_record, runs.first_alt_index,
                                                               runs.last_record, runs.last_alt_index, runs.alleles)]
    star = next(k for k, x in enumerate(named) if x[2] == "outside_star")
    assert named[star] == ("intergenic", 0, "outside_star", 0, 2)  # not ... "outside_next", 0, 3
    assert named[star + 1][:2] == ("outside_next", 0)
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t", keep_default_na=False)
    row = skipped[skipped.variant_id == "outside_star"]
    assert list(zip(row.alt_index, row.reason)) == [(1, "spanning_deletion_alt")]
