"""Writing the input VCF back with seqzoo's effects as INFO fields (bgzipped, tabix-indexed).

One INFO field per model, ``SEQZOO_<model>`` (every character other than A-Z, a-z, 0-9 and ``_``
becomes ``_``: ``Xpresso/human_median`` -> ``SEQZOO_Xpresso_human_median``, ``BPNet-OSKN`` ->
``SEQZOO_BPNet_OSKN``), declared with ``Number=.``, ``Type=String`` and a Description in the form
Ensembl VEP writes for its CSQ field, ``... Format: Allele|Consequence|Feature|Gene|STRAND|<scores>``,
so that VEP-aware tools (``bcftools +split-vep -a SEQZOO_Framepool``, ``filter_vep``, slivar, ...)
parse it. One comma-separated entry per (ALT x feature):

* ``Allele``: the ALT; ``Consequence``: the model's window as a Sequence Ontology term
  (:attr:`seqzoo.spec.ModelSpec.consequence`, e.g. ``5_prime_UTR_variant`` for Framepool);
  ``Feature``: the feature (transcript, gene, donor, window) id; ``Gene``; ``STRAND``: 1 or -1;
* the model's scalar effect scores, 6 significant digits, named as in the score tables with every
  character other than A-Z, a-z, 0-9 and ``_`` made ``_`` (``Oct4/delta_log_counts`` ->
  ``Oct4_delta_log_counts``); ``nan`` where a score is undefined.

The header also records ``##seqzooVersion``, ``##seqzooCommand`` (the command line or API call) and,
per model, ``##seqzooModel=<ID=...,Weights=...,MD5=...,Citation="...">``. Every input record is
written, scored or not, with its sample columns. Records are written as soon as the scoring stream
has passed them.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from .errors import UsageError

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[,;=|\s]")
#: the VEP fields every entry starts with (before the model's scores)
LEADING_FIELDS = ("Allele", "Consequence", "Feature", "Gene", "STRAND")


def safe_name(name: str) -> str:
    """A model or score name as a VCF INFO ID / VEP field name (A-Z, a-z, 0-9, ``_``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def info_id(model: str) -> str:
    return "SEQZOO_" + safe_name(model)


def _text(value) -> str:
    """A text sub-field (ALT, feature ID) with INFO-unsafe characters replaced by '_'."""
    return _UNSAFE.sub("_", str(value))


def _fmt(value) -> str:
    if value is None:
        return ""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return _UNSAFE.sub("_", str(value))
    return format(f, ".6g")


def _quoted(text: str) -> str:
    return '"' + str(text).replace("\\", "/").replace('"', "'") + '"'


class VcfAnnotator:
    """Copies ``vcf_in`` to ``path`` (``.vcf.gz``: bgzipped + tabix index; ``.vcf``: plain) adding
    per-model INFO fields from scored rows.

    ``specs``: the models' :class:`seqzoo.spec.ModelSpec` objects (their scalar effects are the
    scores; their weights and citation go into the header), or {model: [score names]}.
    ``write(table, through_record)`` takes rows with ``model`` (or the single model), ``alt``,
    ``feature_id``, ``gene_id``, ``strand``, the effect columns and ``record`` (the 1-based VCF
    record number) and writes the records the stream has passed; ``close()`` writes the rest and
    indexes.
    """

    def __init__(self, path: str | os.PathLike, vcf_in: str | os.PathLike, specs, command: str | None = None):
        from cyvcf2 import VCF, Writer

        from . import __version__

        self.path = Path(path)
        if not (str(self.path).endswith(".vcf.gz") or str(self.path).endswith(".vcf")):
            raise UsageError(f"VCF output {self.path} must end in .vcf.gz or .vcf")
        if isinstance(specs, dict):
            self.effects, specs = {m: list(v) for m, v in specs.items()}, []
        else:
            self.effects = {s.name: list(s.effect_names) for s in specs}
        consequence = {s.name: s.consequence for s in specs}
        self._consequence = {m: consequence.get(m, "sequence_variant") for m in self.effects}
        self._reader = VCF(str(vcf_in), lazy=True)
        self._reader.add_to_header(f"##seqzooVersion={__version__}")
        self._reader.add_to_header(f"##seqzooCommand={command or 'seqzoo'}")
        for spec in specs:
            self._reader.add_to_header(
                f"##seqzooModel=<ID={info_id(spec.name)},Model={_quoted(spec.name)},Weights={spec.weights.filename},"
                f"MD5={spec.weights.md5},URL={_quoted(spec.weights.url)},Citation={_quoted(spec.citation)}>")
        for model, names in self.effects.items():
            fields = list(LEADING_FIELDS) + [safe_name(n) for n in names]
            self._reader.add_info_to_header({
                "ID": info_id(model), "Number": ".", "Type": "String",
                "Description": f"seqzoo {model} variant effects, one entry per ALT and feature (see "
                               f"seqzooModel). Format: {'|'.join(fields)}"})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(str(self.path), self._reader, mode="wz" if str(self.path).endswith(".gz") else "w")
        self._records = iter(self._reader)
        self._next_record = 1
        self._pending: dict[int, dict[str, list[str]]] = {}
        self._default_model = next(iter(self.effects))
        self.records_written = 0

    resumable = False

    def write(self, table, through_record: int | None = None) -> None:
        """Add the effects of a chunk's rows (a :class:`seqzoo.table.Table` or row dicts with
        ``record``) and write every VCF record up to ``through_record`` (the last one the stream has
        passed)."""
        rows = table.rows() if hasattr(table, "rows") else table
        for row in rows:
            model = row.get("model") or self._default_model
            strand = {"+": "1", "-": "-1"}.get(row.get("strand"), "")
            entry = "|".join([_text(row["alt"]), self._consequence[model], _text(row["feature_id"]),
                              _text(row.get("gene_id", "")), strand]
                             + [_fmt(row.get(name)) for name in self.effects[model]])
            self._pending.setdefault(int(row["record"]), {}).setdefault(model, []).append(entry)
        if through_record is not None:
            self.flush(upto=through_record + 1)

    def checkpoint(self, sync: bool = True) -> None:
        """An annotated VCF is written whole or not at all: nothing to resume from."""
        return None

    def sync(self) -> None:
        """Nothing to put on disk for a resume (see :meth:`checkpoint`)."""

    def suspend(self, state=None) -> None:
        self.abort()

    def flush(self, upto: int | None = None) -> None:
        """Write records numbered < ``upto`` (all remaining records when None)."""
        while upto is None or self._next_record < upto:
            try:
                rec = next(self._records)
            except StopIteration:
                break
            for model, entries in self._pending.pop(self._next_record, {}).items():
                rec.INFO[info_id(model)] = ",".join(entries)
            self._writer.write_record(rec)
            self._next_record += 1
            self.records_written += 1

    def abort(self) -> None:
        """Stop after a failure: close the files and delete the partial output."""
        self._writer.close()
        self._reader.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        self.flush(None)
        self._writer.close()
        self._reader.close()
        if str(self.path).endswith(".gz"):
            import pysam  # a dependency of seqzoo (setup.py): a missing pysam is a broken install, not an input
            try:
                pysam.tabix_index(str(self.path), preset="vcf", force=True)
            except (OSError, ValueError) as exc:  # unsorted input: a readable, unindexed file
                log.warning("could not tabix-index %s (%s); sort the input VCF to get an index", self.path, exc)
