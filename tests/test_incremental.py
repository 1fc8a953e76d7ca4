"""predict_edits (incremental alt predictions) equals full passes of the edited sequences.

Every test compares ``model.predict_edits`` with ``model.predict_sequences`` of the references and
of the literally edited strings, on thousands of random edits: SNVs, MNVs, insertions, deletions
and replacements, at window edges and inside the receptive field of an edge, next to N bases (in
the reference and in the allele), on short and long windows, many edits per window in one call.
Framepool and Xpresso need the published weights (skipped loudly without them); HAL uses random
tables in the published layout.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import require_weights

TOL = 1e-5


def random_seq(rng, length, n_frac=0.0, lower=False):
    s = rng.choice(list("ACGT"), length)
    if n_frac:
        s[rng.random(length) < n_frac] = "N"
    s = "".join(s)
    return s.lower() if lower else s


def edit_position(rng, length, edge_frac=0.4, reach=12):
    """A start in [0, length]: uniform, or within ``reach`` of an edge."""
    if rng.random() < edge_frac:
        pos = int(rng.integers(0, reach + 1)) if rng.random() < 0.5 else length - int(rng.integers(0, reach + 1))
        return int(np.clip(pos, 0, length))
    return int(rng.integers(0, length + 1))


def random_edits(rng, refs, n_edits, kinds=("snv", "mnv", "ins", "del", "complex"), alt_alphabet="ACGTN",
                 max_len=4):
    """(ref_index, starts, ends, alts) of random edits of the kinds named."""
    ref_index, starts, ends, alts = [], [], [], []
    while len(alts) < n_edits:
        r = int(rng.integers(len(refs)))
        length = len(refs[r])
        kind = kinds[len(alts) % len(kinds)]
        s = edit_position(rng, length)
        if kind in ("snv", "mnv"):
            n = 1 if kind == "snv" else int(rng.integers(2, max_len + 1))
            s = min(s, length - n)
            if s < 0:
                continue
            e, alt = s + n, "".join(rng.choice(list(alt_alphabet), n))
        elif kind == "ins":
            e, alt = s, "".join(rng.choice(list(alt_alphabet), int(rng.integers(1, max_len + 1))))
        elif kind == "del":
            e, alt = min(length, s + int(rng.integers(1, max_len + 1))), ""
        else:
            e = min(length, s + int(rng.integers(0, max_len + 1)))
            alt = "".join(rng.choice(list(alt_alphabet), int(rng.integers(0, max_len + 1))))
        ref_index.append(r)
        starts.append(s)
        ends.append(e)
        alts.append(alt)
    return np.array(ref_index), np.array(starts), np.array(ends), alts


def edited(refs, ref_index, starts, ends, alts):
    return [refs[r][:s] + a + refs[r][e:] for r, s, e, a in zip(ref_index, starts, ends, alts)]


def assert_matches_full(model, refs, ref_index, starts, ends, alts, tol=TOL, batch_size=64, **extra):
    """predict_edits (with ``batch_size``) vs full passes of the literal model; returns the max
    |delta| over all keys."""
    ref_out, alt_out = model.predict_edits(refs, ref_index, starts, ends, alts, batch_size=batch_size, **extra)
    per_ref = {k: np.asarray(v) for k, v in extra.items()
               if np.ndim(v) > 0 and np.shape(v)[0] == len(refs) and k in model.per_sequence_inputs}
    shared = {k: v for k, v in extra.items() if k not in per_ref}
    oracle = model.literal()  # full passes without the lookup tables predict_edits uses
    full_ref = oracle.predict_sequences(refs, **extra)
    full_alt = oracle.predict_sequences(edited(refs, ref_index, starts, ends, alts), **shared,
                                        **{k: v[ref_index] for k, v in per_ref.items()})
    worst = 0.0
    assert set(ref_out) == set(full_ref) and set(alt_out) == set(full_alt)
    for key in full_ref:
        assert ref_out[key].dtype == full_ref[key].dtype and ref_out[key].shape == full_ref[key].shape, key
        assert alt_out[key].dtype == full_alt[key].dtype and alt_out[key].shape == full_alt[key].shape, key
        d_ref = float(np.abs(ref_out[key].astype(np.float64) - full_ref[key]).max(initial=0))
        d_alt = np.abs(alt_out[key].astype(np.float64) - full_alt[key])
        assert d_ref <= tol, (key, d_ref)
        if d_alt.size and d_alt.max() > tol:
            i = int(d_alt.argmax())
            raise AssertionError(f"{key}: edit {i} (ref {ref_index[i]}, length {len(refs[ref_index[i]])}, "
                                 f"[{starts[i]}, {ends[i]}) -> {alts[i]!r}) differs by {d_alt[i]:.3g}")
        worst = max(worst, d_ref, float(d_alt.max(initial=0)))
    return worst


# -- Framepool ------------------------------------------------------------------------------------
def utr_refs(rng, lengths, n_frac=0.03):
    refs = []
    for i, length in enumerate(lengths):
        s = random_seq(rng, int(length), n_frac=n_frac if i % 2 else 0.0, lower=(i % 7 == 3))
        refs.append(s if any(c in "ACGTacgt" for c in s) else "A" + s[1:])
    return refs


def keep_with_bases(refs, ref_index, starts, ends, alts):
    """Drop edits whose alt has no A/C/G/T (Framepool refuses those; tested separately)."""
    keep = [i for i, s in enumerate(edited(refs, ref_index, starts, ends, alts)) if any(c in "ACGTacgt" for c in s)]
    return ref_index[keep], starts[keep], ends[keep], [alts[i] for i in keep]


def test_framepool_edits_mixed_lengths(framepool_model):
    """2,400 edits of every kind on 60 UTRs of 1..700 nt (with N), edges over-sampled."""
    rng = np.random.default_rng(1)
    lengths = np.concatenate([rng.integers(1, 31, 20), rng.integers(31, 250, 30), rng.integers(250, 700, 10)])
    refs = utr_refs(rng, lengths)
    edits = keep_with_bases(refs, *random_edits(rng, refs, 2400))
    assert len(edits[3]) > 2300
    worst = assert_matches_full(framepool_model, refs, *edits)
    assert worst < TOL


def test_framepool_many_edits_per_window_and_long_windows(framepool_model):
    """SNVs (every base and N) on a 1,000-nt UTR with an N run (all at the edges and the run,
    a sample elsewhere) and exhaustively on a 40- and a 5-nt UTR, plus indels, in one call; with a
    per-reference indicator and batch_size 1 (one reference per chunk)."""
    rng = np.random.default_rng(2)
    refs = [random_seq(rng, 1000, n_frac=0.01), random_seq(rng, 40), random_seq(rng, 5)]
    refs[0] = refs[0][:500] + "NNNNNN" + refs[0][506:]
    ri, st, en, al = [], [], [], []
    for r, ref in enumerate(refs):
        for pos in range(len(ref)):
            for base in "ACGTN":
                if base != ref[pos] and (r > 0 or pos < 20 or pos > 980 or 485 < pos < 520 or rng.random() < 0.05):
                    ri.append(r), st.append(pos), en.append(pos + 1), al.append(base)
    extra = random_edits(rng, refs, 400, kinds=("ins", "del", "complex", "mnv"), max_len=12)
    ri, st, en = (np.concatenate([np.array(a), b]) for a, b in zip((ri, st, en), extra[:3]))
    edits = keep_with_bases(refs, ri, st, en, al + extra[3])
    indicator = np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.7]], dtype=np.float32)
    assert len(edits[3]) > 1000
    assert assert_matches_full(framepool_model, refs, *edits, indicator=indicator, batch_size=1) < TOL
    sub = slice(0, None, 5)
    assert assert_matches_full(framepool_model, refs, edits[0][sub], edits[1][sub], edits[2][sub], edits[3][sub],
                               indicator=[1, 0]) < TOL


def test_framepool_short_utrs_and_edge_edits(framepool_model):
    """UTRs of 1..12 nt (frames pooled over zero padding below 3 nt): every substitution,
    insertion (0..3 nt) and deletion at every position."""
    rng = np.random.default_rng(3)
    refs = utr_refs(rng, list(range(1, 13)) * 2, n_frac=0.2)
    ri, st, en, al = [], [], [], []
    for r, ref in enumerate(refs):
        for s in range(len(ref) + 1):
            for e in range(s, min(len(ref), s + 3) + 1):
                for n in range(0, 4):
                    ri.append(r), st.append(s), en.append(e), al.append(random_seq(rng, n, n_frac=0.2))
    edits = keep_with_bases(refs, np.array(ri), np.array(st), np.array(en), al)
    assert len(edits[3]) > 1500
    assert assert_matches_full(framepool_model, refs, *edits) < TOL


def test_framepool_long_alleles(framepool_model):
    """Alleles and deletions longer than the receptive field (up to 80 nt), whole-UTR deletions
    leaving a few bases, insertions at both ends."""
    rng = np.random.default_rng(4)
    refs = utr_refs(rng, [60, 120, 300, 33])
    edits = random_edits(rng, refs, 300, kinds=("mnv", "ins", "del", "complex"), max_len=80)
    ri, st, en = (np.concatenate([a, b]) for a, b in zip(edits[:3], ([1, 2, 0, 3], [0, 300, 2, 0], [118, 300, 60, 0])))
    alts = edits[3] + ["", "ACGTACGTAC" * 5, "", "GATTACA"]
    assert assert_matches_full(framepool_model, refs, *keep_with_bases(refs, ri, st, en, alts)) < TOL


def test_framepool_edits_bad_input(framepool_model):
    with pytest.raises(ValueError, match="edit 1: \\[3, 9\\) is not a 0-based half-open range"):
        framepool_model.predict_edits(["ACGTACGT"], [0, 0], [1, 3], [2, 9], ["A", "C"])
    with pytest.raises(ValueError, match="edit 0: ref_index 2"):
        framepool_model.predict_edits(["ACGT", "ACG"], [2], [0], [1], ["A"])
    with pytest.raises(ValueError, match="ends has 2 entries"):
        framepool_model.predict_edits(["ACGT"], [0], [0], [1, 2], ["A"])
    with pytest.raises(ValueError, match="edit 1 leaves no A/C/G/T base"):
        framepool_model.predict_edits(["ACGT", "NAN"], [0, 1], [0, 1], [1, 2], ["A", "N"])
    with pytest.raises(ValueError, match="ref_seqs\\[1\\].*no A/C/G/T"):
        framepool_model.predict_edits(["ACGT", "NNN"], [0], [0], [1], ["A"])
    with pytest.raises(ValueError, match="indicator has shape"):
        framepool_model.predict_edits(["ACGT", "ACGG"], [0], [0], [1], ["A"], indicator=np.zeros((3, 2)))
    ref_out, alt_out = framepool_model.predict_edits(["ACGT"], np.zeros(0, int), [], [], [])
    assert alt_out["mrl"].shape == (0,) and ref_out["mrl"].shape == (1,)


# -- Xpresso --------------------------------------------------------------------------------------
XPRESSO_FILES = {"human": "humanMedian_trainepoch.11-0.426.h5", "mouse": "mouseMedian_trainepoch.05-0.278.h5"}
_XPRESSO: dict = {}


def xpresso(species):
    from seqzoo.nets.xpresso import from_keras_h5
    path = require_weights(XPRESSO_FILES[species])
    if species not in _XPRESSO:
        _XPRESSO[species] = from_keras_h5(path)
    return _XPRESSO[species]


def xpresso_refs(rng):
    refs = [random_seq(rng, 10_500) for _ in range(4)]
    refs[1] = refs[1][:5000] + "N" * 200 + refs[1][5200:]
    refs[2] = random_seq(rng, 10_500, n_frac=0.01)
    refs[3] = refs[3].lower()
    return refs


def xpresso_positions(rng, n):
    """Starts over-sampling the window edges, pool-1 cell (30 nt) and pool-2 cell (300 nt)
    boundaries, and the N run of reference 1."""
    special = np.concatenate([np.arange(0, 40), np.arange(10_460, 10_500), np.arange(4990, 5010), np.arange(5190, 5210),
                              (np.arange(1, 350)[:, None] * 30 + np.arange(-4, 4)).ravel(),
                              (np.arange(1, 35)[:, None] * 300 + np.arange(-40, 40, 7)).ravel()])
    return np.where(rng.random(n) < 0.5, rng.choice(special, n), rng.integers(0, 10_500, n))


@pytest.mark.parametrize("species", ["human", "mouse"])
def test_xpresso_substitutions(species):
    """1,500 SNVs / MNVs (1..40 nt, with N) at edges, cell boundaries and next to N, random
    half-lives per reference; plus every SNV of a 60-nt stretch (many edits per window)."""
    model = xpresso(species)
    rng = np.random.default_rng(10 if species == "human" else 11)
    refs = xpresso_refs(rng)
    n_edits = 1500 if species == "human" else 300
    lengths = np.where(rng.random(n_edits) < 0.5, 1, rng.integers(1, 41, n_edits))
    starts = np.minimum(xpresso_positions(rng, n_edits), 10_500 - lengths)
    ref_index = rng.integers(0, len(refs), n_edits)
    alts = [random_seq(rng, int(n), n_frac=0.1) for n in lengths]
    for pos in range(4970, 5030):
        for base in "ACGT":
            ref_index, starts = np.append(ref_index, 1), np.append(starts, pos)
            lengths = np.append(lengths, 1)
            alts.append(base)
    halflife = rng.normal(size=(len(refs), 6)).astype(np.float32)
    worst = assert_matches_full(model, refs, ref_index, starts, starts + lengths, alts, halflife=halflife,
                                batch_size=3)
    assert worst < TOL


@pytest.mark.parametrize("max_span", [None, 10_500])
def test_xpresso_long_substitutions_and_default_halflife(max_span, monkeypatch):
    """MNVs of hundreds of nt, across the whole window, and a whole-window replacement: spans over
    INCREMENTAL_MAX_SPAN by full passes (None: the default) or all incrementally (10,500)."""
    model = xpresso("human")
    if max_span is not None:
        monkeypatch.setattr(model, "INCREMENTAL_MAX_SPAN", max_span)
    assert model.INCREMENTAL_MAX_SPAN in (1000, 10_500)
    rng = np.random.default_rng(12)
    refs = xpresso_refs(rng)[:2]
    spans = [(0, 10_500), (0, 1), (10_499, 10_500), (100, 1100), (5000, 5200), (9000, 10_500), (0, 700), (2999, 3301)]
    ref_index = np.array([i % 2 for i in range(len(spans))])
    starts, ends = np.array(spans).T
    alts = [random_seq(rng, int(e - s), n_frac=0.05) for s, e in spans]
    assert assert_matches_full(model, refs, ref_index, starts, ends, alts) < TOL


def test_xpresso_edits_bad_input():
    model = xpresso("human")
    ref = "A" * 10_500
    with pytest.raises(ValueError, match="edit 1 .*changes the window length to 10501"):
        model.predict_edits([ref], [0, 0], [5, 7], [6, 8], ["C", "GG"])
    with pytest.raises(ValueError, match="sequence 0 has length 10499"):
        model.predict_edits([ref[1:]], [0], [5], [6], ["C"])
    with pytest.raises(ValueError, match="halflife has shape"):
        model.predict_edits([ref], [0], [5], [6], ["C"], halflife=np.zeros(6))
    ref_out, alt_out = model.predict_edits([ref], [], [], [], [])
    assert alt_out["expression"].shape == (0,) and ref_out["expression"].shape == (1,)


# -- HAL ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["kipoi", "averaged"])
def test_hal_substitutions(mode):
    """4,000 SNVs / MNVs (1..12 nt, replacements of 9..160 nt and whole windows; N, lower case, U,
    IUPAC in alleles and references) on random tables, both readings, against full passes (float64)."""
    from seqzoo.nets import hal
    rng = np.random.default_rng(20)
    model = hal.HAL(rng.normal(size=(4096, 8)), mode=mode)
    refs = [random_seq(rng, 160, n_frac=0.05 if i % 2 else 0.0, lower=(i % 5 == 4)) for i in range(40)]
    refs += ["N" * 160, "ACGU" * 40, "ACGTR" * 32]
    n_edits = 4000
    kind = rng.random(n_edits)  # SNVs, short MNVs, long replacements (anchored indels' edits)
    lengths = np.where(kind < 0.5, 1, np.where(kind < 0.85, rng.integers(1, 13, n_edits), rng.integers(9, 161, n_edits)))
    starts = np.array([min(edit_position(rng, 160, reach=8), 160 - n) for n in lengths])
    ref_index = rng.integers(0, len(refs), n_edits)
    alts = ["".join(rng.choice(list("ACGTNacgtuRY"), int(n))) for n in lengths]
    ref_index, starts = np.append(ref_index, [0, 40, 41]), np.append(starts, [0, 0, 70])
    ends = np.append(starts[:n_edits] + lengths, [160, 160, 86])
    alts += [random_seq(rng, 160), "N" * 160, random_seq(rng, 16)]
    worst = assert_matches_full(model, refs, ref_index, starts, ends, alts, tol=1e-9)
    assert worst < 1e-9
    # the mode per call overrides the model's
    other = "averaged" if mode == "kipoi" else "kipoi"
    _, alt_out = model.predict_edits(refs, ref_index, starts, ends, alts, mode=other)
    full = model.predict_sequences(edited(refs, ref_index, starts, ends, alts), mode=other)
    np.testing.assert_allclose(alt_out["score"], full["score"], rtol=0, atol=1e-9)


def test_hal_edits_on_another_device_are_full_passes(monkeypatch):
    """Where the table is not on the CPU (``--device cuda``), every alt is a full pass (on that
    device), as for the other models: checked here by faking the device and counting the windows
    ``predict_sequences`` sees."""
    from seqzoo.nets import hal
    rng = np.random.default_rng(21)
    model = hal.HAL(rng.normal(size=(4096, 8)), mode="kipoi")
    refs = [random_seq(rng, 160) for _ in range(3)]
    ref_index, starts = np.array([0, 1, 2, 2]), np.array([0, 80, 159, 10])
    ends, alts = starts + np.array([1, 1, 1, 5]), ["G", "n", "T", "ACGTA"]
    cpu_ref, cpu_alt = model.predict_edits(refs, ref_index, starts, ends, alts)
    seen = []
    full = hal.HAL.predict_sequences
    monkeypatch.setattr(hal.HAL, "device", property(lambda self: torch.device("meta")))
    monkeypatch.setattr(hal.HAL, "predict_sequences", lambda self, seqs, **kw: seen.append(list(seqs)) or
                        full(self, seqs, **kw))
    other_ref, other_alt = model.predict_edits(refs, ref_index, starts, ends, alts)
    assert seen == [refs, edited(refs, ref_index, starts, ends, alts)]
    np.testing.assert_allclose(other_ref["score"], cpu_ref["score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(other_alt["score"], cpu_alt["score"], rtol=0, atol=1e-9)


def test_hal_edits_bad_input():
    from seqzoo.nets import hal
    model = hal.HAL(np.ones((4096, 8)))
    ref = "ACGT" * 40
    with pytest.raises(ValueError, match="edit 0 .*changes the window length to 159"):
        model.predict_edits([ref], [0], [5], [6], [""])
    with pytest.raises(ValueError, match="sequence 0 has length 159"):
        model.predict_edits([ref[1:]], [0], [5], [6], ["C"])
    with pytest.raises(ValueError, match="mode"):
        model.predict_edits([ref], [0], [5], [6], ["C"], mode="mean")
    ref_out, alt_out = model.predict_edits([ref], np.zeros(0, int), [], [], [])
    assert alt_out["score"].shape == (0,) and ref_out["score"].dtype == np.float64


def test_framepool_forward_split_between_worker_threads_is_the_same(framepool_model, monkeypatch):
    """predict_sequences split between worker threads (SPLIT_MIN reached) equals the one-part pass."""
    import torch

    rng = np.random.default_rng(31)
    seqs = [random_seq(rng, int(n), n_frac=0.02) for n in rng.integers(3, 400, size=70)]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        whole = framepool_model.predict_sequences(seqs, batch_size=64)
        monkeypatch.setattr(framepool_model, "SPLIT_MIN", 2)
        split = framepool_model.predict_sequences(seqs, batch_size=64)
    finally:
        torch.set_num_threads(before)
    for k in whole:
        np.testing.assert_allclose(split[k], whole[k], atol=1e-5, rtol=0, err_msg=k)


@pytest.mark.parametrize("reverse", [False, True])
def test_framepool_running_max_scan(reverse):
    """The blocked running-max scan behind Framepool's pools equals torch.cummax for every length
    (fewer than two blocks, whole blocks, a partial block), from either end."""
    from seqzoo.nets.framepool_incremental import _cummax
    rng = np.random.default_rng(1)
    for n in list(range(1, 41)) + [75, 83, 334]:
        x = torch.from_numpy(rng.normal(size=(3, n, 5)).astype(np.float32))
        got = _cummax(x, torch.empty_like(x), reverse=reverse)
        want = torch.cummax(x.flip(1), dim=1).values.flip(1) if reverse else torch.cummax(x, dim=1).values
        assert torch.equal(got, want), n


@pytest.mark.parametrize("group", [2, 4, 8, 16, 32])
def test_framepool_kept_pools_equal_brute_force(group):
    """The pools of the parts of a reference an edit keeps (prefix of one residue up to a row, suffix
    of another from a row; either empty), from the group summaries plus gathered rows, equal a
    brute-force max and float64 sum on up to 3,000 random (block, left row, right row) queries per
    shape (blocks shorter than one group, step counts that are and are not multiples of the group),
    and the whole-block totals equal the per-frame pools of the trunk."""
    from seqzoo.nets import framepool_incremental as fi
    from seqzoo.nets.framepool import Framepool
    rng = np.random.default_rng(group)
    for n_blocks, width in [(3, 3), (2, 15), (4, 3 * 37), (2, 3 * 64), (1, 3 * 100)]:
        h2 = torch.from_numpy(rng.exponential(size=(n_blocks * width, 128)).astype(np.float32))
        h2[:3] = 0  # track row 0 is a padding row in a real state
        state = fi.ReferenceState(width, None, None, None, h2, h2, h2, h2, h2, None, None,
                                  fi.PoolSummary.of(h2, n_blocks, width, group), None)
        blocks = h2.numpy().reshape(n_blocks, width, 128).astype(np.float64)
        block, left, right = (a.reshape(-1) for a in np.meshgrid(np.arange(n_blocks), np.arange(width),
                                                                    np.arange(width), indexing="ij"))
        pick = rng.choice(block.size, size=min(block.size, 3000), replace=False)
        block, left, right = block[pick], left[pick], right[pick]
        left_empty, right_empty = rng.random(block.size) < 0.1, rng.random(block.size) < 0.1
        got_max, got_sum = fi._kept_pools(state, block, left, left_empty, right, right_empty)
        for q in range(block.size):
            rows = []
            if not left_empty[q]:
                rows += list(range(left[q] % 3, left[q] + 1, 3))
            if not right_empty[q]:
                rows += list(range(right[q], width, 3))
            part = blocks[block[q], rows]
            want_max = part.max(0) if rows else np.zeros(128)
            want_sum = part.sum(0) if rows else np.zeros(128)
            np.testing.assert_array_equal(got_max[q].numpy(), want_max.astype(np.float32))
            np.testing.assert_allclose(got_sum[q].numpy(), want_sum, rtol=1e-6, atol=0)
        total_max, total_sum = state.pools.totals()
        want_max, want_sum = Framepool.frame_pools_packed(h2, width)
        torch.testing.assert_close(total_max, want_max, rtol=0, atol=0)
        torch.testing.assert_close(total_sum.float(), want_sum, rtol=1e-6, atol=1e-5)


def test_framepool_summary_group():
    """The pool summaries' group balances track rows against edits: 4 steps at 20 edits per
    170-nt 5'UTR, 8 at 20 per 1,000 nt, 32 without edits, 2 at the densest."""
    from seqzoo.nets.framepool_incremental import summary_group
    assert [summary_group(r, e) for r, e in [(186 * 25, 500), (1017 * 16, 320), (1017, 0), (10, 1000)]] \
        == [4, 8, 32, 2]


def random_framepool(seed):
    """Framepool with random weights (no published file needed): the lookup identities hold for any."""
    from seqzoo.nets.framepool import Framepool
    torch.manual_seed(seed)
    return Framepool().eval()


def test_framepool_head_shifts_equal_assembled_head():
    """head_shifts (one GEMM per frame's [max, avg] pools, a gather per shift) equals the Keras
    head on the assembled 768-wide input of each shift: frames relabelled as SHIFT_FRAMES says,
    slots [max f0, f1, f2, avg f0, f1, f2]."""
    from seqzoo.nets.framepool import Framepool
    model = random_framepool(3)
    rng = np.random.default_rng(3)
    pmax = torch.from_numpy(rng.exponential(size=(37, 3, 128)).astype(np.float32))
    pavg = torch.from_numpy(rng.exponential(size=(37, 3, 128)).astype(np.float32))
    ind = torch.from_numpy(rng.random((37, 2)).astype(np.float32))
    with torch.inference_mode():
        mrl, unscaled = model.head_shifts(pmax, pavg, ind)
        for shift, frames in enumerate(Framepool.SHIFT_FRAMES):
            pooled = torch.cat([pmax[:, list(frames)].reshape(37, -1), pavg[:, list(frames)].reshape(37, -1)], 1)
            want_mrl, want_u = model.head(pooled, ind)
            torch.testing.assert_close(mrl[:, shift], want_mrl, rtol=0, atol=2e-6)
            torch.testing.assert_close(unscaled[:, shift], want_u, rtol=0, atol=2e-6)


def test_sliding_windows_equal_numpy():
    """The strided-view windows equal numpy's sliding_window_view (contiguous, sliced and 1-d
    inputs, windows as long as the input, no rows) and are read-only."""
    from seqzoo.nets.framepool import sliding_windows
    a = np.arange(5 * 40, dtype=np.int64).reshape(5, 40)
    for x, width in [(a, 7), (a[:, 3:30], 7), (a[1:4, ::2], 3), (a[0], 40), (a[:0], 7), (a.astype(np.uint8), 1)]:
        got = sliding_windows(x, width)
        np.testing.assert_array_equal(got, np.lib.stride_tricks.sliding_window_view(x, width, axis=-1))
        assert not got.flags.writeable


def test_framepool_kmer_numbers_name_their_7mers():
    """kmer_index numbers every 7-mer the tables hold by the table row of exactly that 7-mer
    (table_kmers decodes each number; no two numbers share a 7-mer): all 5^7 7-mers over A, C, G,
    T and N, of which the A/C/G/T ones and the edge 7-mers (1-3 Ns at one end only) have numbers;
    any other 7-mer with an N is -1, irregular where its centre is a base."""
    import itertools
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.nets.edits import NO_BASE
    windows = np.array(list(itertools.product((0, 1, 2, 3, NO_BASE), repeat=7)), dtype=np.uint8)
    number, irregular = fc.kmer_index(windows)  # each row one 7-mer: one position each
    number, irregular = number[:, 0], irregular[:, 0]
    kmers = fc.table_kmers()
    assert kmers.shape == (fc.TAP_ROWS, 7) and len(np.unique(kmers, axis=0)) == fc.TAP_ROWS
    held = number >= 0
    np.testing.assert_array_equal(np.sort(number[held]), np.arange(fc.TAP_ROWS))  # each number once
    np.testing.assert_array_equal(kmers[number[held]], windows[held])
    is_n = windows == NO_BASE
    pattern = (is_n * (1 << np.arange(7))).sum(-1)
    edge = np.isin(pattern, [1, 3, 7, 64, 96, 112])  # Ns at positions 0..k-1 or 7-k..6, k = 1..3
    np.testing.assert_array_equal(held, ~is_n.any(-1) | edge)
    np.testing.assert_array_equal(irregular, ~held & ~is_n[:, 3])
    # the same numbers for 7-mers read inside longer rows (positions 3 .. M - 4)
    rng = np.random.default_rng(45)
    codes = rng.integers(0, 4, (500, 30)).astype(np.uint8)
    codes[rng.random(codes.shape) < 0.2] = NO_BASE
    number_in_rows = fc.kmer_index(codes)[0]
    inside = np.lib.stride_tricks.sliding_window_view(codes, 7, axis=1).reshape(-1, 7)
    place = inside.astype(np.int64) @ (5 ** np.arange(6, -1, -1))  # its row in `windows` (NO_BASE is 4)
    np.testing.assert_array_equal(number_in_rows.reshape(-1), number[place])


def test_framepool_conv1_lookup_equals_tap_gemms():
    """Convolution 1 from the 7-mer table (conv1_lookup) equals the trunk's seven tap GEMMs on
    every row of a packed track: sequences of 1..400 nt, N runs and single Ns (the 7-mers with an
    N beside a base take the GEMM fallback, except the edge 7-mers, Ns at one end only, as at a
    sequence's first and last three positions, which have table rows), padding rows included; and
    on stacked windows."""
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.nets import framepool_incremental as fi
    from seqzoo.nets.edits import NO_BASE
    from seqzoo.nets.framepool import pack_codes
    model = random_framepool(0)
    rng = np.random.default_rng(40)
    seqs = [random_seq(rng, int(n), n_frac=0.05 if i % 3 else 0.0) for i, n in enumerate(rng.integers(1, 400, 60))]
    seqs[5] = seqs[5][:10] + "NNNNNNNN" + seqs[5][18:]
    codes, _ = pack_codes(seqs, gap=fi.PAD)
    w = fc.Conv1Weights(model)
    edge = np.full((1, 2 * fi.HALF), NO_BASE, dtype=np.uint8)
    with torch.inference_mode():
        want = model.trunk_packed(codes, keep_pre=True)["z1"]
        got = fc.conv1_lookup(w, np.concatenate([edge, codes.reshape(1, -1), edge], axis=1))[0]
        # windows: (E, M) codes, output rows = positions 6 .. M - 7 of each
        windows = np.lib.stride_tricks.sliding_window_view(codes.reshape(-1), 40)[::37]
        got_windows = fc.conv1_lookup(w, np.ascontiguousarray(windows))
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=2e-6)
    starts = np.arange(0, codes.size - 39, 37)
    want_windows = want[torch.from_numpy(starts[:, None] + np.arange(2 * fi.HALF, 40 - 2 * fi.HALF))]
    np.testing.assert_allclose(got_windows.numpy(), want_windows.numpy(), rtol=1e-6, atol=2e-6)
    number, irregular = fc.kmer_index(codes.reshape(1, -1))
    assert 100 < irregular.sum() < codes.size // 4  # the fallback rows were exercised
    edge_place = number[number >= fc.KMERS] - fc.KMERS  # and the edge 7-mers' rows, both ends
    assert (edge_place < sum(fc.EDGE_SIZES)).sum() > 100 and (edge_place >= sum(fc.EDGE_SIZES)).sum() > 100


@pytest.mark.parametrize("keep_pre", [False, True])
@pytest.mark.parametrize("lookup", [None, "Conv1Weights", "Conv2Weights"])
def test_framepool_packed_trunk_across_row_blocks_equals_the_tensor_trunk(keep_pre, lookup):
    """The packed trunk runs its convolutions in blocks of track rows (row_blocks, with the
    residual max(z + h, h) per block): on a track of 4 blocks, boundaries inside sequences
    (and an N run), its h0, h1, h2 (and z1, z2 with keep_pre) equal the conv1d
    trunk of each sequence alone, with convolution 1 as GEMMs or by lookup, and convolution 2 as
    GEMMs or split (Conv2Weights; the model's conv1 bias lowered so that about half the channels
    of relu(z1) are 0 on the whole track)."""
    from seqzoo.encoding import one_hot
    from seqzoo.nets.framepool import CONV_BLOCK_ROWS, pack_codes, row_blocks
    from seqzoo.nets import framepool_conv1 as fc
    model = random_framepool(3)
    with torch.inference_mode():
        model.conv1.bias[::2] -= 10.0  # every other channel of relu(z1) 0 everywhere
        model.clear_cache()
    rng = np.random.default_rng(41)
    count = int(3.5 * CONV_BLOCK_ROWS / 305)  # blocks of 300 + 5 rows
    seqs = [random_seq(rng, int(n), n_frac=0.03 if i % 2 else 0.0)
            for i, n in enumerate([300] + list(rng.integers(200, 300, count - 1)))]
    seqs[7] = seqs[7][:20] + "N" * 40 + seqs[7][60:]
    codes, lengths = pack_codes(seqs, gap=5)
    n_blocks, width = codes.shape
    cuts = [a for a, _ in row_blocks(codes.size)][1:]
    inside = [width - len(seqs[a // width]) < a % width for a in cuts]  # a cut within a sequence's rows
    assert len(cuts) == 3 and all(inside), inside
    with torch.inference_mode():
        got = model.trunk_packed(codes, keep_pre=keep_pre, lookup=getattr(fc, lookup)(model) if lookup else None)
        for b, seq in enumerate(seqs):
            x = torch.from_numpy(one_hot(seq))[None]
            m = x.sum(2)[:, None]
            h0 = torch.relu(model.conv0(x.transpose(1, 2))) * m
            z1 = model.conv1(h0)
            h1 = torch.relu(z1) * m + h0
            z2 = model.conv2(h1)
            h2 = torch.relu(z2) * m + h1
            rows = slice(b * width + width - len(seq), (b + 1) * width)
            want = {"h0": h0, "h1": h1, "h2": h2, "z1": z1, "z2": z2}
            for name in ("h0", "h1", "h2") + (("z1", "z2") if keep_pre else ()):
                np.testing.assert_allclose(got[name][rows].numpy(), want[name][0].T.numpy(), rtol=1e-5, atol=1e-5,
                                           err_msg=f"{name} of sequence {b}")
            assert not got["h2"][b * width:b * width + width - len(seq)].any()  # padding rows are 0


def test_framepool_conv2_split_skips_dead_channels_and_keeps_a_rarely_live_one(monkeypatch):
    """Convolution 2 split into conv2(h0) by lookup and conv2(a) by GEMMs over a's live channels
    (Conv2Weights): with 60 of convolution 1's channels dead (bias -1e3) and one other channel c
    live at one position of the whole track only (its bias lowered to halfway between its two
    highest pre-activations, its convolution-2 weights x 300 so that the outputs feel it), z2 and
    h2 equal the GEMM trunk's and z2 - za = conv2(h0); the trunk's
    GEMMs skip the 60 dead channels and keep c; the incremental path equals full passes on every
    substitution (A/C/G/T/N) within 12 nt of that position (edits that switch c off, or on
    elsewhere), every insertion, deletion and replacement there (the direct path), and 1,500
    random edits of every kind; predict_sequences (split too) equals the literal model on the
    references and alts. (A live_channels that drops c fails.)"""
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.nets import framepool_incremental as fi
    from seqzoo.nets.framepool import pack_codes
    model = random_framepool(7)
    rng = np.random.default_rng(47)
    refs = utr_refs(rng, rng.integers(20, 300, 40))
    codes, _ = pack_codes(refs, gap=fi.PAD)
    with torch.inference_mode():
        model.conv1.bias[:60] = -1e3
        model.clear_cache()
        plain = model.trunk_packed(codes, keep_pre=True)
        z1 = torch.where(plain["mask"] > 0, plain["z1"], torch.tensor(-np.inf))[:, 60:]
        top2 = torch.topk(z1, 2, dim=0).values  # (2, 68)
        c = 60 + int(torch.argmax(top2[0] - top2[1]))
        model.conv1.bias[c] -= float(top2[0, c - 60] + top2[1, c - 60]) / 2  # z1 > 0 at the top row only
        model.conv2.weight[:, c] *= 300.0  # and what it feeds convolution 2 felt in the pooled outputs
        model.clear_cache()
        plain = model.trunk_packed(codes, keep_pre=True)
        rare = int(torch.argmax(plain["z1"][:, c]))
        assert int((torch.relu(plain["z1"][:, c]) * plain["mask"][:, 0] > 0).sum()) == 1
        assert float(plain["z1"][rare, c]) > 0.01
        seen = []
        real = fc.live_channels
        monkeypatch.setattr(fc, "live_channels", lambda a, **kw: seen.append(real(a, **kw)) or seen[-1])
        split = model.trunk_packed(codes, keep_pre=True, lookup=fc.Conv2Weights(model))
    live = seen[0].tolist()
    assert c in live and not set(range(60)) & set(live) and len(live) <= 68
    for name in ("h0", "h1", "z1", "z2", "h2"):
        np.testing.assert_allclose(split[name].numpy(), plain[name].numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
    with torch.inference_mode():  # z2 - za is conv2 of h0 (the padding rows between blocks are 0)
        h0_part = torch.nn.functional.conv1d(split["h0"].T[None], model.conv2.weight, padding=3)[0].T
    np.testing.assert_allclose((split["z2"] - split["za"]).numpy(), h0_part.numpy(), rtol=1e-5, atol=1e-5)
    b, w = divmod(rare, codes.shape[1])
    pos = w - (codes.shape[1] - len(refs[b]))
    ri, st, en, al = [], [], [], []
    for p in range(max(0, pos - 12), min(len(refs[b]), pos + 13)):
        for base in "ACGTN":
            if base != refs[b][p].upper():
                ri.append(b), st.append(p), en.append(p + 1), al.append(base)
    for p in range(max(0, pos - 12), min(len(refs[b]), pos + 13)):  # indels and replacements (direct path)
        for e, alt in ((p, "G"), (p, "ACN"), (min(p + 1, len(refs[b])), ""), (min(p + 3, len(refs[b])), "T")):
            ri.append(b), st.append(p), en.append(e), al.append(alt)
    edits = keep_with_bases(refs, np.array(ri), np.array(st), np.array(en), al)
    assert len(edits[3]) >= 180
    assert assert_matches_full(model, refs, *edits) < TOL
    plain_forward = model.predict_sequences(refs + edited(refs, *edits))  # the forward pass splits convolution 2 too
    literal = model.literal().predict_sequences(refs + edited(refs, *edits))
    for key in literal:
        np.testing.assert_allclose(plain_forward[key], literal[key], rtol=0, atol=TOL, err_msg=key)
    assert assert_matches_full(model, refs, *keep_with_bases(refs, *random_edits(rng, refs, 1500))) < TOL


def test_framepool_forward_of_no_sequences_and_of_an_empty_split_part(monkeypatch):
    """predict_sequences([]) gives empty arrays (a track of no rows has no live channel), and a
    worker-thread split that leaves a part without sequences (SPLIT_MIN 1, two threads, one
    sequence) predicts the one sequence as the literal model does."""
    from seqzoo.nets import framepool as fm
    model = random_framepool(5)
    out = model.predict_sequences([])
    assert set(out) == {"mrl", "mrl_unscaled", "mrl_shift_1", "mrl_shift_2"} and all(v.shape == (0,) for v in out.values())
    monkeypatch.setattr(fm.Framepool, "SPLIT_MIN", 1)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        got = model.predict_sequences(["ACGTTGCAAGN"])
    finally:
        torch.set_num_threads(threads)
    want = model.literal().predict_sequences(["ACGTTGCAAGN"])
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=TOL, err_msg=key)


def test_framepool_forward_reuses_its_work_tracks_exactly(monkeypatch):
    """predict_packed reuses this thread's five work tracks between batches (thread_workspace):
    batches of growing and shrinking sizes give bit-for-bit what fresh tracks give, a batch longer
    than WORKSPACE_MAX_ROWS gets fresh tracks (not kept), and keep_pre refuses a workspace."""
    from seqzoo.nets import framepool as fm
    model = random_framepool(4)
    rng = np.random.default_rng(43)
    batches = [[random_seq(rng, int(n), n_frac=0.02) for n in rng.integers(1, top, size)]
               for top, size in ((300, 40), (50, 7), (400, 64), (120, 3))]
    ind = torch.tensor([[0.0, 1.0]])
    fresh = []
    fm.thread_workspace().clear()
    with monkeypatch.context() as m:
        m.setattr(fm, "WORKSPACE_MAX_ROWS", 0)  # every track new
        for seqs in batches:
            fresh.append(model.predict_packed(seqs, ind))
    assert fm.thread_workspace() == {}
    for seqs, want in zip(batches, fresh):
        got = model.predict_packed(seqs, ind)
        assert all(torch.equal(g, w) for g, w in zip(got, want))
    ws = fm.thread_workspace()
    assert ws["h2"].shape[0] == max(fm.pack_codes(seqs)[0].size for seqs in batches)
    monkeypatch.setattr(fm, "WORKSPACE_MAX_ROWS", 1000)
    ws.clear()
    assert all(torch.equal(g, w) for g, w in zip(model.predict_packed(batches[2], ind), fresh[2]))
    assert ws == {}  # too long for the workspace: fresh tracks, none kept
    assert all(torch.equal(g, w) for g, w in zip(model.predict_packed(batches[1], ind), fresh[1]))
    assert sorted(ws) == ["a", "a_live", "h0_part", "h1_padded", "h2"]  # short enough: kept
    with pytest.raises(ValueError, match="keep_pre returns tracks to keep; it takes no workspace"):
        model.trunk_packed(fm.pack_codes(batches[1])[0], keep_pre=True, workspace={})


def count_predict_edits(monkeypatch) -> list:
    """The (references, edits) of every Framepool.predict_edits call from now on, in order."""
    from seqzoo.nets.framepool import Framepool
    calls = []
    original = Framepool.predict_edits

    def spy(self, ref_seqs, ref_index, starts, ends, alts, **kw):
        calls.append((len(ref_seqs), len(starts)))
        return original(self, ref_seqs, ref_index, starts, ends, alts, **kw)

    monkeypatch.setattr(Framepool, "predict_edits", spy)
    return calls


@pytest.mark.parametrize("vectorized", [True, False])
def test_transcripts_sharing_a_5utr_cost_one_reference_pass_and_one_edit_each(tmp_path, monkeypatch, vectorized):
    """Two transcripts of a gene with the same 5'UTR (different CDS ends) and a third with its own:
    score_vcf's incremental path hands predict_edits each distinct reference once and each distinct
    edit of it once (seqzoo.scoring.predict_edits_unique), both transcripts' rows get the same
    values, and every row equals the full-pass path's; per-allele path too (vectorized=False)."""
    import seqzoo
    from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf, write_vcf
    model = random_framepool(5)
    rng = np.random.default_rng(44)
    seq = random_sequence(rng, 5000)
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    lines = []
    for tx, gene, start, cds, end in (("TXA", "GA", 1001, 1201, 1400), ("TXB", "GA", 1001, 1201, 1600),
                                      ("TXC", "GC", 3001, 3151, 3500)):
        lines += [gtf_line("chr1", kind, a, b, "+", tx, gene) for kind, a, b in
                  (("transcript", start, end), ("exon", start, end), ("five_prime_utr", start, cds - 1),
                   ("CDS", cds, end))]
    gtf = write_gtf(tmp_path / "a.gtf", lines)
    records = [("chr1", pos, f"s{pos}", seq[pos - 1], "ACGT"[("ACGT".index(seq[pos - 1]) + 1) % 4])
               for pos in list(range(1010, 1200, 12)) + list(range(3010, 3150, 20))]
    records += [("chr1", 1100, "del", seq[1099:1102], seq[1099]), ("chr1", 3100, "ins", seq[3099], seq[3099] + "GA")]
    vcf = write_vcf(tmp_path / "v.vcf", records)
    calls = count_predict_edits(monkeypatch)
    inc = seqzoo.score_vcf([("Framepool", model)], fasta, vcf, gtf, vectorized=vectorized).rows
    full = seqzoo.score_vcf([("Framepool", model)], fasta, vcf, gtf, vectorized=vectorized, incremental=False).rows
    in_a = sum(1010 <= r[1] < 1201 for r in records)
    assert calls == [(2, len(records))] and len(inc) == len(records) + in_a
    a, b = (inc[inc.feature_id == t].set_index("variant_id") for t in ("TXA", "TXB"))
    assert len(a) == in_a and a.index.equals(b.index)
    cols = [c for c in inc.columns if inc[c].dtype.kind == "f"]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())
    np.testing.assert_allclose(inc[cols].to_numpy(), full[cols].to_numpy(), rtol=0, atol=1e-5)


def test_a_multiallelic_record_shares_its_5utrs_reference_pass_with_the_vectorised_rows(tmp_path, monkeypatch):
    """A multi-allelic record takes the per-allele path while the records around it take the
    vectorised one (FastRows): in one chunk both go to predict_edits together, so the 5'UTR's
    reference is computed once (before, once per path); rows stay in VCF order, every value equals
    the full-pass path's."""
    import seqzoo
    from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf, write_vcf
    model = random_framepool(6)
    rng = np.random.default_rng(45)
    seq = random_sequence(rng, 3000)
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    lines = [gtf_line("chr1", kind, a, b, "-", "TX", "G") for kind, a, b in
             (("transcript", 1001, 1900), ("exon", 1001, 1900), ("CDS", 1001, 1699), ("five_prime_utr", 1700, 1900))]
    gtf = write_gtf(tmp_path / "a.gtf", lines)
    other = {b: [c for c in "ACGT" if c != b] for b in "ACGT"}
    records = [("chr1", pos, f"s{pos}", seq[pos - 1], other[seq[pos - 1]][0]) for pos in range(1705, 1895, 10)]
    records[7] = ("chr1", records[7][1], "multi", records[7][3], ",".join(other[records[7][3]]))  # three ALTs
    records[12] = ("chr1", records[12][1], "multi_del", seq[records[12][1] - 1:records[12][1] + 1],
                   f"{seq[records[12][1] - 1]},{other[seq[records[12][1] - 1]][1]}{seq[records[12][1]]}")
    vcf = write_vcf(tmp_path / "v.vcf", records)
    calls = count_predict_edits(monkeypatch)
    inc = seqzoo.score_vcf([("Framepool", model)], fasta, vcf, gtf).rows
    full = seqzoo.score_vcf([("Framepool", model)], fasta, vcf, gtf, incremental=False).rows
    n_alleles = len(records) + 2 + 1
    assert calls == [(1, n_alleles)]
    assert list(zip(inc.record, inc.alt_index)) == list(zip(full.record, full.alt_index))
    assert list(inc.variant_id[inc.record == 8]) == ["multi"] * 3 and list(inc.alt_index[inc.record == 8]) == [0, 1, 2]
    assert inc.record.is_monotonic_increasing and len(inc) == n_alleles
    cols = [c for c in inc.columns if inc[c].dtype.kind == "f"]
    np.testing.assert_allclose(inc[cols].to_numpy(), full[cols].to_numpy(), rtol=0, atol=1e-5)


def test_framepool_lookup_follows_weight_changes():
    """The conv1 table is derived from the weights: built once, reused while they stay the same,
    rebuilt after in-place changes (and after ``.data`` changes with clear_cache). Edits on a
    random-weight model match full passes each time, with one reference per chunk on two worker
    threads (so each thread reuses its running-array buffers)."""
    from seqzoo.nets import framepool_conv1 as fc
    model = random_framepool(1)
    rng = np.random.default_rng(41)
    refs = utr_refs(rng, [5, 40, 170, 320, 90, 12, 260, 33])
    edits = keep_with_bases(refs, *random_edits(rng, refs, 500))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        table = fc.Conv1Weights(model).table1
        assert isinstance(table, torch.Tensor) and table.shape == (7 * (4 ** 7 + 2 * (4 ** 6 + 4 ** 5 + 4 ** 4)) + 1, 128)
        assert fc.Conv1Weights(model).table1 is table  # reused
        assert assert_matches_full(model, refs, *edits, batch_size=1) < TOL
        with torch.no_grad():
            model.conv1.weight.mul_(-0.5)
            model.conv0.bias.add_(0.1)
        rebuilt = fc.Conv1Weights(model).table1
        assert rebuilt is not table
        assert assert_matches_full(model, refs, *edits, batch_size=1) < TOL
        model.conv1.weight.data.mul_(1.5)  # bypasses the version counter
        model.clear_cache()
        assert fc.Conv1Weights(model).table1 is not rebuilt
        assert assert_matches_full(model, refs, *edits, batch_size=1) < TOL
    finally:
        torch.set_num_threads(before)


def test_framepool_indels_of_several_lengths_share_one_group(framepool_model):
    """A chunk's indels (the direct path) are computed at its longest allele length, each shorter
    allele extended by the reference bases after it, or before it at the reference's end (the same
    alt sequence): every extension kind, and an edit on a reference too short to extend (its own
    group), equal full passes; so do the extended alleles' codes."""
    from seqzoo.nets import framepool_incremental as fi
    n, starts, ends = np.array([1, 5, 3, 2, 1]), np.array([0, 4, 9, 3, 0]), np.array([3, 4, 10, 4, 1])
    lengths, direct = np.array([10, 10, 10, 10, 2]), np.array([True, True, True, False, True])
    left, right = fi._extensions(n, starts, ends, lengths, direct)
    # 4 more after the first (3 + 4 <= 10); 2 more before the third (10 + 2 > 10, 9 - 2 >= 0); the
    # substitution none; the last edit's 2-nt reference holds neither 4 after nor 4 before
    assert left.tolist() == [0, 0, 2, 0, 0] and right.tolist() == [4, 0, 0, 0, 0]
    # a length joins the longer group only where that adds at most MERGE_ROWS window rows in all:
    # 256 1-nt alleles x 2 rows = 512 join the 3-nt ones, 257 do not; eleven 3-nt ones would add
    # 11 x 47 = 517 rows to the 50-nt one: they stay apart (one alone would join it)
    for many, joined in ((256, True), (257, False)):
        n = np.array([1] * many + [3] * 11 + [50])
        left, right = fi._extensions(n, np.zeros(n.size, int), n.clip(max=2), np.full(n.size, 100), n > 0)
        assert (right[:many] == 2).all() == joined and not right[many:].any() and not left.any()
    n = np.array([3, 50])
    assert fi._extensions(n, np.zeros(2, int), np.ones(2, int), np.full(2, 100), n > 0)[1].tolist() == [47, 0]
    assert fi.MERGE_ROWS == 512
    codes = np.arange(100, dtype=np.uint8)  # track row r holds code r: reference position p at first + p
    alt_all, offsets = np.array([50, 60, 61, 62, 63, 64, 70, 71, 72], np.uint8), np.array([0, 1, 6])
    got = fi._extended_alleles(codes, np.array([20, 40, 60]), np.array([0, 4, 9]), np.array([3, 4, 10]), alt_all,
                               offsets, np.array([1, 5, 3]), np.array([0, 0, 2]), 5)
    assert got.tolist() == [[50, 23, 24, 25, 26], [60, 61, 62, 63, 64], [67, 68, 70, 71, 72]]

    rng = np.random.default_rng(8)
    refs = utr_refs(rng, [3, 5, 40, 170, 90, 12, 260, 6, 33, 7])
    edits = keep_with_bases(refs, *random_edits(rng, refs, 900, kinds=("ins", "del", "complex", "snv"), max_len=6))
    ends_at_last = edits[2] == np.array([len(refs[r]) for r in edits[0]])  # left extensions happen
    assert ends_at_last.sum() > 20
    assert assert_matches_full(framepool_model, refs, *edits, batch_size=4) < TOL
    assert assert_matches_full(framepool_model, refs, *edits) < TOL


def test_framepool_prepare_builds_the_tables_load_model_calls_it(monkeypatch):
    """prepare() builds both 7-mer tables up front (the first prediction then builds nothing and
    equals the literal twin's), not for the literal twin; load_model calls it."""
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.nets.framepool import Framepool
    model = random_framepool(3)
    model.literal().prepare()  # the twin computes every convolution: it has nothing to build
    assert "conv1_table" not in model._weight_tables().get("derived", {})
    model.prepare()
    derived = model._weight_tables()["derived"]
    assert {"conv1_table", "conv2_table", "stacked_taps1", "stacked_taps2"} <= set(derived)
    tables = (derived["conv1_table"], derived["conv2_table"])

    def no_build(*args):
        raise AssertionError("a table was built after prepare()")
    monkeypatch.setattr(fc, "h0_tap_table", no_build)
    seqs = ["ACGTTGCANNACG" * 9, "GATTACA" * 20, "TTAGGC"]
    fast = model.predict_sequences(seqs)
    full = model.literal().predict_sequences(seqs)
    for key in full:
        np.testing.assert_allclose(fast[key], full[key], rtol=0, atol=1e-5)
    assert fc.Conv2Weights(model).table1 is tables[0] and fc.Conv2Weights(model).table2 is tables[1]
    monkeypatch.undo()

    import seqzoo
    calls = []
    monkeypatch.setattr(Framepool, "prepare", lambda self: calls.append(self))
    loaded = seqzoo.load_model("Framepool", weights=require_weights("Framepool_combined_residual.h5"))
    assert calls == [loaded]


def test_xpresso_prepare_builds_conv1_table():
    """Xpresso.prepare builds its 5^6-row convolution 1 table, which predictions then reuse."""
    from seqzoo.nets.xpresso import Xpresso
    torch.manual_seed(4)
    model = Xpresso().eval()
    assert model._table is None
    model.prepare()
    table = model._table
    assert table.shape == (5 ** 6, 128) and model.conv1_table() is table


def test_framepool_lookup_with_inference_tensor_weights():
    """Weights created under inference_mode have no version counter: the table is keyed by their
    content, so it is still built once (not per call) and still right."""
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.nets.framepool import Framepool
    torch.manual_seed(2)
    with torch.inference_mode():
        model = Framepool().eval()
    table = fc.Conv1Weights(model).table1
    assert fc.Conv1Weights(model).table1 is table
    rng = np.random.default_rng(42)
    refs = utr_refs(rng, [50, 150])
    assert assert_matches_full(model, refs, *keep_with_bases(refs, *random_edits(rng, refs, 100))) < TOL


def test_framepool_forward_by_lookup_equals_the_literal_model():
    """predict_sequences computes convolution 1 by 7-mer lookup; its literal() twin (sharing the
    parameters) by GEMMs, as the tensor path does. On 600 sequences of 1..450 nt with N bases and N
    runs, 1-nt sequences and sequences that start or end with N, in batches of mixed lengths, every
    output of the two agrees to 2e-6 (float32 rounding), and both to the Keras-literal tensor path."""
    from seqzoo.encoding import one_hot_batch
    model = random_framepool(5)
    rng = np.random.default_rng(44)
    seqs = [random_seq(rng, int(n), n_frac=0.06 if i % 2 else 0.0) for i, n in enumerate(rng.integers(1, 450, 600))]
    seqs += ["A", "T", "NA", "AN", "NNNNNNNNC", "GNNNNNNNN", "ACGTN" * 90, "NNN" + "ACG" * 40 + "NNN"]
    seqs = [s if any(c in "ACGT" for c in s) else s + "G" for s in seqs]
    twin = model.literal()
    assert model.conv1_by_lookup and not twin.conv1_by_lookup and twin.conv1 is model.conv1
    fast = model.predict_sequences(seqs, batch_size=37)
    slow = twin.predict_sequences(seqs, batch_size=37)
    with torch.inference_mode():
        x = torch.from_numpy(one_hot_batch(seqs[:40], pad="left"))
        tensor_mrl, _ = model.forward_shifts(x, torch.tensor([[0.0, 1.0]]))
    for key in ("mrl", "mrl_unscaled", "mrl_shift_1", "mrl_shift_2"):
        np.testing.assert_allclose(fast[key], slow[key], rtol=0, atol=2e-6, err_msg=key)
    np.testing.assert_allclose(fast["mrl"][:40], tensor_mrl[:, 0].numpy(), rtol=0, atol=5e-6)
    assert not np.array_equal(fast["mrl"], slow["mrl"])  # two computations, not one path twice


def test_full_pass_scoring_uses_the_literal_model(monkeypatch):
    """incremental=False scores with the literal twin (no lookup table: the reference the
    incremental path is checked against); the incremental path, reuse_reference=False alone and
    plain predictions use the table. Counted by the lookup's calls. The twin shares the model's
    table holder: clear_cache on the model after a .data change reaches a twin made before."""
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.scoring import PairScorer, literal_model
    from seqzoo import registry
    model = random_framepool(6)
    calls = []
    real = fc.conv1_lookup
    monkeypatch.setattr(fc, "conv1_lookup", lambda w, codes, *index: calls.append(codes.shape) or real(w, codes, *index))
    spec = registry.get("Framepool")
    assert not PairScorer(spec, model, incremental=False).model.conv1_by_lookup
    assert PairScorer(spec, model, incremental=True).model is model
    assert PairScorer(spec, model, reuse_reference=False).model is model
    assert literal_model(object) is object  # a plug-in model without literal(): itself
    model.literal().predict_sequences(["ACGTTGCA" * 5])
    assert calls == []
    model.predict_sequences(["ACGTTGCA" * 5])
    assert len(calls) == 1
    twin = model.literal()
    seqs = ["ACGTTGCAAGT" * 7, "GATTACA" * 9]
    twin.predict_sequences(seqs)
    model.predict_sequences(seqs)
    model.conv1.weight.data.mul_(1.5)  # bypasses the version counter
    model.clear_cache()
    fresh = model.literal().predict_sequences(seqs)["mrl"]
    np.testing.assert_array_equal(twin.predict_sequences(seqs)["mrl"], fresh)  # not the old weights' taps
    np.testing.assert_allclose(model.predict_sequences(seqs)["mrl"], fresh, rtol=0, atol=2e-6)


def test_framepool_reference_chunks():
    """Every reference in exactly one chunk; chunks are runs of the length-sorted order, at most
    batch_size references and CHUNK_ROWS packed rows (padded to their longest) unless one reference
    is longer; their number a multiple of the worker threads where nothing forced a split."""
    from seqzoo.nets.framepool_incremental import CHUNK_ROWS, PAD, _chunk_references
    rng = np.random.default_rng(43)
    cases = [(rng.normal(mean, mean * 0.4, n).clip(1).astype(np.int64), batch_size, threads)
             for n, mean, batch_size, threads in ((200, 170, 64, 2), (60, 1000, 64, 2), (500, 100, 7, 2),
                                                  (3, 50, 64, 2), (1, 20_000, 64, 2), (300, 250, 64, 1),
                                                  (90, 400, 64, 3))]
    cases += [(np.r_[np.full(1000, 100), 20_000], 64, 2), (np.r_[np.full(60, 100), 5_000], 64, 2),
              (np.full(200, 1000), 64, 2), (np.full(100, 60), 64, 2)]
    checked = 0
    for lengths, batch_size, threads in cases:
        n = lengths.size
        edit_counts = rng.integers(0, 40, n)
        chunks = _chunk_references(lengths, edit_counts, batch_size, threads)
        order = np.concatenate(chunks)
        assert np.array_equal(np.sort(order), np.arange(n))
        assert np.all(np.diff(lengths[order]) >= 0)  # runs of the sorted order: little padding
        for c in chunks:
            assert len(c) <= batch_size
            assert len(c) == 1 or len(c) * (lengths[c].max() + PAD) <= CHUNK_ROWS, (len(c), lengths[c].max())
        # a chunk at its limit (batch_size references, or the next reference would take it past
        # CHUNK_ROWS) may have been cut there
        at_limit = any(len(c) == batch_size or (len(c) + 1) * (lengths[d[0]] + PAD) > CHUNK_ROWS
                       for c, d in zip(chunks, chunks[1:]))
        if n >= 8 * threads and threads > 1 and not at_limit:
            assert len(chunks) % threads == 0, (n, len(chunks))
            checked += 1
    assert checked >= 3  # the multiple-of-threads rule was exercised
    assert _chunk_references(np.zeros(0, np.int64), np.zeros(0, np.int64), 64, 2) == []
