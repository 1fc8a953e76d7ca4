"""Xpresso windows: 10,500 nt around each gene's TSS, plus the gene's mRNA half-life features.

In transcript orientation (reverse-complemented on '-') the TSS — gene start on '+', gene end on
'-' — sits at index 7000: 7,000 nt upstream, the TSS and 3,499 nt downstream. The TSS is the
anchor that indels keep in place (see :mod:`seqzoo.windows.fixed`). Forward-strand window:
[tss - 7000, tss + 3500) on '+', [tss - 3499, tss + 7001) on '-' (``tss`` 0-based).

Half-life features: ``halflife_file`` is a TSV with a header, ``gene_id`` in the first column and
the six features in the next six, in the order of Xpresso's training data (seqzoo does not reorder
or standardise them). Without the file every gene gets zeros — the Kipoi wrapper's choice, which
after the paper's standardisation means average mRNA features — and each row says so in
``halflife_source``: ``zeros`` (no file), ``file``, or ``zeros_gene_not_in_file``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..genome.fasta import GenomeError
from ..genome.gtf import read_spans
from ..genome.vcf import VariantAllele
from .fixed import AnchoredWindow, AnchoredWindowRule

WINDOW = 10_500
TSS_INDEX = 7_000
N_HALFLIFE = 6
#: (reason, detail) of an allele outside every gene's window
NO_FEATURE = ("not_in_promoter_window", "the variant overlaps no gene's 10,500-nt TSS window")

log = logging.getLogger("seqzoo.scoring")


def tss_window(feature_id: str, gene_id: str, chrom: str, strand: str, start: int, end: int) -> AnchoredWindow:
    """The window of a gene spanning 0-based [start, end) on ``strand``."""
    if strand == "+":
        w_start = start - TSS_INDEX
    else:
        w_start = (end - 1) - (WINDOW - 1 - TSS_INDEX)
    return AnchoredWindow(feature_id, gene_id, chrom, strand, w_start, w_start + WINDOW, TSS_INDEX)


def read_halflife_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """gene_id -> (6,) float32 from a TSV (header line; gene_id + six numeric columns).

    Every one of a gene's six features must be a finite number: an empty cell, ``NA``, ``NaN`` or
    ``inf`` would turn into NaN scores labelled ``halflife_source=file``, so it is a GenomeError
    naming the file, line, gene and columns (give all six numbers, or leave the gene out: it then
    gets zeros, as ``zeros_gene_not_in_file``).
    """
    path = Path(path)
    if not path.is_file():
        raise GenomeError(f"half-life file {path} does not exist")
    table: dict[str, np.ndarray] = {}
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if len(header) != 1 + N_HALFLIFE:
            raise GenomeError(f"half-life file {path}, line 1: expected a header of gene_id + {N_HALFLIFE} feature "
                              f"columns (tab-separated), found {len(header)} columns")
        for line_no, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 1 + N_HALFLIFE:
                raise GenomeError(f"half-life file {path}, line {line_no}: expected {1 + N_HALFLIFE} columns, "
                                  f"found {len(fields)}")
            gene = fields[0]
            values = np.array([_number(v) for v in fields[1:]], dtype=np.float32)
            bad = [f"{header[i + 1]}={fields[i + 1]!r}" for i in range(N_HALFLIFE) if not np.isfinite(values[i])]
            if bad:
                raise GenomeError(f"half-life file {path}, line {line_no}: the six features must be numbers, but "
                                  f"gene {gene} has {', '.join(bad)} (not a finite number; its scores would be "
                                  f"NaN). Give all six numbers for {gene}, or leave the gene out of the file (it "
                                  f"then gets zeros and its rows say halflife_source=zeros_gene_not_in_file)")
            if gene in table:
                raise GenomeError(f"half-life file {path}, line {line_no}: gene {gene} appears twice")
            table[gene] = values
    return table


def _number(text: str) -> float:
    """``text`` as a float; NaN for anything that is not a number (empty, ``NA``, ``abc``)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


class TssWindows(AnchoredWindowRule):
    """Gene TSS windows; every pair carries ``inputs={"halflife": (6,)}`` and ``halflife_source``."""

    def __init__(self, genome, gtf_path, names, halflife_file=None):
        windows = [tss_window(g.feature_id, g.gene_id, g.chrom, g.strand, g.start, g.end)
                   for g in read_spans(gtf_path, names, "gene")]
        super().__init__(genome, windows, NO_FEATURE)
        self.halflife_file = halflife_file
        self.halflife = read_halflife_file(halflife_file) if halflife_file else None

    def warn_inputs(self, feature_ids: list[str] | None = None) -> None:
        """Warn where windows get zeros for their half-life features, each warning once per process:
        without a half-life file, that every window does; with one, how many of the annotation's
        genes it lacks, or with ``feature_ids`` (e.g. the one window ``seqzoo ism`` mutates) which
        of these features' genes it lacks. Called when a run starts
        (:class:`seqzoo.windowing.VariantWindows`)."""
        if not self.features:
            return
        if self.halflife is None:
            _warn_no_file()
        elif feature_ids is None:
            _warn_missing_genes(self.halflife_file, self.halflife, sorted({w.gene_id for w in self.features}))
        else:
            index = self._feature_index()
            holds_some = any(w.gene_id in self.halflife for w in self.features)
            for gene in sorted({self.features[index[f]].gene_id for f in feature_ids if f in index}):
                _warn_gene_missing(self.halflife_file, self.halflife, gene, holds_some)

    def gene_inputs(self, gene_id: str) -> tuple[np.ndarray, str]:
        if self.halflife is None:
            return np.zeros(N_HALFLIFE, np.float32), "zeros"
        if gene_id in self.halflife:
            return self.halflife[gene_id], "file"
        return np.zeros(N_HALFLIFE, np.float32), "zeros_gene_not_in_file"

    def window_extras(self, w):
        hl, source = self.gene_inputs(w.gene_id)
        return {"halflife": hl}, {"halflife_source": source}


#: the warnings given in this process: "no file", a (file, annotation) of :func:`_warn_missing_genes`,
#: a (file, gene) of :func:`_warn_gene_missing`
_WARNED: set = set()
#: the likely cause where a half-life file holds none of the annotation's genes
_ID_FORMAT = "the gene IDs written the same way (e.g. Ensembl version suffixes such as '.5')?"


def _warn_no_file() -> None:
    """A warning, once per process, that without a half-life file every gene's features are zeros."""
    if "no file" in _WARNED:
        return
    _WARNED.add("no file")
    log.warning("Xpresso: no half-life file (--halflife-file; halflife_file= in Python), so every window's six mRNA "
                "half-life features are zeros (the Kipoi wrapper's default: average features after the paper's "
                "standardisation; rows say halflife_source=zeros). Give a TSV of gene_id and the six features for "
                "gene-specific inputs.")


def _warn_missing_genes(path, table: dict, genes: list[str]) -> None:
    """A warning naming how many of the annotation's ``genes`` the half-life file lacks (their
    windows get zeros, ``halflife_source=zeros_gene_not_in_file``), with examples; where it holds
    none of them, the likely cause (gene IDs written differently, e.g. with a version suffix). Once
    per process for a file and annotation."""
    missing = [g for g in genes if g not in table]
    key = (str(path), len(genes), tuple(missing[:3]), len(missing))
    if not missing or key in _WARNED:  # once per file and annotation (two Xpresso weight sets: one line)
        return
    _WARNED.add(key)
    examples = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    if len(missing) == len(genes):
        some = ", ".join(list(table)[:3])
        log.warning("half-life file %s holds none of the annotation's %d genes (file: %s; annotation: %s): every "
                    "Xpresso window gets zeros (halflife_source=zeros_gene_not_in_file). Are %s", path, len(genes),
                    some, examples, _ID_FORMAT)
    else:
        log.warning("half-life file %s lacks %d of the annotation's %d genes (%s): their Xpresso windows get "
                    "zeros (halflife_source=zeros_gene_not_in_file)", path, len(missing), len(genes), examples)


def _warn_gene_missing(path, table: dict, gene: str, holds_some: bool) -> None:
    """A warning, once per process for a file and gene, that ``gene`` has no row in the half-life
    file (its window gets zeros); where the file holds none of the annotation's genes
    (``holds_some`` False), the likely cause. For one window (``seqzoo ism``)."""
    key = (str(path), gene)
    if gene in table or key in _WARNED:
        return
    _WARNED.add(key)
    hint = "" if holds_some else (f". The file holds none of the annotation's genes (file: "
                                  f"{', '.join(list(table)[:3])}): are {_ID_FORMAT}")
    log.warning("half-life file %s has no row for gene %s: its Xpresso window gets zeros for the six half-life "
                "features (halflife_source=zeros_gene_not_in_file)%s", path, gene, hint)


def tss_rule(genome, gtf_path, names, halflife_file=None) -> TssWindows:
    return TssWindows(genome, gtf_path, names, halflife_file)
