"""Sharding a VCF and merging per-shard, per-model ``seqzoo score`` outputs (the Snakemake workflow).

:func:`shard` splits a VCF (plain or bgzipped) into ``shard_00000.vcf``, ... (each with the full
header) and writes ``manifest.tsv`` (``shard``, ``first_record`` (1-based global record number),
``n_records``, ``contig``). A shard ends when the contig changes or it holds ``records_per_shard``
records, so the shards, read in manifest order, are the VCF in file order (an unsorted VCF too).

Each shard is scored per model, ``seqzoo score --model M --vcf shard.vcf -o
parts/<safe M>/<shard>.parquet`` (``safe`` = :func:`safe_name`), which also writes
``.parquet.skipped.tsv`` and ``.parquet.summary.json``.

:func:`merge` puts the parts back together into what one ``seqzoo score --model M1,M2,...`` run
over the whole VCF writes: one Parquet (rows allele-major in VCF order, models in the given order
within an allele; a first ``model`` column and the union of the models' columns with several
models), the annotated VCF (:class:`seqzoo.vcf_output.VcfAnnotator` over the original VCF), the
skip report with a multi-model run's semantics (see
:meth:`seqzoo.scoring.VariantWindows._allele_events`) and the summary JSON.
"""
from __future__ import annotations

import csv
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .accounting import SKIP_SCHEMA, ModelOutcome, RunSummary, Skip, combine_models
from .errors import SeqzooError, UsageError
from .genome.fasta import GenomeError
from .genome.textfile import open_text
from .output_paths import OutputPathError
from .outputs import TableWriter
from .table import Column, Table, model_columns, score_columns

MANIFEST_COLUMNS = ("shard", "first_record", "n_records", "contig")


def safe_name(model: str) -> str:
    """A model name usable as a file/folder name (``Xpresso/human_median`` -> ``Xpresso_human_median``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model)


@dataclass(frozen=True)
class Shard:
    name: str
    first_record: int
    n_records: int
    contig: str

    @property
    def last_record(self) -> int:
        return self.first_record + self.n_records - 1


def shard(vcf: str | Path, out_dir: str | Path, records_per_shard: int) -> list[Shard]:
    """Split ``vcf`` into ``out_dir/shard_NNNNN.vcf`` + ``out_dir/manifest.tsv``; returns the shards.

    A VCF without records gives one header-only shard (so every model still runs once and the
    merged outputs exist).
    """
    if records_per_shard < 1:
        raise UsageError(f"records_per_shard must be >= 1, not {records_per_shard}")
    vcf, out_dir = Path(vcf), Path(out_dir)
    if not vcf.is_file():
        raise GenomeError(f"VCF file {vcf} does not exist")
    from .genome.vcf import check_compressed
    check_compressed(vcf)  # a truncated gzip: one clear error, not htslib's or zlib's
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("shard_*.vcf"):
        if os.path.samefile(old, vcf):
            raise OutputPathError(f"the input VCF {vcf} is a shard file of the output folder {out_dir} (shards there "
                                  f"are replaced); give another output folder")
    for old in out_dir.glob("shard_*.vcf"):
        old.unlink()
    header: list[str] = []
    shards: list[Shard] = []
    fh_out = None
    record = 0
    current: dict | None = None

    def close_current():
        nonlocal fh_out
        if fh_out is not None:
            fh_out.close()
            fh_out = None
            shards.append(Shard(current["name"], current["first"], current["n"], current["contig"]))

    try:
        with open_text(vcf, newline="") as fh:
            for line in fh:
                if line.startswith("#"):
                    if current is not None:
                        raise GenomeError(f"VCF file {vcf}: header line after the first record: {line[:60]!r}")
                    header.append(line if line.endswith("\n") else line + "\n")
                    continue
                if not line.strip():
                    continue
                if not header or not header[-1].startswith("#CHROM"):
                    raise GenomeError(f"VCF file {vcf}: a record before the '#CHROM POS ID REF ALT ...' header line "
                                      f"({line[:40]!r}). Is it a VCF?")
                record += 1
                contig = line.split("\t", 1)[0]
                if current is None or current["contig"] != contig or current["n"] >= records_per_shard:
                    close_current()
                    current = {"name": f"shard_{len(shards):05d}", "first": record, "n": 0, "contig": contig}
                    fh_out = open(out_dir / f"{current['name']}.vcf", "w", newline="")
                    fh_out.writelines(header)
                current["n"] += 1
                fh_out.write(line if line.endswith("\n") else line + "\n")
        close_current()
    finally:
        if fh_out is not None:
            fh_out.close()
    if not shards:  # no records: one header-only shard
        (out_dir / "shard_00000.vcf").write_text("".join(header))
        shards.append(Shard("shard_00000", 1, 0, ""))
    with open(out_dir / "manifest.tsv", "w", newline="") as fh:
        fh.write("\t".join(MANIFEST_COLUMNS) + "\n")
        for s in shards:
            fh.write(f"{s.name}\t{s.first_record}\t{s.n_records}\t{s.contig}\n")
    return shards


def read_manifest(path: str | Path) -> list[Shard]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [Shard(r["shard"], int(r["first_record"]), int(r["n_records"]), r["contig"]) for r in rows]


def part_path(parts_dir: str | Path, model: str, shard_name: str) -> Path:
    return Path(parts_dir) / safe_name(model) / f"{shard_name}.parquet"


def _read_tsv(path: Path) -> list[dict]:
    """A seqzoo TSV (unquoted, tab-separated) as string dicts, exactly as written."""
    with open(path, newline="") as fh:
        lines = fh.read().split("\n")
    columns = lines[0].split("\t")
    return [dict(zip(columns, line.split("\t"))) for line in lines[1:] if line]


def _alleles_by_shard(vcf: Path, shards: Sequence[Shard]) -> Iterator[tuple[Shard, list]]:
    """(shard, its alleles in file order) for every shard, from one pass over the original VCF. The
    first allele of each record carries its duplicate-ID flags (``allele_duplicate``: record ->
    (duplicate?, expected false share)), computed block by block as a single run does."""
    from .accounting import DuplicateIds
    from .genome.vcf import iter_record_blocks

    ids = DuplicateIds()

    def alleles():
        for block in iter_record_blocks(vcf):
            dup, false = ids.flags(block.ids)
            for i in range(len(block)):
                for a in block.alleles(i):
                    yield a, (bool(dup[i]), float(false[i])) if a.alt_index == 0 else None

    stream = alleles()
    pending = None
    for s in shards:
        group = []
        if pending is not None:
            group.append(pending)
            pending = None
        for item in stream:
            if item[0].record > s.last_record:
                pending = item
                break
            group.append(item)
        if any(a.record < s.first_record for a, _ in group):
            raise MergeError(f"manifest does not match {vcf}: records before shard {s.name}'s first record")
        if group and group[-1][0].record != s.last_record or (not group and s.n_records):
            raise MergeError(f"manifest does not match {vcf}: shard {s.name} should hold records "
                             f"{s.first_record}..{s.last_record}")
        yield s, group
    if pending is not None or next(stream, None) is not None:
        raise MergeError(f"manifest does not match {vcf}: the VCF has records after the last shard")


class MergeError(SeqzooError, ValueError):
    """Parts that do not fit the manifest or the VCF (missing, from another run, changed)."""


def _numpy_column(chunked, column: Column) -> np.ndarray:
    """A Parquet column written by seqzoo as the numpy array :class:`seqzoo.table.Table` holds."""
    arr = chunked.combine_chunks() if hasattr(chunked, "combine_chunks") else chunked
    if column.kind == "str":
        out = np.empty(len(arr), dtype=object)
        out[:] = arr.to_pylist()
        return out
    if not column.shape:
        return arr.to_numpy(zero_copy_only=False).astype(np.int64 if column.kind == "int" else column.kind)
    for _ in column.shape:
        arr = arr.flatten()
    return arr.to_numpy(zero_copy_only=False).astype(np.float32).reshape((len(chunked),) + column.shape)


class _Part:
    """One model's part of one shard: its rows (a Table) by global (record, alt_index), its skip rows."""

    def __init__(self, path: Path, spec, offset: int, n_alleles: int):
        import pyarrow.parquet as pq

        if not path.is_file():
            raise MergeError(f"part {path} is missing (run `seqzoo score` for model {spec.name} on its shard)")
        summary = json.loads(Path(str(path) + ".summary.json").read_text())
        if summary["alleles"] != n_alleles:
            raise MergeError(f"{path}.summary.json counts {summary['alleles']} alleles, its shard has {n_alleles}")
        self.unmatched = summary.get("unmatched_contigs", {})
        schema = model_columns(spec, vectors=True)
        data = pq.read_table(path)
        missing = [c.name for c in schema if c.name not in data.column_names]
        if missing:
            raise MergeError(f"part {path} lacks the columns {missing[:4]}: it was not written by this seqzoo's "
                             f"`seqzoo score --model {spec.name} -o X.parquet`")
        self.table = Table(data.num_rows, {c.name: _numpy_column(data.column(c.name), c) for c in schema})
        keys = self.table.columns["record"] + offset, self.table.columns["alt_index"]
        self.table.columns["record"] = keys[0]
        self._keys = keys[0] * 1_000_000 + keys[1]
        if np.any(np.diff(self._keys) < 0):
            raise MergeError(f"part {path}: rows are not in VCF order")
        self.used = 0
        self._outside = []  # (first key, last key) of the part's runs of alleles outside every feature
        outside = Path(str(path) + ".outside.tsv")
        if outside.is_file():
            for row in _read_tsv(outside):
                self._outside.append(((int(row["first_record"]) + offset) * 1_000_000 + int(row["first_alt_index"]),
                                      (int(row["last_record"]) + offset) * 1_000_000 + int(row["last_alt_index"])))
        self._outside_starts = np.array([a for a, _ in self._outside], dtype=np.int64)
        self.allele_skips: dict[tuple, dict] = {}
        self.feature_skips: dict[tuple, list] = {}
        for row in _read_tsv(Path(str(path) + ".skipped.tsv")):
            key = (int(row["record"]) + offset, int(row["alt_index"]))
            if row["feature_id"]:
                self.feature_skips.setdefault(key, []).append(row)
            elif key in self.allele_skips:
                raise MergeError(f"{path}.skipped.tsv has two allele skips for record {row['record']}")
            else:
                self.allele_skips[key] = row

    def is_outside(self, record: int, alt_index: int) -> bool:
        """Whether the part lists the allele in a run outside every feature of its model."""
        key = record * 1_000_000 + alt_index
        k = int(np.searchsorted(self._outside_starts, key, side="right")) - 1
        return k >= 0 and self._outside[k][1] >= key

    def rows_of(self, record: int, alt_index: int) -> np.ndarray:
        """Indices of the part's rows of one allele."""
        key = record * 1_000_000 + alt_index
        lo, hi = np.searchsorted(self._keys, key, "left"), np.searchsorted(self._keys, key, "right")
        self.used += hi - lo
        return np.arange(lo, hi)


def merge(manifest: str | Path, parts_dir: str | Path, models: Sequence[str], vcf: str | Path,
          out_parquet: str | Path, out_vcf: str | Path | None = None, out_skipped: str | Path | None = None,
          out_summary: str | Path | None = None, command_line: str | None = None,
          out_outside: str | Path | None = None) -> RunSummary:
    """Merge ``parts_dir/<safe model>/<shard>.parquet`` (+ ``.skipped.tsv``, ``.summary.json``) into the
    outputs of one multi-model run over ``vcf``; returns the merged :class:`RunSummary`.

    Part rows are matched to alleles by their ``record`` (shard-local, offset by the shard's first
    record) and ``alt_index``; each allele's per-model outcomes are combined by
    :func:`seqzoo.accounting.combine_models`, the function a single run uses.
    """
    from . import registry
    from .genome.assembly import RefMismatchMonitor
    from .api import OUTSIDE_SCHEMA
    from .outputs import default_outside_path, default_skip_path, default_summary_path
    from .vcf_output import VcfAnnotator
    from .windowing import OutsideRun, _extend

    models = list(models)
    if not models or len(set(models)) != len(models):
        raise MergeError(f"models must be distinct and at least one: {models}")
    specs = [registry.get(m) for m in models]
    shards = read_manifest(manifest)
    vcf = Path(vcf)
    multi = len(models) > 1
    schema = score_columns(specs, vectors=True)
    out_skipped = Path(out_skipped) if out_skipped else default_skip_path(out_parquet)
    out_summary = Path(out_summary) if out_summary else default_summary_path(out_parquet)
    summary = RunSummary()
    refs = RefMismatchMonitor(vcf)
    unmatched: dict[str, set] = {}
    writer = TableWriter(out_parquet, schema)
    annotator = VcfAnnotator(out_vcf, vcf, specs, command=command_line or f"seqzoo merge --model {','.join(models)}") \
        if out_vcf else None
    skips = TableWriter(out_skipped, SKIP_SCHEMA)
    outside = TableWriter(default_outside_path(out_parquet) if out_outside is None else out_outside, OUTSIDE_SCHEMA)
    completed = False
    runs: list = []  # runs of alleles outside every model's features, as a single run joins them
    before = None  # (record, ALT index) of the last allele merged
    try:
        for s, alleles in _alleles_by_shard(vcf, shards):
            parts = {spec.name: _Part(part_path(parts_dir, spec.name, s.name), spec, s.first_record - 1, len(alleles))
                     for spec in specs}
            for part in parts.values():
                for source, names in part.unmatched.items():
                    unmatched.setdefault(source, set()).update(names)
            picks: dict[str, list] = {m: [] for m in models}  # per model: (part row, output position)
            n_out, skip_rows = 0, []
            for a, duplicate in alleles:
                if duplicate is not None:
                    summary.count_duplicates(np.array([duplicate[0]]), np.array([duplicate[1]]), [a.vcf_id],
                                             [a.record], vcf)
                result = combine_models(a, *_outcomes(a, specs, parts))
                for model, row in result.rows:
                    picks[model].append((row, n_out))
                    n_out += 1
                refs.add(result, summary)
                summary.count(result)
                if result.outside:  # as a single run reports them: runs in OUT.outside.tsv
                    where = f"{a.chrom}:{a.pos}"
                    _extend(runs, OutsideRun((a.record, a.alt_index), (a.record, a.alt_index), 1, where, where,
                                             result.skips[0].reason), before)
                else:
                    skip_rows += [skip.as_row() for skip in result.skips]
                before = (a.record, a.alt_index)  # (a run continues only from the allele just before)
            for name, part in parts.items():
                if part.used != part.table.n:
                    raise MergeError(f"{part_path(parts_dir, name, s.name)}: {part.table.n - part.used} rows belong "
                                     f"to no allele of shard {s.name}; the part does not match the shard's VCF")
            blocks = []
            for name, chosen in picks.items():
                if chosen:
                    rows, positions = np.array(chosen, dtype=np.int64).T
                    part = parts[name].table
                    cols = {k: v[rows] for k, v in part.columns.items()}
                    if multi:
                        cols["model"] = np.full(len(rows), name, dtype=object)
                    blocks.append((Table(len(rows), cols), positions))
            table = Table.stack(blocks, n_out, schema)
            writer.write(table)
            skips.write(Table.from_rows(skip_rows, SKIP_SCHEMA))
            pending = runs.pop() if runs else None  # the last run may go on in the next shard
            outside.write(Table.from_rows([r.as_row() for r in runs], OUTSIDE_SCHEMA))
            runs = [pending] if pending else []
            if annotator is not None:
                annotator.write(table, through_record=s.last_record)
        outside.write(Table.from_rows([r.as_row() for r in runs], OUTSIDE_SCHEMA))
        completed = True
    finally:
        outside.close()
        if completed:
            writer.close()
            skips.close()
            if annotator is not None:
                annotator.close()
        else:
            writer.abort()
            skips.close()
            if annotator is not None:
                annotator.abort()
    refs.finish(summary)
    summary.unmatched_contigs = unmatched
    summary.check()
    Path(out_summary).write_text(summary.to_json() + "\n")
    return summary


def _outcomes(allele, specs, parts: dict) -> tuple[list[ModelOutcome], tuple[str, str] | None]:
    """Each model's outcome for ``allele`` from its part (rows as (model, part row) pairs), and the
    allele's own problem when every part skipped it without a model (REF mismatch, ...)."""
    key = (allele.record, allele.alt_index)
    outcomes, problems = [], []
    for spec in specs:
        part = parts[spec.name]
        rows = [(spec.name, int(i)) for i in part.rows_of(*key)]
        failed = part.allele_skips.get(key)
        if rows and failed is not None:
            raise MergeError(f"model {spec.name}: allele {allele.variant_id} (record {allele.record}) has rows and an "
                             f"allele-level skip in its part")
        if not rows and failed is None:
            if not part.is_outside(*key):
                raise MergeError(f"model {spec.name}: allele {allele.variant_id} (record {allele.record}) has "
                                 f"neither rows nor a skip in its part; the part does not match the shard's VCF")
            outcomes.append(ModelOutcome(spec.name, [], [], tuple(spec.no_feature), covered=False))
            continue
        feature_skips = [Skip(allele, r["reason"], r["detail"], r["feature_id"], r["model"])
                         for r in part.feature_skips.get(key, [])]
        if failed is not None and not failed["model"]:
            problems.append((failed["reason"], failed["detail"]))
            continue
        failure = (failed["reason"], failed["detail"]) if failed is not None else None
        outcomes.append(ModelOutcome(spec.name, rows, feature_skips, failure,
                                     covered=failure is None or failure[0] != spec.no_feature_reason))
    if problems:
        if len(problems) != len(specs):
            raise MergeError(f"allele {allele.variant_id} (record {allele.record}) is skipped as {problems[0][0]} "
                             f"by some models' parts and not by others; the parts come from different inputs")
        return [], problems[0]
    return outcomes, None


def add_parsers(sub) -> None:
    """``seqzoo shard`` and ``seqzoo merge`` subcommands on an argparse subparsers object."""
    p = sub.add_parser("shard", help="split a VCF into shards by contig and size (for the Snakemake workflow)")
    p.add_argument("--vcf", required=True, help="variants VCF (plain or bgzipped)")
    p.add_argument("--records-per-shard", type=int, required=True, help="most records in one shard")
    p.add_argument("-o", "--output", required=True, help="folder for shard_NNNNN.vcf and manifest.tsv")
    m = sub.add_parser("merge", help="merge per-shard, per-model score parts into one run's outputs")
    m.add_argument("--manifest", required=True, help="manifest.tsv written by seqzoo shard")
    m.add_argument("--parts", required=True, help="folder holding <model>/<shard>.parquet from seqzoo score")
    m.add_argument("--model", required=True, help="models, comma-separated, in the order of the single run")
    m.add_argument("--vcf", required=True, help="the original (unsharded) VCF")
    m.add_argument("-o", "--output", required=True, help="merged .parquet")
    m.add_argument("--vcf-output", default=None, help="merged annotated VCF (.vcf.gz or .vcf)")
    m.add_argument("--skipped", default=None, help="merged skip report (default: OUTPUT.skipped.tsv)")
    m.add_argument("--summary", default=None, help="merged summary (default: OUTPUT.summary.json)")
    m.add_argument("--outside", default=None,
                   help="merged runs of alleles outside every model's features (default: OUTPUT.outside.tsv)")
    for q in (p, m):
        q.add_argument("-q", "--quiet", action="store_true", help="no summary line")


def run(args) -> int:
    if args.command == "shard":
        from .output_paths import claim_outputs
        with claim_outputs({"-o": Path(args.output) / "manifest.tsv"}, {"--vcf": args.vcf}):
            shards = shard(args.vcf, args.output, args.records_per_shard)
        if not args.quiet:
            print(f"seqzoo shard: {sum(s.n_records for s in shards)} records in {len(shards)} shards "
                  f"-> {Path(args.output) / 'manifest.tsv'}", file=sys.stderr)
        return 0
    models = [n.strip() for n in args.model.split(",") if n.strip()]
    from .outputs import default_outside_path, default_skip_path, default_summary_path
    from .output_paths import claim_outputs
    outputs = {"-o": args.output, "--vcf-output": args.vcf_output,
               "--skipped": args.skipped or default_skip_path(args.output),
               "--summary": args.summary or default_summary_path(args.output),
               "--outside": args.outside or default_outside_path(args.output)}
    if args.vcf_output and str(args.vcf_output).endswith(".gz"):
        outputs["index"] = str(args.vcf_output) + ".tbi"
    with claim_outputs({k: v for k, v in outputs.items() if v}, {"--vcf": args.vcf, "--manifest": args.manifest}):
        summary = merge(args.manifest, args.parts, models, args.vcf, args.output, args.vcf_output, args.skipped,
                        args.summary, command_line=getattr(args, "command_line", None), out_outside=args.outside)
    if not args.quiet:
        print(f"seqzoo merge {','.join(models)}: {summary.line(outside_runs=True)}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """``python -m seqzoo.workflow shard|merge ...`` (the same as ``seqzoo shard|merge``)."""
    from .cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
