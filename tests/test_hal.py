"""HAL (hexamer additive linear model): the table layout, both readings, effects, loading, Kipoi.

The published HAL_mer_scores.npz is not needed: every test writes a random table in the published
layout (np.savez, key ``weights``, shape (4096, 8)) and checks seqzoo against a plain loop written
here from the formulas of kipoi/models HAL/model.py (default reading) and of MultiMolecule's HAL
module (``mode="averaged"``).
"""
from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import seqzoo
from seqzoo.keras_h5 import ConversionError
from seqzoo.nets import hal

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "HAL"
URL = "https://zenodo.org/record/1466088/files/HAL_mer_scores.npz?download=1"
MD5 = "4db740f6b72345db5303c106ed6aad61"

# ---- an independent reference -----------------------------------------------------------------
#: hexamers in the table's row order, built as Kipoi's make_mer_list does (append each of A, T, C, G)
MERS = ["".join(p) for p in itertools.product("ATCG", repeat=6)]
ROW = {m: i for i, m in enumerate(MERS)}
#: Kipoi's loops: (range of hexamer starts, column)
KIPOI_LOOPS = [(range(40), 0), (range(40, 70), 1), ([77], 2), ([78], 3), ([79], 4), ([80], 5),
               (range(86, 120 - 5), 6), (range(115, 155), 7)]


def reference_score(seq: str, w: np.ndarray) -> float:
    """Kipoi's HALModel.predict_seq, except that hexamers with a non-ACGT base add 0 (Kipoi: KeyError).

    Mirrors the original arithmetic: w/6 added to each of the hexamer's six positions, then the sum.
    """
    seq = seq.upper().replace("U", "T")
    per_pos = [0.0] * 160
    for starts, col in KIPOI_LOOPS:
        for b in starts:
            mer = seq[b:b + 6]
            if mer not in ROW:
                continue
            for p in range(b, b + 6):
                per_pos[p] += float(w[ROW[mer], col]) / 6.0
    return math.fsum(per_pos)


def reference_averaged(seq: str, w: np.ndarray) -> float:
    """MultiMolecule's reading: mean of the 8 columns per hexamer, normalised hexamer frequencies."""
    seq = seq.upper().replace("U", "T")
    counts: dict[int, int] = {}
    for b in range(len(seq) - 5):
        mer = seq[b:b + 6]
        if mer in ROW:
            counts[ROW[mer]] = counts.get(ROW[mer], 0) + 1
    total = max(sum(counts.values()), 1)
    return sum(n / total * float(np.mean(w[row])) for row, n in counts.items())


def write_table(path, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """A random table in the published layout; returns it."""
    w = np.random.default_rng(seed).normal(0, 1, size=(4096, 8)).astype(dtype)
    np.savez(path, weights=w)
    return w


def random_windows(rng, n, alphabet="ACGT", length=160):
    return ["".join(rng.choice(list(alphabet), size=length)) for _ in range(n)]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("hal") / "HAL_mer_scores.npz"
    return path, write_table(path, seed=3)


def hal_registered() -> bool:
    assert "HAL" in seqzoo.list_models()
    return True


# ---- table layout ------------------------------------------------------------------------------
def test_row_order_is_ATCG_first_base_most_significant():
    assert [hal.hexamer_row(m) for m in MERS] == list(range(4096))
    assert hal.hexamer_row("AAAAAT") == 1 and hal.hexamer_row("TAAAAA") == 1024
    assert hal.hexamer_row("ACGTTT") == 0 * 1024 + 2 * 256 + 3 * 64 + 1 * 16 + 1 * 4 + 1  # = 725
    assert hal.hexamer_row("acgutt") == 725
    with pytest.raises(ValueError):
        hal.hexamer_row("ACGTTN")


def test_columns_of_starts():
    col = hal.COLUMN_OF_START
    assert len(col) == 155
    expected = [0] * 40 + [1] * 30 + [-1] * 7 + [2, 3, 4, 5] + [-1] * 5 + [6] * 29 + [7] * 40
    assert col.tolist() == expected


def test_one_hexamer_at_each_start_uses_its_column(table):
    path, w = table
    model = hal.from_npz(path)
    mer = "ACGTTT"
    seqs = ["N" * s + mer + "N" * (154 - s) for s in range(155)]
    got = model.predict_sequences(seqs)["score"]
    want = [w[725, hal.COLUMN_OF_START[s]] if hal.COLUMN_OF_START[s] >= 0 else 0.0 for s in range(155)]
    np.testing.assert_array_equal(got, want)
    got_avg = model.predict_sequences(seqs, mode="averaged")["score"]
    np.testing.assert_allclose(got_avg, np.full(155, w[725].mean()), rtol=0, atol=1e-15)


# ---- both readings against the reference loops ---------------------------------------------------
def test_random_windows_match_the_reference_loop(table):
    path, w = table
    rng = np.random.default_rng(5)
    seqs = random_windows(rng, 60)
    # N, IUPAC codes, lower case, U, a window without any full hexamer
    seqs += random_windows(rng, 30, "ACGTACGTACGTNacgtRY")
    seqs += [s.lower() for s in random_windows(rng, 5)]
    seqs += ["N" * 160, "ACGTN" * 32, "acgu" * 40, "ACGXTN" * 26 + "ACGT", "Y" + "ACGT" * 39 + "ACG"]
    model = hal.from_npz(path)
    got = model.predict_sequences(seqs, batch_size=16)["score"]
    assert got.dtype == np.float64 and got.shape == (len(seqs),)
    want = np.array([reference_score(s, w) for s in seqs])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert got[len(seqs) - 5] == 0.0  # all N
    with pytest.raises(ValueError, match=r"^sequence 1 holds '\*' at index 3 \(0-based\), which is not a nucleotide"):
        model.predict_sequences([seqs[0], "ACG*T-" * 26 + "ACGT"])  # (not a sequence: refused, not read as N)
    np.testing.assert_allclose(hal.from_npz(path, mode="averaged").predict_sequences(seqs)["score"],
                               [reference_averaged(s, w) for s in seqs], rtol=0, atol=1e-12)
    # the mode per call; batch size and order do not matter
    np.testing.assert_array_equal(model.predict_sequences(seqs, mode="kipoi", batch_size=1)["score"], got)
    assert model.mode == "kipoi"


def test_lower_case_and_u_read_as_upper_case_t(table):
    path, w = table
    model = hal.from_npz(path)
    seqs = random_windows(np.random.default_rng(8), 4)
    variants = [s.lower() for s in seqs] + [s.replace("T", "U") for s in seqs]
    for mode in hal.MODES:
        a = model.predict_sequences(seqs * 2, mode=mode)["score"]
        b = model.predict_sequences(variants, mode=mode)["score"]
        np.testing.assert_array_equal(a, b)


def test_n_only_removes_the_hexamers_that_hold_it(table):
    path, w = table
    s = random_windows(np.random.default_rng(9), 1)[0]
    with_n = s[:100] + "N" + s[101:]
    model = hal.from_npz(path)
    d = model.predict_sequences([s])["score"][0] - model.predict_sequences([with_n])["score"][0]
    lost = sum(w[ROW[s[b:b + 6]], hal.COLUMN_OF_START[b]] for b in range(95, 101) if hal.COLUMN_OF_START[b] >= 0)
    assert d == pytest.approx(lost, abs=1e-12)
    # averaged: 149 hexamers left, their mean effect
    avg = model.predict_sequences([with_n], mode="averaged")["score"][0]
    effects = [w[ROW[with_n[b:b + 6]]].mean() for b in range(155) if "N" not in with_n[b:b + 6]]
    assert len(effects) == 149 and avg == pytest.approx(np.mean(effects), abs=1e-12)


def test_float32_table_and_float64_scores(tmp_path):
    w = write_table(tmp_path / "t.npz", seed=11, dtype=np.float32)
    seqs = random_windows(np.random.default_rng(1), 10)
    got = hal.from_npz(tmp_path / "t.npz").predict_sequences(seqs)["score"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [reference_score(s, w.astype(np.float64)) for s in seqs], rtol=0, atol=1e-9)


def test_window_length_and_mode_are_checked(table):
    model = hal.from_npz(table[0])
    with pytest.raises(ValueError, match="160-nt windows.*sequence 1 has length 159"):
        model.predict_sequences(["A" * 160, "A" * 159])
    with pytest.raises(ValueError, match="mode"):
        model.predict_sequences(["A" * 160], mode="mean")
    with pytest.raises(ValueError, match="mode"):
        hal.from_npz(table[0], mode="Kipoi")
    assert model.predict_sequences([])["score"].shape == (0,)


# ---- effects -----------------------------------------------------------------------------------
def test_effects_delta_and_sigmoid():
    ref = {"score": np.array([0.0, 1.5, -2.0, 0.0, 0.0])}
    alt = {"score": np.array([0.0, 0.5, 1.0, 800.0, -800.0])}
    with np.errstate(all="raise"):
        eff = hal.hal_effects(ref, alt)
    np.testing.assert_array_equal(eff["delta"], [0.0, -1.0, 3.0, 800.0, -800.0])
    np.testing.assert_allclose(eff["sigmoid_delta"], [0.5, 1 / (1 + math.e), 1 / (1 + math.exp(-3)), 1.0, 0.0],
                               rtol=0, atol=1e-15)


# ---- loading -----------------------------------------------------------------------------------
def test_from_npz_validates_key_shape_and_format(tmp_path):
    np.savez(tmp_path / "key.npz", coefficients=np.zeros((4096, 8)))
    with pytest.raises(ConversionError, match=r"key\.npz has no array 'weights'.*coefficients"):
        hal.from_npz(tmp_path / "key.npz")
    np.savez(tmp_path / "shape.npz", weights=np.zeros((8, 4096)))
    with pytest.raises(ConversionError,
                       match=r"shape\.npz: array 'weights' has shape \(8, 4096\), expected \(4096, 8\)"):
        hal.from_npz(tmp_path / "shape.npz")
    np.savez(tmp_path / "text.npz", weights=np.full((4096, 8), "x"))
    with pytest.raises(ConversionError, match="text.npz.*dtype"):
        hal.from_npz(tmp_path / "text.npz")
    (tmp_path / "junk.npz").write_text("not an archive")
    with pytest.raises(ConversionError, match="junk.npz cannot be read as an .npz archive"):
        hal.from_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "plain.npy", np.zeros((4096, 8)))
    with pytest.raises(ConversionError, match="plain.npy is a plain .npy array"):
        hal.from_npz(tmp_path / "plain.npy")


def test_model_moves_with_to_and_has_no_trainable_parameters(table):
    model = hal.from_npz(table[0])
    assert model.device.type == "cpu" and not any(p.requires_grad for p in model.parameters())
    assert model.weights.dtype == hal.torch.float64


@pytest.mark.skipif(not hal.torch.cuda.is_available(), reason="no CUDA device here (CPU path tested above)")
def test_cuda_matches_cpu(table):
    path, w = table
    seqs = random_windows(np.random.default_rng(2), 300, "ACGTNacgt")
    cpu = hal.from_npz(path)
    gpu = hal.from_npz(path).to("cuda")
    for mode in hal.MODES:
        np.testing.assert_allclose(gpu.predict_sequences(seqs, mode=mode)["score"],
                                   cpu.predict_sequences(seqs, mode=mode)["score"], rtol=0, atol=1e-12)


# ---- registry, load_model --------------------------------------------------------------------------
def test_registry_entry_and_load_model(table):
    hal_registered()
    from seqzoo import registry
    spec = registry.get("HAL")
    assert (spec.weights.filename, spec.weights.url, spec.weights.md5) == ("HAL_mer_scores.npz", URL, MD5)
    assert spec.outputs == ("score",) and spec.effect_names == ("delta", "sigmoid_delta")
    assert "donor_ids" in spec.note_columns
    path, w = table
    seqs = random_windows(np.random.default_rng(4), 12, "ACGTNacgt")
    out = seqzoo.load_model("HAL", weights=path).predict_sequences(seqs)
    np.testing.assert_allclose(out["score"], [reference_score(s, w) for s in seqs], rtol=0, atol=1e-9)
    eff = spec.effects({"score": out["score"][:6]}, {"score": out["score"][6:]})
    np.testing.assert_allclose(eff["delta"], out["score"][6:] - out["score"][:6], rtol=0, atol=0)


# ---- Kipoi model directory --------------------------------------------------------------------------
def test_model_yaml_names_the_official_file():
    yaml = pytest.importorskip("yaml")
    descr = yaml.safe_load((MODEL_DIR / "model.yaml").read_text())
    assert descr["defined_as"] == "model.HALKipoiModel"
    assert descr["args"] == {"weights_url": URL, "weights_md5": MD5}
    assert "10.1016/j.cell.2015.09.054" in descr["info"]["cite_as"]
    if "HAL" in seqzoo.list_models():
        from seqzoo import registry
        official = registry.get("HAL").weights
        assert (descr["args"]["weights_url"], descr["args"]["weights_md5"]) == (official.url, official.md5)


def model_dir_with_weights(tmp_path, table_path) -> Path:
    """A copy of models/HAL whose model.yaml also passes ``weights: <generated table>``.

    kipoi 0.8.6 has no command-line override of model args (``kipoi test``/``predict`` take only
    ``--dataloader_args``), and $SEQZOO_WEIGHTS_DIR files are md5-checked against the published
    table, which is not available here; an explicit ``weights`` arg is used as given.
    """
    copy = tmp_path / "HAL"
    shutil.copytree(MODEL_DIR, copy, ignore=shutil.ignore_patterns("*.fai", "__pycache__"))
    text = (copy / "model.yaml").read_text()
    marker = f"  weights_md5: {MD5}\n"
    assert marker in text
    (copy / "model.yaml").write_text(text.replace(marker, marker + f"  weights: {table_path}\n"))
    return copy


def example_events():
    from seqzoo import registry
    from seqzoo.scoring import Skip, VariantWindows
    from seqzoo.windows.base import WindowPair
    ex = MODEL_DIR / "example_files"
    windows = VariantWindows(registry.get("HAL"), ex / "genome.fa", ex / "annotation.gtf")
    events = list(windows.events(ex / "variants.vcf"))
    return (windows.summary, [e for e in events if isinstance(e, WindowPair)],
            [e for e in events if isinstance(e, Skip)])


def test_example_files_are_small_and_exercise_the_skips():
    hal_registered()
    ex = MODEL_DIR / "example_files"
    assert sum((ex / n).stat().st_size for n in ("genome.fa", "annotation.gtf", "variants.vcf")) < 30_000
    summary, pairs, skips = example_events()
    summary.check()
    assert (summary.alleles, summary.rows, summary.skipped_alleles) == (62, 57, 5)  # as dataloader.yaml says
    assert {s.reason for s in skips if not s.feature_id} == {
        "ref_mismatch", "symbolic_alt", "not_in_donor_window", "contig_not_in_fasta", "window_past_contig_end"}
    assert any("," in p.notes["donor_ids"] for p in pairs)  # a shared donor
    assert {p.strand for p in pairs} == {"+", "-"}


def test_kipoi_dataloader_in_process(tmp_path, monkeypatch):
    hal_registered()
    kipoi = pytest.importorskip("kipoi")
    monkeypatch.chdir(ROOT)
    Dl = kipoi.get_dataloader_factory("models/HAL", "dir")
    assert Dl.model_name == "HAL"
    summary, pairs, skips = example_events()
    ex = MODEL_DIR / "example_files"
    dl = Dl(fasta_file=str(ex / "genome.fa"), gtf_file=str(ex / "annotation.gtf"), vcf_file=str(ex / "variants.vcf"),
            skip_report=str(tmp_path / "skipped.tsv"))
    batches = list(dl.batch_iter(batch_size=16))
    assert Dl.get_output_schema().compatible_with_batch(batches[0])
    assert [s for b in batches for s in b["inputs"]["ref"]] == [p.ref_seq for p in pairs]
    assert [s for b in batches for s in b["metadata"]["donor_ids"]] == [p.notes["donor_ids"] for p in pairs]


def test_kipoi_model_in_process(tmp_path, table, monkeypatch):
    hal_registered()
    kipoi = pytest.importorskip("kipoi")
    path, w = table
    copy = model_dir_with_weights(tmp_path, path)
    monkeypatch.chdir(tmp_path)
    model = kipoi.get_model(str(copy), source="dir")
    _, pairs, _ = example_events()
    x = {"ref": np.array([p.ref_seq for p in pairs[:20]]), "alt": np.array([p.alt_seq for p in pairs[:20]])}
    out = model.predict_on_batch(x)
    ref = np.array([reference_score(s, w) for s in x["ref"]])
    alt = np.array([reference_score(s, w) for s in x["alt"]])
    np.testing.assert_allclose(out["ref"]["score"], ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["alt"]["score"], alt, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["effect"]["delta"], alt - ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["effect"]["sigmoid_delta"], 1 / (1 + np.exp(ref - alt)), rtol=0, atol=1e-12)
    assert model.model.mode == "kipoi"


def test_kipoi_test_and_predict_with_a_generated_table(tmp_path, table):
    """`kipoi test` and `kipoi predict` on a copy of models/HAL that names the generated table."""
    hal_registered()
    import pandas as pd
    from test_kipoi import run_kipoi  # the shared Kipoi CLI runner (skips loudly without kipoi)

    path, w = table
    copy = model_dir_with_weights(tmp_path, path)
    proc = run_kipoi(["test", str(copy), "--source", "dir"], cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert "Successfully ran test_predict" in out
    summary, pairs, skips = example_events()
    assert f"rows={summary.rows}" in out

    ex = MODEL_DIR / "example_files"
    args = ('{"fasta_file": "%s", "gtf_file": "%s", "vcf_file": "%s", "skip_report": "%s"}'
            % (ex / "genome.fa", ex / "annotation.gtf", ex / "variants.vcf", tmp_path / "p.skipped.tsv"))
    run_kipoi(["predict", str(copy), "--source", "dir", "--dataloader_args", args, "-m", "-o",
               str(tmp_path / "p.tsv")], cwd=ROOT)
    t = pd.read_csv(tmp_path / "p.tsv", sep="\t", keep_default_na=False)
    assert len(t) == len(pairs)
    assert list(t["metadata/feature_id"]) == [p.feature_id for p in pairs]
    assert list(t["metadata/donor_ids"]) == [p.notes["donor_ids"] for p in pairs]
    ref = np.array([reference_score(p.ref_seq, w) for p in pairs])
    alt = np.array([reference_score(p.alt_seq, w) for p in pairs])
    np.testing.assert_allclose(t["preds/ref/score"], ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["preds/effect/delta"], alt - ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["preds/effect/sigmoid_delta"], 1 / (1 + np.exp(ref - alt)), rtol=0, atol=1e-6)
    assert (np.abs(t["preds/effect/delta"]) > 0).any()


# ---- the model card's table of both readings; the published table when present -----------------------
def test_readme_table_is_what_compare_readings_prints():
    from conftest import load_script
    mod = load_script("hal_compare_readings.py")
    table = mod.table_markdown(hal.HAL(mod.stand_in_table()))
    line = mod.agreement_line(hal.HAL(mod.stand_in_table()))
    readme = (MODEL_DIR / "README.md").read_text()
    assert table in readme and line in readme, "models/HAL/README.md is out of date:\n" + table + "\n\n" + line


def test_published_table_layout_and_kipoi_test():
    from conftest import require_weights, weights_dir
    from seqzoo.weights import md5sum
    path = require_weights("HAL_mer_scores.npz")
    assert md5sum(path) == MD5
    w = hal.read_table(path)
    assert w.shape == (4096, 8)
    seqs = random_windows(np.random.default_rng(6), 20, "ACGTN")
    got = hal.from_npz(path).predict_sequences(seqs)["score"]
    np.testing.assert_allclose(got, [reference_score(s, w) for s in seqs], rtol=0, atol=1e-9)
    hal_registered()
    from test_kipoi import run_kipoi
    proc = run_kipoi(["test", "models/HAL", "--source", "dir"], cwd=ROOT)
    assert "Successfully ran test_predict" in proc.stdout + proc.stderr, weights_dir()
