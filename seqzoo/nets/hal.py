"""HAL (Rosenberg et al. 2015, Cell 163: 698): the hexamer additive linear model of 5' splice-site usage.

The published model is a table, ``HAL_mer_scores.npz`` (Zenodo record 1466088, md5
``4db740f6b72345db5303c106ed6aad61``): key ``weights``, shape (4096, 8).

* **Rows** enumerate the hexamers over the base order A, T, C, G (not A, C, G, T), the first base
  being the most significant digit: row = sum_j digit(seq[j]) * 4**(5 - j) with A=0, T=1, C=2, G=3
  (``AAAAAA`` = 0, ``AAAAAT`` = 1, ``TAAAAA`` = 1024, ``GGGGGG`` = 4095). This is the order of
  ``HALModel.make_mer_list`` in kipoi/models ``HAL/model.py`` (each round appends every base to every
  hexamer prefix) and of ``make_hexamer_list`` in DLS5-Omics/multimolecule's HAL converter.
* **Columns** are position regions of the 160-nt donor window (80 exonic + 80 intronic nt, the first
  intronic base at index 80). A hexamer starting at window index ``s`` uses column
  :data:`COLUMN_OF_START` ``[s]``: starts 0-39 -> 0, 40-69 -> 1, 77 -> 2, 78 -> 3, 79 -> 4, 80 -> 5,
  86-114 -> 6, 115-154 -> 7; starts 70-76 and 81-85 (hexamers overlapping the consensus around the
  splice site) are not scored.

Two readings of the table (``mode``):

``"kipoi"`` (default) — the Kipoi HAL model's formula (``HALModel._score_seq_pos`` + ``predict_seq``)::

    score = sum over scored starts s of weights[row(seq[s:s+6]), COLUMN_OF_START[s]]

  (Kipoi spreads each coefficient as w/6 over the hexamer's six bases and sums the 160 positions,
  which is the same sum up to float rounding.)

``"averaged"`` — the MultiMolecule HAL reading (``HalEmbedding`` + ``HalModule`` and the converter's
  ``weights.mean(axis=1)``): one effect per hexamer, the mean of its eight columns, applied to
  normalised hexamer frequencies over all 155 starts 0..154::

    score = sum over starts s with a valid hexamer of mean(weights[row(seq[s:s+6]), :]) / max(n_valid, 1)

  where ``n_valid`` is the number of starts whose hexamer is all A/C/G/T (155 for a window without N).

In both readings lower case is read as upper case, U as T, and a hexamer holding N or any other
non-ACGT character contributes 0 (Kipoi's model raises a KeyError on such a hexamer; MultiMolecule
drops it from the counts and from ``n_valid``, as here). Scores are float64 (the table is
converted to float64 once). Computation is vectorised: one gather over a (batch, starts) index
array per batch, no loop over positions.
"""
from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..keras_h5 import ConversionError
from .base import SequenceModel
from .edits import check_edits, predict_full, require_substitutions

log = logging.getLogger(__name__)

WINDOW = 160
KMER = 6
N_STARTS = WINDOW - KMER + 1       # 155 hexamer starts 0..154
N_KMERS = 4 ** KMER                # 4096 table rows
N_REGIONS = 8                      # table columns
BASES = "ATCG"                     # row-enumeration order; the first hexamer base is the most significant digit
NPZ_KEY = "weights"
MODES = ("kipoi", "averaged")
DEFAULT_MODE = "kipoi"

#: Kipoi's regions: (first start, last start + 1, column)
KIPOI_REGIONS = ((0, 40, 0), (40, 70, 1), (77, 78, 2), (78, 79, 3), (79, 80, 4), (80, 81, 5),
                 (86, 115, 6), (115, 155, 7))


def _column_of_start() -> np.ndarray:
    col = np.full(N_STARTS, -1, dtype=np.int64)
    for a, b, c in KIPOI_REGIONS:
        col[a:b] = c
    return col


#: (155,) table column of the hexamer starting at each window index; -1 = not scored (70-76, 81-85)
COLUMN_OF_START = _column_of_start()


def _digit_table() -> np.ndarray:
    table = np.full(256, -1, dtype=np.int64)
    for digit, base in enumerate(BASES):
        table[ord(base)] = table[ord(base.lower())] = digit
    table[ord("U")] = table[ord("u")] = BASES.index("T")
    return table


#: byte -> base digit in :data:`BASES` order (A=0, T=1, C=2, G=3; lower case and U too), -1 otherwise
DIGIT_OF_BYTE = _digit_table()


def hexamer_row(hexamer: str) -> int:
    """Table row of a hexamer (A/C/G/T/U, any case); ValueError for other characters."""
    if len(hexamer) != KMER:
        raise ValueError(f"a hexamer has {KMER} bases, got {hexamer!r}")
    row = 0
    for ch in hexamer:
        d = DIGIT_OF_BYTE[ord(ch)] if ord(ch) < 256 else -1
        if d < 0:
            raise ValueError(f"hexamer {hexamer!r} holds {ch!r}, not one of A, C, G, T")
        row = row * 4 + int(d)
    return row


def check_lengths(seqs: Sequence[str]) -> None:
    """ValueError naming the first sequence (by index) that is not 160 nt long."""
    bad = [(i, len(s)) for i, s in enumerate(seqs) if len(s) != WINDOW]
    if bad:
        i, n = bad[0]
        raise ValueError(f"HAL scores {WINDOW}-nt windows (80 exonic + 80 intronic nt); sequence {i} has length {n}"
                         + (f" ({len(bad)} sequences have another length)" if len(bad) > 1 else ""))


def encode_digits(seqs: Sequence[str]) -> np.ndarray:
    """(N, 160) int64 base digits of 160-nt windows (-1 for N and every non-ACGT character)."""
    check_lengths(seqs)
    if not seqs:
        return np.empty((0, WINDOW), dtype=np.int64)
    # 'replace' keeps one byte per character: a non-ASCII character becomes '?' (not a base)
    codes = np.frombuffer("".join(seqs).encode("ascii", errors="replace"), dtype=np.uint8)
    return DIGIT_OF_BYTE[codes].reshape(len(seqs), WINDOW)


def check_mode(mode: str) -> str:
    """``mode`` if it names a reading of the table (:data:`MODES`), else ValueError."""
    if mode not in MODES:
        raise ValueError(f"HAL mode must be one of {MODES}, got {mode!r}")
    return mode


class HAL(SequenceModel):
    """HAL on 160-nt donor windows -> ``{"score": (N,) float64}``.

    ``weights``: the (4096, 8) table (rows in A, T, C, G order); ``mode``: ``"kipoi"`` (default,
    position-specific columns) or ``"averaged"`` (MultiMolecule's reading); see the module docstring.
    ``predict_sequences(seqs, mode=...)`` overrides the mode for one call.
    """

    name = "HAL"

    def __init__(self, weights: np.ndarray | torch.Tensor | None = None, mode: str = DEFAULT_MODE):
        super().__init__()
        w = torch.zeros(N_KMERS, N_REGIONS, dtype=torch.float64) if weights is None else \
            torch.as_tensor(np.asarray(weights, dtype=np.float64)).clone()
        if tuple(w.shape) != (N_KMERS, N_REGIONS):
            raise ValueError(f"HAL weights have shape ({N_KMERS}, {N_REGIONS}), got {tuple(w.shape)}")
        # a (frozen) parameter, so that .to(device) moves it and SequenceModel.device finds it
        self.weights = torch.nn.Parameter(w, requires_grad=False)
        self.mode = check_mode(mode)

    def hexamer_rows(self, seqs: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 155) table rows of every hexamer start and (N, 155) bool: all six bases A/C/G/T."""
        digits = torch.from_numpy(encode_digits(seqs)).to(self.weights.device)
        valid = digits >= 0
        digits = digits.clamp(min=0)
        rows = torch.zeros(digits.shape[0], N_STARTS, dtype=torch.int64, device=digits.device)
        ok = torch.ones(digits.shape[0], N_STARTS, dtype=torch.bool, device=digits.device)
        for j in range(KMER):  # six shifted slices (hexamer offsets), not a loop over positions
            rows = rows * 4 + digits[:, j:j + N_STARTS]
            ok &= valid[:, j:j + N_STARTS]
        return rows, ok

    def scores(self, seqs: Sequence[str], mode: str | None = None) -> torch.Tensor:
        """(N,) float64 HAL scores of 160-nt windows (on the model's device)."""
        mode = check_mode(mode or self.mode)
        rows, ok = self.hexamer_rows(seqs)
        w = self.weights.detach()
        if mode == "kipoi":
            col = torch.from_numpy(COLUMN_OF_START).to(rows.device)
            used = col >= 0
            coef = w.reshape(-1)[rows[:, used] * N_REGIONS + col[used]]
            return torch.where(ok[:, used], coef, torch.zeros((), dtype=coef.dtype, device=coef.device)).sum(1)
        effect = w.mean(1)
        coef = torch.where(ok, effect[rows], torch.zeros((), dtype=w.dtype, device=w.device))
        n_valid = ok.sum(1).clamp(min=1).to(w.dtype)
        return coef.sum(1) / n_valid

    def predict_sequences(self, seqs: Sequence[str], batch_size: int = 64, **extra) -> dict[str, np.ndarray]:
        seqs = [str(s) for s in seqs]
        check_lengths(seqs)  # before batching, so that the error names the caller's index
        if "mode" in extra:
            extra["mode"] = check_mode(extra["mode"] or self.mode)
        return super().predict_sequences(seqs, batch_size=batch_size, **extra)

    def predict_batch(self, seqs: Sequence[str], mode: str | None = None) -> dict[str, np.ndarray]:
        return {"score": self.scores(seqs, mode).cpu().numpy()}

    def forward(self, seqs: Sequence[str], mode: str | None = None) -> torch.Tensor:
        return self.scores(seqs, mode)

    def predict_edits(self, ref_seqs: Sequence[str], ref_index, starts, ends, alts: Sequence[str],
                      batch_size: int = 64, mode: str | None = None
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Reference and alt scores for substitutions in 160-nt windows, alts computed incrementally.

        Edit i replaces ``ref_seqs[ref_index[i]][starts[i]:ends[i]]`` (0-based half-open) by
        ``alts[i]`` of the same length (SNV, MNV; any characters, read as in the full pass). Only
        the hexamers starting at starts[i] - 5 .. ends[i] - 1 change (six for an SNV): the alt
        score is the reference's float64 sum minus their old coefficients plus the new ones
        (``"averaged"``: divided by the alt's count of valid hexamers, which N changes): the
        changed hexamers of all edits, whatever their lengths (the anchored windows of indels
        replace up to half a window), in numpy without a loop over edits: SNVs from the reference's
        hexamer rows, longer edits in one flat array of segments (:func:`_changed_hexamers`;
        ``batch_size`` is not used). On
        a non-CPU device (the table moved there) every alt is a full pass, as for the other models.

        Returns (ref_out, alt_out): ``{"score": float64}`` of shapes (len(ref_seqs),) and
        (len(alts),), equal to ``predict_sequences`` of the references and of the edited windows
        (to float64 rounding). ValueError for edits outside their reference, a window that is not
        160 nt, a bad ``mode``, or an edit that changes the window length (HAL scores exactly
        160 nt: an indel's alt window, re-anchored at the splice site with bases from beyond the
        reference window, must be built by the caller and scored with :meth:`predict_sequences`).
        """
        edits = check_edits(ref_seqs, ref_index, starts, ends, alts)
        mode = check_mode(mode or self.mode)
        digits = encode_digits(edits.ref_seqs)  # (R, 160), checks the lengths
        require_substitutions(edits, "HAL", WINDOW, "HAL scores exactly")
        if self.device.type != "cpu":
            ref_out = self.predict_sequences(edits.ref_seqs, batch_size=batch_size, mode=mode)
            return ref_out, predict_full(self, edits, np.arange(len(edits)), {}, {"mode": mode}, batch_size)
        w = self.weights.detach().numpy()
        coef, valid = _start_coefficients(digits, w, mode)  # (R, 155) each
        ref_sum, ref_valid = coef.sum(1), valid.sum(1)
        ref_score = ref_sum if mode == "kipoi" else ref_sum / np.maximum(ref_valid, 1)
        s, e, r = edits.starts, edits.ends, edits.ref_index
        new, n_ok = _changed_hexamers(digits, w, mode, r, s, e, edits.alt_lengths, edits.alts)
        # the reference's coefficients of the same starts (window starts s - 5 .. e - 1), from
        # running sums per reference
        pad = KMER - 1
        lo, hi = np.maximum(s - pad, 0), np.minimum(e, N_STARTS)
        count = np.maximum(hi - lo, 0)
        cum_coef = np.zeros((coef.shape[0], N_STARTS + 1))
        np.cumsum(coef, axis=1, out=cum_coef[:, 1:])
        alt_sum = ref_sum[r] - (cum_coef[r, hi] - cum_coef[r, lo]) * (count > 0) + new
        if mode == "kipoi":
            alt_score = alt_sum
        else:
            cum_valid = np.zeros((valid.shape[0], N_STARTS + 1), dtype=np.int64)
            np.cumsum(valid, axis=1, out=cum_valid[:, 1:])
            n_valid = ref_valid[r] - (cum_valid[r, hi] - cum_valid[r, lo]) * (count > 0) + n_ok
            alt_score = alt_sum / np.maximum(n_valid, 1)
        return {"score": ref_score}, {"score": alt_score}


#: byte -> base digit (A=0, T=1, C=2, G=3 as :data:`DIGIT_OF_BYTE`) as int32, and :data:`NO_DIGIT`
#: for every other character: a hexamer row built from such digits by ``row * 4 + digit`` (or from
#: 3-mers, ``t3 * 64 + t3'``) is >= N_KMERS exactly when one of its bases is not A/C/G/T
NO_DIGIT = N_KMERS
DIGIT32_OF_BYTE = np.where(DIGIT_OF_BYTE >= 0, DIGIT_OF_BYTE, NO_DIGIT).astype(np.int32)


def _changed_hexamers(digits: np.ndarray, w: np.ndarray, mode: str, r: np.ndarray, s: np.ndarray,
                      e: np.ndarray, n: np.ndarray, alts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per substitution edit (``ref_index`` r, window [s, e) -> alts, ``n`` = their lengths = e - s)
    of (R, 160) reference ``digits``: (E,) float64 sum of the coefficients of the alt's hexamers
    starting at window indices s - 5 .. e - 1 (those the edit changes; 0 where a start is not
    scored or a hexamer holds a non-ACGT base), summed in the order of their starts, and (E,) int64
    how many of them are valid and, in ``"averaged"`` mode, counted (starts 0..154; all 0 in
    ``"kipoi"`` mode, which does not use them).

    Single-base substitutions by :func:`_single_base_hexamers`, the others by
    :func:`_segment_hexamers`.
    """
    pad = KMER - 1
    # (R, 170) digits with NO_DIGIT for non-bases and 5 more on each side; hexamer rows are linear in
    # the digits: sum of digit(j) * 4 ** (5 - j) is a table row, or >= N_KMERS (not valid)
    padded = np.full((digits.shape[0], WINDOW + 2 * pad), NO_DIGIT, dtype=np.int32)
    padded[:, pad:pad + WINDOW] = np.where(digits >= 0, digits, NO_DIGIT)
    column_p = np.full(WINDOW + 4 * pad + 2, N_REGIONS, dtype=np.int32)  # window start + 5 -> column
    if mode == "kipoi":
        column_p[pad:pad + N_STARTS] = np.where(COLUMN_OF_START >= 0, COLUMN_OF_START, N_REGIONS)
        table = np.zeros((N_KMERS + 1, N_REGIONS + 1))  # + a zero row (not valid) and a zero column (not scored)
        table[:N_KMERS, :N_REGIONS] = w
    else:
        column_p[pad:pad + N_STARTS] = 0
        column_p[column_p == N_REGIONS] = 1
        table = np.zeros((N_KMERS + 1, 2))
        table[:N_KMERS, 0] = w.mean(1)
    codes = DIGIT32_OF_BYTE[np.frombuffer("".join(alts).encode("ascii", errors="replace"), dtype=np.uint8)]
    single = n == 1
    if single.all():
        return _single_base_hexamers(padded, table, column_p, mode, r, s, codes)
    if not single.any():
        return _segment_hexamers(padded, table, column_p, mode, r, s, e, n, codes)
    new, n_ok = np.empty(len(n)), np.empty(len(n), dtype=np.int64)
    new[single], n_ok[single] = _single_base_hexamers(padded, table, column_p, mode, r[single], s[single],
                                                      codes[np.repeat(single, n)])
    rest = ~single
    new[rest], n_ok[rest] = _segment_hexamers(padded, table, column_p, mode, r[rest], s[rest], e[rest], n[rest],
                                              codes[np.repeat(rest, n)])
    return new, n_ok


def _single_base_hexamers(padded: np.ndarray, table: np.ndarray, column_p: np.ndarray, mode: str, r: np.ndarray,
                          s: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_changed_hexamers` of single-base substitutions (base ``codes``, int32 digits): the
    six hexamers starting at s - 5 + k (k = 0..5) hold the base at their offset 5 - k, so their
    rows are the reference's rows plus (new - old digit) * 4 ** k."""
    pad = KMER - 1
    k = np.arange(KMER)
    width = padded.shape[1]
    flat = padded.reshape(-1)
    at = (r * width + s)[:, None] + k  # padded index of window start s - 5 + k
    ref_rows = flat[at] * 4 ** 5  # the reference's rows of these starts (linear in the digits)
    for j in range(1, KMER):
        ref_rows += flat[at + j] * 4 ** (5 - j)
    rows = ref_rows + (codes - flat[r * width + s + pad])[:, None] * (4 ** k).astype(np.int32)
    np.minimum(rows, N_KMERS, out=rows)
    cols = column_p[s[:, None] + k]
    coef = table.reshape(-1)[rows * table.shape[1] + cols]
    new = np.zeros(len(s))  # 0.0 + each start's coefficient in order, as np.bincount in the segment path
    for j in range(KMER):
        new += coef[:, j]
    if mode == "kipoi":
        return new, np.zeros(len(s), dtype=np.int64)
    return new, ((rows < N_KMERS) & (cols == 0)).sum(1)


def _segment_hexamers(padded: np.ndarray, table: np.ndarray, column_p: np.ndarray, mode: str, r: np.ndarray,
                      s: np.ndarray, e: np.ndarray, n: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_changed_hexamers` of substitutions of any length (their alleles' digits ``codes``,
    concatenated), all at once in one flat int32 array: per edit a segment of the 5 reference
    digits before s, the allele's digits, the 5 reference digits from e (:data:`NO_DIGIT` beyond
    the window) and one :data:`NO_DIGIT` separator, so that a hexamer starting at segment offset q
    covers only its own edit's segment for q <= n + 4 and holds the separator (row >= N_KMERS:
    coefficient 0, not valid) for q = n + 5 .. n + 10. The coefficients are summed per edit in
    segment order, the order of the hexamer starts."""
    pad = KMER - 1
    width = padded.shape[1]
    n_edits = len(n)
    padded = padded.reshape(-1)
    seg = n + (2 * pad + 1)
    total = int(seg.sum())
    first = np.cumsum(seg) - seg
    seq = np.full(total, NO_DIGIT, dtype=np.int32)
    flank = np.arange(pad)
    base = (r * width)[:, None] + flank  # padded index of window index s - 5 + j is s + j
    seq[first[:, None] + flank] = padded[base + s[:, None]]
    seq[(first + pad + n)[:, None] + flank] = padded[base + (e + pad)[:, None]]
    if total:
        allele = np.ones(total, dtype=bool)  # the allele positions: neither flank nor separator
        allele[first[:, None] + flank] = False
        allele[(first + pad + n)[:, None] + np.arange(pad + 1)] = False
        seq[allele] = codes
    m = max(total - pad, 0)  # hexamers starting at 0 .. total - 6
    t3 = seq[:-2] * 16
    t3 += seq[1:-1] * 4
    t3 += seq[2:]
    rows = t3[:m] * 64
    rows += t3[3:3 + m]
    np.minimum(rows, N_KMERS, out=rows)  # every hexamer holding a non-ACGT base: row N_KMERS
    # each start's column: window start s - 5 + q, stored at s + q (q the segment offset, <= n + 10)
    start_p = np.repeat(s - first, seg)[:m] + np.arange(m)
    cols = column_p[start_p]
    flat = rows * table.shape[1]
    flat += cols
    owner = np.repeat(np.arange(n_edits), seg)[:m]
    new = np.bincount(owner, weights=table.reshape(-1)[flat], minlength=n_edits)
    if mode == "kipoi":
        return new, np.zeros(n_edits, dtype=np.int64)
    ok = (rows < N_KMERS) & (cols == 0)
    return new, np.bincount(owner, weights=ok, minlength=n_edits).astype(np.int64)


def _start_coefficients(digits: np.ndarray, w: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Per hexamer start of (N, 160) digits: (N, 155) float64 coefficient (0 where not valid or,
    in 'kipoi' mode, not scored) and (N, 155) int64 1 where all six bases are A/C/G/T."""
    rows = np.zeros((digits.shape[0], N_STARTS), dtype=np.int64)
    ok = np.ones((digits.shape[0], N_STARTS), dtype=bool)
    for j in range(KMER):
        d = digits[:, j:j + N_STARTS]
        rows = rows * 4 + np.maximum(d, 0)
        ok &= d >= 0
    if mode == "kipoi":
        used = ok & (COLUMN_OF_START >= 0)
        coef = np.where(used, w[rows, np.maximum(COLUMN_OF_START, 0)], 0.0)
    else:
        coef = np.where(ok, w.mean(1)[rows], 0.0)
    return coef, ok.astype(np.int64)


def read_table(path: str | os.PathLike) -> np.ndarray:
    """The (4096, 8) float64 table of a ``HAL_mer_scores.npz``-style file (key ``weights``).

    Raises :class:`seqzoo.keras_h5.ConversionError` naming the file when it is not an npz archive,
    lacks the key, or holds another shape or a non-numeric array.
    """
    path = Path(path)
    layout = (f"the published HAL_mer_scores.npz layout is an .npz archive with the key '{NPZ_KEY}' holding a "
              f"({N_KMERS}, {N_REGIONS}) numeric array (rows: hexamers over A, T, C, G; columns: 8 window regions)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConversionError(f"HAL weights file {path} cannot be read as an .npz archive ({exc}); {layout}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConversionError(f"HAL weights file {path} is a plain .npy array, not an .npz archive; {layout}")
    with archive:
        if NPZ_KEY not in archive.files:
            raise ConversionError(f"HAL weights file {path} has no array '{NPZ_KEY}' (it holds {archive.files}); "
                                  f"{layout}")
        try:
            w = archive[NPZ_KEY]
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ConversionError(f"HAL weights file {path}: array '{NPZ_KEY}' cannot be read ({exc}); "
                                  f"{layout}") from exc
    if w.shape != (N_KMERS, N_REGIONS):
        raise ConversionError(f"HAL weights file {path}: array '{NPZ_KEY}' has shape {w.shape}, expected "
                              f"({N_KMERS}, {N_REGIONS}); {layout}")
    if w.dtype.kind not in "iuf":
        raise ConversionError(f"HAL weights file {path}: array '{NPZ_KEY}' has dtype {w.dtype}, not a real "
                              f"number type; {layout}")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        log.warning("HAL weights file %s: %d non-finite coefficients (windows using them score NaN/inf)",
                    path, int((~np.isfinite(w)).sum()))
    return w


def from_npz(path: str | os.PathLike, mode: str = DEFAULT_MODE) -> HAL:
    """A :class:`HAL` model (eval mode) from a table in the published ``HAL_mer_scores.npz`` layout."""
    return HAL(read_table(path), mode=mode).eval()


def hal_effects(ref: dict, alt: dict) -> dict:
    """``delta`` = alt - ref score and ``sigmoid_delta`` = 1 / (1 + exp(-delta)) (the Kipoi HAL
    model's output for a (ref, alt) pair), float64."""
    delta = np.asarray(alt["score"], np.float64) - np.asarray(ref["score"], np.float64)
    with np.errstate(over="ignore", under="ignore"):  # exp(-delta) = inf below -709: sigmoid 0, as it should be
        sigmoid = 1.0 / (1.0 + np.exp(-delta))
    return {"delta": delta, "sigmoid_delta": sigmoid}
