"""Harmonising contig names between FASTA, VCF and GTF (``chr1`` vs ``1``, ``chrM`` vs ``MT``).

The FASTA's names are the reference namespace: every VCF or GTF contig name is mapped onto one of
them, or reported once (by name) as unmatched.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

_MITO = ("chrM", "MT", "M", "chrMT")


def _candidates(name: str) -> list[str]:
    out = [name]
    if name in _MITO:
        out += [m for m in _MITO if m != name]
    if name.startswith("chr"):
        out.append(name[3:])
    else:
        out.append("chr" + name)
    return out


class ContigNames:
    """Maps contig names of other files onto the FASTA's names.

    ``resolve(name, source)`` returns the FASTA name or None; each unmatched (source, name) pair is
    logged once and kept in :attr:`unmatched` for the run summary.
    """

    def __init__(self, fasta_names):
        self.fasta_names = set(fasta_names)
        self._cache: dict[str, str | None] = {}
        self.unmatched: dict[str, set[str]] = {}

    @staticmethod
    def tried(name: str) -> str:
        """What :meth:`resolve` tries for ``name``, for messages."""
        return "chr prefix and chrM/MT tried"

    def resolve(self, name: str, source: str = "VCF", report: bool = True) -> str | None:
        """The FASTA's name for ``name``, or None (logged and recorded once per source unless
        ``report`` is False)."""
        if name in self._cache:
            hit = self._cache[name]
        else:
            hit = next((c for c in _candidates(name) if c in self.fasta_names), None)
            self._cache[name] = hit
        if hit is None and report and name not in self.unmatched.setdefault(source, set()):
            self.unmatched[source].add(name)
            log.warning("%s contig '%s' matches no FASTA contig (tried %s); its entries are not scored",
                        source, name, ", ".join(_candidates(name)))
        return hit
