"""Writing the input VCF back with seqzoo's effects as INFO fields (bgzipped, tabix-indexed).

One INFO field per model, ``SEQZOO_<model>`` (``/`` in a model name becomes ``_``), declared in the
header with ``Number=.``, ``Type=String`` and a Description naming its sub-fields, in VEP's CSQ
style: one comma-separated entry per (ALT x feature), each ``ALT|feature_id|score1|score2|...``
(the model's scalar effect scores, see the model cards). Every input record is written, scored or
not, with its sample columns. Records are written as soon as the scoring stream has passed them.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from .errors import UsageError

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[,;=|\s]")


def info_id(model: str) -> str:
    return "SEQZOO_" + re.sub(r"[^A-Za-z0-9_]", "_", model)


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


class VcfAnnotator:
    """Copies ``vcf_in`` to ``path`` (``.vcf.gz``: bgzipped + tabix index; ``.vcf``: plain) adding
    per-model INFO fields from scored rows.

    ``write(table, through_record)`` takes rows with ``model`` (or the single model), ``alt``,
    ``feature_id``, the effect columns and ``record`` (the 1-based VCF record number) and writes the
    records the stream has passed; ``close()`` writes the rest and indexes.
    """

    def __init__(self, path: str | os.PathLike, vcf_in: str | os.PathLike, effects_by_model: dict[str, list[str]]):
        from cyvcf2 import VCF, Writer

        self.path = Path(path)
        if not (str(self.path).endswith(".vcf.gz") or str(self.path).endswith(".vcf")):
            raise UsageError(f"VCF output {self.path} must end in .vcf.gz or .vcf")
        self.effects = effects_by_model
        self._reader = VCF(str(vcf_in), lazy=True)
        for model, names in effects_by_model.items():
            self._reader.add_info_to_header({
                "ID": info_id(model), "Number": ".", "Type": "String",
                "Description": f"seqzoo {model} variant effects, one entry per ALT and feature: "
                               f"Format: ALT|feature_id|{'|'.join(names)}"})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(str(self.path), self._reader, mode="wz" if str(self.path).endswith(".gz") else "w")
        self._records = iter(self._reader)
        self._next_record = 1
        self._pending: dict[int, dict[str, list[str]]] = {}
        self._default_model = next(iter(effects_by_model))
        self.records_written = 0

    resumable = False

    def write(self, table, through_record: int | None = None) -> None:
        """Add the effects of a chunk's rows (a :class:`seqzoo.table.Table` or row dicts with
        ``record``) and write every VCF record up to ``through_record`` (the last one the stream has
        passed)."""
        rows = table.rows() if hasattr(table, "rows") else table
        for row in rows:
            model = row.get("model") or self._default_model
            entry = "|".join([_text(row["alt"]), _text(row["feature_id"])]
                             + [_fmt(row.get(name)) for name in self.effects[model]])
            self._pending.setdefault(int(row["record"]), {}).setdefault(model, []).append(entry)
        if through_record is not None:
            self.flush(upto=through_record + 1)

    def checkpoint(self) -> None:
        """An annotated VCF is written whole or not at all: nothing to resume from."""
        return None

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
