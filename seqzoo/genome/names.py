"""Harmonising contig names between FASTA, VCF, GTF and BED (``chr1`` vs ``1`` vs ``Chr1``).

The FASTA's names are the reference namespace: every other file's contig name is mapped onto one
of them, or reported once (by name) as unmatched. A name is tried, in this order: as written; with
or without a ``chr`` prefix, ``chrM``/``MT``/``M`` as one; ignoring case. A match by case must be
unique: a name that two FASTA contigs would answer is left unmatched, and the message says why.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

_MITO = ("chrM", "MT", "M", "chrMT")
_MITO_FOLDED = frozenset(m.lower() for m in _MITO)


def _candidates(name: str) -> list[str]:
    """``name`` and its spellings with/without ``chr`` (and the other mitochondrion names)."""
    out = [name]
    if name in _MITO:
        out += [m for m in _MITO if m != name]
    if name.startswith("chr"):
        out.append(name[3:])
    else:
        out.append("chr" + name)
    return out


def _folded_candidates(name: str) -> list[str]:
    """Lower-case spellings of ``name`` to compare with lower-cased FASTA names (``Chr1`` -> chr1, 1)."""
    low = name.lower()
    out = [low]
    if low in _MITO_FOLDED:
        out += [m for m in _MITO_FOLDED if m != low]
    out.append(low[3:] if low.startswith("chr") else "chr" + low)
    return out


# -- the map ------------------------------------------------------------------------------------
class ContigNames:
    """Maps contig names of other files onto the FASTA's names.

    ``fasta``: the FASTA's path, for messages. ``resolve(name, source)`` returns the FASTA name or
    None; each unmatched (source, name) pair is logged once and kept in :attr:`unmatched` for the
    run summary; a name matched only by ignoring case is logged once.
    """

    def __init__(self, fasta_names, fasta=None):
        self.fasta_names = set(fasta_names)
        self.fasta = fasta
        self._folded: dict[str, list[str]] = {}
        for n in sorted(self.fasta_names):
            self._folded.setdefault(n.lower(), []).append(n)
        self._cache: dict[str, tuple[str | None, str]] = {}  # name -> (FASTA name, how / why not)
        self._case_warned: set[str] = set()
        self.unmatched: dict[str, set[str]] = {}

    def _tried(self) -> str:
        return "chr prefix, chrM/MT and case tried"

    def tried(self, name: str) -> str:
        """Why ``name`` matches no FASTA contig, for messages (what was tried, or the ambiguity)."""
        hit, why = self._lookup(name)
        return self._tried() if hit is not None or why == "none" else why

    def _lookup(self, name: str) -> tuple[str | None, str]:
        """(FASTA name, how: exact/chr/case) or (None, why: none or the ambiguity)."""
        if name in self._cache:
            return self._cache[name]
        self._cache[name] = result = self._find(name)
        return result

    def _find(self, name: str) -> tuple[str | None, str]:
        if name in self.fasta_names:
            return name, "exact"
        variants = _candidates(name)[1:]
        hit = next((c for c in variants if c in self.fasta_names), None)
        if hit is not None:
            return hit, "chr"
        folded = _folded_candidates(name)
        for tier in (folded[:1], folded[1:]):  # Chr1 -> chr1 before Chr1 -> 1
            hits = {n for c in tier for n in self._folded.get(c, ())}
            if len(hits) > 1:
                return None, (f"ambiguous: it matches FASTA contigs {', '.join(sorted(hits))} ignoring case, so "
                              f"none is chosen")
            if hits:
                return hits.pop(), "case"
        return None, "none"

    def resolve(self, name: str, source: str = "VCF", report: bool = True) -> str | None:
        """The FASTA's name for ``name``, or None (logged and recorded once per source unless
        ``report`` is False)."""
        hit, how = self._lookup(name)
        if not report:
            return hit
        if hit is None and name not in self.unmatched.setdefault(source, set()):
            self.unmatched[source].add(name)
            log.warning("%s contig '%s' matches no FASTA contig (%s); its entries are not scored", source, name,
                        self.tried(name))
        elif how == "case" and name not in self._case_warned:
            self._case_warned.add(name)
            log.warning("%s contig '%s' is taken as FASTA contig '%s' (the names differ in case only)", source, name,
                        hit)
        return hit
