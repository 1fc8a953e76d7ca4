"""One-hot encoding of DNA/RNA strings, shared by every model.

Channels are A, C, G, T (U is read as T); lower case is read as upper case. ``N`` and the other
letters of a nucleotide sequence (IUPAC ambiguity codes, ``X``) become the row ``n_value`` in all
four channels (0 for Framepool and Xpresso, 0.25 for APARENT2). Anything else (digits, punctuation,
spaces, other letters) is not a sequence: :func:`check_letters` refuses it.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

ALPHABET = "ACGT"


def _table(n_value: float) -> np.ndarray:
    table = np.full((256, 4), n_value, dtype=np.float32)
    for i, base in enumerate(ALPHABET):
        for ch in (base, base.lower()):
            table[ord(ch)] = 0.0
            table[ord(ch), i] = 1.0
    for ch in "Uu":
        table[ord(ch)] = table[ord("T")]
    return table


_TABLES: dict[float, np.ndarray] = {}

#: the letters a nucleotide sequence may hold, either case: A, C, G, T, U, N, X and the IUPAC codes
LETTERS = "ACGTUNXRYKMSWBDHV"
#: what a message says they are
LETTERS_TEXT = "A, C, G, T, U, N, X or an IUPAC ambiguity code, either case"
_LETTER_BYTES = (LETTERS + LETTERS.lower()).encode("ascii")
_NOT_LETTER_BYTE = re.compile(b"[^" + _LETTER_BYTES + b"]")


def first_non_letter_byte(data: bytes) -> int:
    """Index of the first byte of ``data`` (ASCII codes) that is not one of :data:`LETTERS`, or -1
    (the letters deleted in one C pass, searched for only where something is left)."""
    if not data.translate(None, _LETTER_BYTES):
        return -1
    return _NOT_LETTER_BYTE.search(data).start()


def first_non_letter(text: str) -> int:
    """Index of the first character of ``text`` that is not one of :data:`LETTERS`, or -1 (a
    non-ASCII character becomes one '?' byte, so byte and character indices agree)."""
    return first_non_letter_byte(text.encode("ascii", errors="replace"))


def check_letters(seqs: Sequence[str]) -> None:
    """ValueError naming the first sequence (its index), position and character that is not a
    nucleotide letter (:data:`LETTERS`, either case); one scan over all of them."""
    at = first_non_letter("".join(seqs))
    if at < 0:
        return
    ends = np.cumsum([len(s) for s in seqs])
    i = int(np.searchsorted(ends, at, side="right"))
    j = at - int(ends[i] - len(seqs[i]))
    raise ValueError(f"sequence {i} holds {seqs[i][j]!r} at index {j} (0-based), which is not a nucleotide letter "
                     f"({LETTERS_TEXT})")


def lookup_table(n_value: float = 0.0) -> np.ndarray:
    """(256, 4) float32 table mapping a byte to its one-hot row."""
    if n_value not in _TABLES:
        _TABLES[n_value] = _table(n_value)
    return _TABLES[n_value]


def one_hot(seq: str, n_value: float = 0.0) -> np.ndarray:
    """Encode one sequence: returns float32 array of shape (len(seq), 4)."""
    return lookup_table(n_value)[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]


def one_hot_batch(seqs: Sequence[str], width: int | None = None, n_value: float = 0.0,
                  pad: str = "left") -> np.ndarray:
    """Encode sequences into one float32 array of shape (N, width, 4).

    Shorter sequences are padded with all-zero rows on the ``pad`` side ('left' keeps the 3' ends
    aligned, as Framepool's batching does; 'right' keeps the 5' ends aligned). ``width`` defaults
    to the longest sequence; a sequence longer than ``width`` raises ValueError.
    """
    lengths = [len(s) for s in seqs]
    if width is None:
        width = max(lengths, default=0)
    table = lookup_table(n_value)
    out = np.zeros((len(seqs), width, 4), dtype=np.float32)
    for i, s in enumerate(seqs):
        n = lengths[i]
        if n > width:
            raise ValueError(f"sequence {i} has length {n} > batch width {width}")
        if n == 0:
            continue
        codes = np.frombuffer(s.encode("ascii"), dtype=np.uint8)
        if pad == "left":
            out[i, width - n:] = table[codes]
        elif pad == "right":
            out[i, :n] = table[codes]
        else:
            raise ValueError(f"pad must be 'left' or 'right', not {pad!r}")
    return out


_COMPLEMENT = str.maketrans("ACGTURYKMSWBDHVNacgturykmswbdhvn",
                            "TGCAAYRMKSWVHDBNtgcaayrmkswvhdbn")


#: ASCII code -> the code of its complement (the table of :func:`reverse_complement`; others unchanged)
COMPLEMENT_BYTE = np.arange(256, dtype=np.uint8)
for _k, _v in _COMPLEMENT.items():
    COMPLEMENT_BYTE[_k] = _v


def reverse_complement(seq: str) -> str:
    """Reverse complement (IUPAC-aware, case preserved; U complements to A)."""
    return seq.translate(_COMPLEMENT)[::-1]


def reverse_complements(seqs: Sequence[str]) -> list[str]:
    """``[reverse_complement(s) for s in seqs]``, through one reverse complement of the tab-joined
    text (its pieces come out in reverse order); per sequence where one holds a tab."""
    seqs = list(seqs)
    parts = reverse_complement("\t".join(seqs)).split("\t")
    if len(parts) != len(seqs):  # a tab in a sequence, or no sequences
        return [reverse_complement(s) for s in seqs]
    parts.reverse()
    return parts
