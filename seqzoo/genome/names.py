"""Harmonising contig names between FASTA, VCF, GTF and BED (``chr1`` vs ``1`` vs ``Chr1`` vs
``NC_000001.11``).

The FASTA's names are the reference namespace: every other file's contig name is mapped onto one
of them, or reported once (by name) as unmatched. A name is tried, in this order: as written; in
the alias file (a UCSC chromAlias file, :func:`read_chrom_alias`), when one is given; with or
without a ``chr`` prefix, ``chrM``/``MT``/``M`` as one (and those spellings in the alias file);
ignoring case. A match by alias or case must be unique: a name that two FASTA contigs would
answer is left unmatched, and the message says why.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .fasta import GenomeError
from .textfile import open_text

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


# -- alias files ----------------------------------------------------------------------------------
@dataclass
class ChromAlias:
    """A UCSC chromAlias file: groups of names of one sequence each.

    ``groups[i]`` holds every name of one sequence, read from line ``lines[i]`` (1-based);
    ``by_name`` maps a name to the groups it is in.
    """

    path: Path
    groups: list[tuple[str, ...]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    by_name: dict[str, list[int]] = field(default_factory=dict)

    def add(self, names, line_no: int) -> None:
        i = len(self.groups)
        group = tuple(dict.fromkeys(names))
        self.groups.append(group)
        self.lines.append(line_no)
        for name in group:
            self.by_name.setdefault(name, []).append(i)



def read_chrom_alias(path: str | os.PathLike) -> ChromAlias:
    """Read a UCSC chromAlias file (plain or gzipped), in either layout:

    * the newer one: a first line ``# ucsc<TAB>assembly<TAB>genbank<TAB>refseq ...`` naming the
      columns, then one row per sequence whose every (non-empty) column names that sequence;
    * the older one (the chromAlias database table): ``alias<TAB>ucscName<TAB>source`` rows, no
      header; the rows of one ``ucscName`` name one sequence.

    Raises GenomeError naming the file and line for a row that fits neither layout.
    """
    path = Path(path)
    if not path.is_file():
        raise GenomeError(f"alias file {path} does not exist")
    alias = ChromAlias(path)
    header: list[str] | None = None
    old: dict[str, tuple[list[str], int]] = {}  # older layout: ucscName -> (aliases, first line)
    seen_data = False
    try:
        with open_text(path) as fh:
            for line_no, line in enumerate(fh, start=1):
                text = line.rstrip("\r\n")
                if not text.strip():
                    continue
                if text.startswith("#"):
                    if not seen_data and header is None:
                        header = text.lstrip("#").split()
                        if header[:1] == ["alias"]:  # a commented older-layout header: alias chrom source
                            header = []
                    continue
                seen_data = True
                cells = [c.strip() for c in text.split("\t")]
                if any(" " in c for c in cells):
                    raise GenomeError(f"alias file {path}, line {line_no}: {text[:80]!r} has a space inside a "
                                      f"column; columns must be separated by tabs and names hold no spaces")
                if header:
                    if len(cells) > len(header):
                        raise GenomeError(f"alias file {path}, line {line_no}: {len(cells)} tab-separated columns, "
                                          f"but the header line names {len(header)} ({' '.join(header)})")
                    names = [c for c in cells if c]
                    if len(names) > 1:
                        alias.add(names, line_no)
                    continue
                if len(cells) not in (2, 3) or not cells[0] or not cells[1]:
                    raise GenomeError(f"alias file {path}, line {line_no}: expected 3 tab-separated columns "
                                      f"(alias, UCSC name, source: the older chromAlias layout), found "
                                      f"{text[:80]!r}. A file in the newer layout starts with a header line "
                                      f"'# ucsc<TAB>assembly<TAB>...' naming its columns.")
                names, first = old.setdefault(cells[1], ([cells[1]], line_no))
                names.append(cells[0])
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise GenomeError(f"Cannot read alias file {path}: {exc}. Give a UCSC chromAlias file (tab-separated "
                          f"text, plain or gzipped).") from exc
    for names, first in old.values():
        alias.add(names, first)
    if not alias.groups:
        raise GenomeError(f"alias file {path} names no aliases: give a UCSC chromAlias file ('# ucsc<TAB>assembly"
                          f"<TAB>...' header and one row of names per sequence, or alias<TAB>ucscName<TAB>source "
                          f"rows)")
    return alias


# -- the map ------------------------------------------------------------------------------------
#: what to do about another file's contig names that are not the FASTA's (messages end with it)
ALIAS_FIX = ("give --chrom-alias FILE (a UCSC chromAlias file mapping its names onto the FASTA's; chrom_alias= in "
             "Python)")


class ContigMismatchError(GenomeError):
    """A GTF (or a VCF header) none of whose contigs is a FASTA contig: another assembly or naming
    convention (fatal even for ``--model all``, which otherwise leaves out a model the GTF cannot
    serve); also a GTF all of whose features lie past their contig's end."""


def some_names(names: list[str], k: int = 3) -> str:
    """The first ``k`` of ``names`` for a message, and how many there are in all when more."""
    shown = ", ".join(names[:k])
    return f"{shown}, ... ({len(names)} in all)" if len(names) > k else shown


class ContigNames:
    """Maps contig names of other files onto the FASTA's names.

    ``fasta_names``: the FASTA's contig names, or its {name: length}. ``aliases``: None, a UCSC
    chromAlias file path or a :class:`ChromAlias`. ``fasta``: the FASTA's path, for messages.
    ``resolve(name, source)`` returns the FASTA name or None; each unmatched (source, name) pair is
    logged once and kept in :attr:`unmatched` for the run summary; a name matched only by ignoring
    case is logged once.
    """

    def __init__(self, fasta_names, aliases=None, fasta=None):
        self.fasta_order = list(fasta_names)
        self.fasta_names = set(self.fasta_order)
        #: {FASTA contig: length} where ``fasta_names`` is such a mapping (a Genome's ``lengths``), else {}
        self.lengths: dict[str, int] = dict(fasta_names) if isinstance(fasta_names, dict) else {}
        self.fasta = fasta
        if aliases is not None and not isinstance(aliases, ChromAlias):
            aliases = read_chrom_alias(aliases)
        self.aliases: ChromAlias | None = aliases
        self._folded: dict[str, list[str]] = {}
        for n in sorted(self.fasta_names):
            self._folded.setdefault(n.lower(), []).append(n)
        self._cache: dict[str, tuple[str | None, str]] = {}  # name -> (FASTA name, how / why not)
        self._case_warned: set[str] = set()
        self.unmatched: dict[str, set[str]] = {}

    @property
    def alias_file(self) -> Path | None:
        return self.aliases.path if self.aliases is not None else None

    def fasta_label(self) -> str:
        """The FASTA as messages name it: ``FASTA file <path>``, or ``the FASTA``."""
        return f"FASTA file {self.fasta}" if self.fasta else "the FASTA"

    def rules_tried(self) -> str:
        """What is tried for every name, for messages."""
        if self.aliases is None:
            return "chr prefix, chrM/MT and case tried"
        return f"chr prefix, chrM/MT, case and the alias file {self.aliases.path} tried"

    def tried(self, name: str) -> str:
        """Why ``name`` matches no FASTA contig, for messages (what was tried, or the ambiguity)."""
        hit, why = self._lookup(name)
        return self.rules_tried() if hit is not None or why == "none" else why

    def _via_alias(self, names: list[str]) -> tuple[set[str], list[int]]:
        """FASTA names the alias file gives for any of ``names``, and the lines it says so on."""
        hits, lines = set(), []
        if self.aliases is not None:
            for name in names:
                for i in self.aliases.by_name.get(name, ()):
                    found = self.fasta_names.intersection(self.aliases.groups[i])
                    if found:
                        hits |= found
                        lines.append(self.aliases.lines[i])
        return hits, lines

    def _lookup(self, name: str) -> tuple[str | None, str]:
        """(FASTA name, how: exact/alias/chr/case) or (None, why: none or the ambiguity)."""
        if name in self._cache:
            return self._cache[name]
        self._cache[name] = result = self._find(name)
        return result

    def _find(self, name: str) -> tuple[str | None, str]:
        if name in self.fasta_names:
            return name, "exact"
        hits, lines = self._via_alias([name])
        if len(hits) > 1:
            return None, self._alias_ambiguity(hits, lines)
        if hits:
            return hits.pop(), "alias"
        variants = _candidates(name)[1:]
        hit = next((c for c in variants if c in self.fasta_names), None)
        if hit is not None:
            return hit, "chr"
        hits, lines = self._via_alias(variants)
        if len(hits) > 1:
            return None, self._alias_ambiguity(hits, lines)
        if hits:
            return hits.pop(), "alias"
        folded = _folded_candidates(name)
        for tier in (folded[:1], folded[1:]):  # Chr1 -> chr1 before Chr1 -> 1
            hits = {n for c in tier for n in self._folded.get(c, ())}
            if len(hits) > 1:
                return None, (f"ambiguous: it matches FASTA contigs {', '.join(sorted(hits))} ignoring case, so "
                              f"none is chosen")
            if hits:
                return hits.pop(), "case"
        return None, "none"

    def _alias_ambiguity(self, hits: set[str], lines: list[int]) -> str:
        return (f"ambiguous: the alias file {self.aliases.path} gives it for several FASTA contigs, "
                f"{', '.join(sorted(hits))} (lines {', '.join(map(str, sorted(set(lines))))}), so none is chosen")

    def resolve(self, name: str, source: str = "VCF", report: bool = True) -> str | None:
        """The FASTA's name for ``name``, or None (logged and recorded once per source unless
        ``report`` is False)."""
        hit, how = self._lookup(name)
        if not report:
            return hit
        if hit is None and name not in self.unmatched.setdefault(source, set()):
            self.unmatched[source].add(name)
            log.warning("%s contig '%s' matches no FASTA contig (%s); its entries are not scored%s", source, name,
                        self.tried(name), "" if self.aliases is not None else
                        f"; if the FASTA names it another way, {ALIAS_FIX}")
        elif how == "case" and name not in self._case_warned:
            self._case_warned.add(name)
            log.warning("%s contig '%s' is taken as FASTA contig '%s' (the names differ in case only)", source, name,
                        hit)
        return hit
