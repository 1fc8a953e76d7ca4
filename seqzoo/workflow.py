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

import argparse
import csv
import gzip
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from .output_paths import OutputPathError
from .outputs import TableWriter
from .scoring import SKIP_COLUMNS, ModelsScorer, PairScorer, RunSummary
from .windows.base import NO_FEATURE_REASONS

MANIFEST_COLUMNS = ("shard", "first_record", "n_records", "contig")


def safe_name(model: str) -> str:
    """A model name usable as a file/folder name (``Xpresso/human_median`` -> ``Xpresso_human_median``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model)


def _open_text(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", newline="") if gz else open(path, "r", newline="")


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
        raise ValueError(f"records_per_shard must be >= 1, not {records_per_shard}")
    vcf, out_dir = Path(vcf), Path(out_dir)
    if not vcf.is_file():
        raise FileNotFoundError(f"VCF file {vcf} does not exist")
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
        with _open_text(vcf) as fh:
            for line in fh:
                if line.startswith("#"):
                    if current is not None:
                        raise ValueError(f"VCF file {vcf}: header line after the first record: {line[:60]!r}")
                    header.append(line if line.endswith("\n") else line + "\n")
                    continue
                if not line.strip():
                    continue
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


def _skip_row(row: dict, record: int) -> dict:
    out = dict(row)
    out["record"] = record
    out["pos"] = int(row["pos"])
    return out


def _columns(models: Sequence[str]) -> list[str]:
    """The columns of ``seqzoo score --model M1,M2,... -o X.parquet`` (per-position outputs included)."""
    from . import registry

    return ModelsScorer({m: PairScorer(registry.get(m), None, vectors=True) for m in models}).columns()


def _alleles_by_shard(vcf: Path, shards: Sequence[Shard]) -> Iterator[tuple[Shard, list]]:
    """(shard, its alleles in file order) for every shard, from one pass over the original VCF."""
    from .genome.vcf import iter_alleles

    alleles = iter_alleles(vcf)
    pending = None
    for s in shards:
        group = []
        if pending is not None:
            group.append(pending)
            pending = None
        for a in alleles:
            if a.record > s.last_record:
                pending = a
                break
            group.append(a)
        if any(a.record < s.first_record for a in group):
            raise ValueError(f"manifest does not match {vcf}: records before shard {s.name}'s first record")
        if group and group[-1].record != s.last_record or (not group and s.n_records):
            raise ValueError(f"manifest does not match {vcf}: shard {s.name} should hold records "
                             f"{s.first_record}..{s.last_record}")
        yield s, group
    if pending is not None or next(alleles, None) is not None:
        raise ValueError(f"manifest does not match {vcf}: the VCF has records after the last shard")


def _assign_rows(rows: list[dict], alleles: list, scored: list[bool], where: str) -> list[list[dict]]:
    """Split one model's part rows (contiguous per allele, VCF order) among the shard's alleles.

    ``scored[i]``: the part has no allele-level skip for allele i. Consecutive identical alleles
    (same ID, CHROM, POS, REF, ALT) share their run of rows evenly.
    """
    out: list[list[dict]] = [[] for _ in alleles]
    j, i = 0, 0
    while i < len(alleles):
        if not scored[i]:
            i += 1
            continue
        a = alleles[i]
        key = (a.variant_id, a.chrom, a.pos, a.ref, a.alt)
        same = [i]
        k = i + 1
        while k < len(alleles) and (alleles[k].variant_id, alleles[k].chrom, alleles[k].pos, alleles[k].ref,
                                     alleles[k].alt) == key:
            if scored[k]:
                same.append(k)
            k += 1
        start = j
        while j < len(rows) and (rows[j]["variant_id"], rows[j]["chrom"], rows[j]["pos"], rows[j]["ref"],
                                 rows[j]["alt"]) == key:
            j += 1
        n = j - start
        if n == 0 or n % len(same):
            raise ValueError(f"{where}: {n} rows for allele {key} (x{len(same)}); the part does not match "
                             f"the shard's VCF")
        per = n // len(same)
        for m, idx in enumerate(same):
            out[idx] = rows[start + m * per:start + (m + 1) * per]
        i = k
    if j != len(rows):
        raise ValueError(f"{where}: {len(rows) - j} rows left over after the shard's last allele "
                         f"(next: {rows[j]['variant_id']})")
    return out


def merge(manifest: str | Path, parts_dir: str | Path, models: Sequence[str], vcf: str | Path,
          out_parquet: str | Path, out_vcf: str | Path | None = None, out_skipped: str | Path | None = None,
          out_summary: str | Path | None = None) -> RunSummary:
    """Merge ``parts_dir/<safe model>/<shard>.parquet`` (+ ``.skipped.tsv``, ``.summary.json``) into the
    outputs of one multi-model run over ``vcf``. Returns the merged :class:`RunSummary`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from . import registry
    from .outputs import default_skip_path, default_summary_path
    from .vcf_output import VcfAnnotator

    models = list(models)
    if not models or len(set(models)) != len(models):
        raise ValueError(f"models must be distinct and at least one: {models}")
    specs = [registry.get(m) for m in models]
    shards = read_manifest(manifest)
    vcf = Path(vcf)
    multi = len(models) > 1
    columns = _columns(models)
    out_skipped = Path(out_skipped) if out_skipped else default_skip_path(out_parquet)
    out_summary = Path(out_summary) if out_summary else default_summary_path(out_parquet)

    # one schema for the merged Parquet: each column's type from the first part that has rows
    types: dict[str, pa.DataType] = {}
    for m in models:
        for s in shards:
            path = part_path(parts_dir, m, s.name)
            if not path.is_file():
                raise FileNotFoundError(f"part {path} is missing (run `seqzoo score` for model {m} on shard {s.name})")
            if pq.read_metadata(path).num_rows:
                for field in pq.read_schema(path):
                    types.setdefault(field.name, field.type)
    any_rows = bool(types)
    if any_rows and multi:
        types["model"] = pa.string()
    schema = pa.schema([(c, types.get(c, pa.null()) if any_rows else pa.string()) for c in columns])

    summary = RunSummary()
    seen_ids: set = set()
    unmatched: dict[str, set] = {}
    Path(out_parquet).parent.mkdir(parents=True, exist_ok=True)
    pq_writer = pq.ParquetWriter(str(out_parquet), schema)
    annotator = VcfAnnotator(out_vcf, vcf, {s.name: list(s.effect_names) for s in specs}) if out_vcf else None
    skips = TableWriter(out_skipped, SKIP_COLUMNS)
    try:
        for s, alleles in _alleles_by_shard(vcf, shards):
            offset = s.first_record - 1
            for a in alleles:
                if a.alt_index == 0:
                    summary.count_record_id(a.vcf_id, seen_ids, a.record, vcf)
            per_model_rows, per_model_skips = {}, {}
            for m in models:
                path = part_path(parts_dir, m, s.name)
                part_summary = json.loads(Path(str(path) + ".summary.json").read_text())
                for source, names in part_summary.get("unmatched_contigs", {}).items():
                    unmatched.setdefault(source, set()).update(names)
                summary.feature_skips.update(part_summary.get("feature_skips_by_reason", {}))
                if part_summary["rows"]:  # a model without rows is absent, as in a single run
                    summary.model_rows[m] += part_summary["rows"]
                if part_summary["scored_alleles"]:
                    summary.model_scored_alleles[m] += part_summary["scored_alleles"]
                if part_summary["alleles"] != len(alleles):
                    raise ValueError(f"{path}.summary.json counts {part_summary['alleles']} alleles, shard {s.name} "
                                     f"has {len(alleles)}")
                # allele-level skips by (record, alt), in order; feature-level skips by (record, alt)
                allele_skips: dict[tuple, list[dict]] = {}
                feature_skips: dict[tuple, list[dict]] = {}
                for row in _read_tsv(Path(str(path) + ".skipped.tsv")):
                    key = (int(row["record"]) + offset, row["alt"])
                    (feature_skips if row["feature_id"] else allele_skips).setdefault(key, []).append(row)
                scored = []
                for a in alleles:
                    queue = allele_skips.get((a.record, a.alt))
                    scored.append(not queue)
                table = pq.read_table(path)
                rows = table.to_pylist() if table.num_rows else []
                per_model_rows[m] = _assign_rows(rows, alleles, scored, str(path))
                per_model_skips[m] = (allele_skips, feature_skips, scored)
            out_rows, out_skips = [], []
            repeats = Counter((a.record, a.alt) for a in alleles)  # an ALT listed twice in one record
            for i, a in enumerate(alleles):
                key = (a.record, a.alt)
                scorers = [m for m in models if per_model_skips[m][2][i]]
                for m in models:
                    if m in scorers:
                        for row in per_model_rows[m][i]:
                            out_rows.append(dict(row, model=m, _record=a.record) if multi else dict(row, _record=a.record))
                if scorers:
                    summary.scored_alleles += 1
                    for m in models:
                        if m not in scorers:  # m's own skip of an allele another model scored
                            failed = per_model_skips[m][0][key].pop(0)
                            if failed["model"] and failed["reason"] not in NO_FEATURE_REASONS:
                                out_skips.append(_skip_row(failed, a.record))
                                summary.feature_skips[failed["reason"]] += 1
                            continue
                        queue = per_model_skips[m][1].get(key, [])
                        # feature skips of this allele only (a repeated (record, alt) takes them in turn)
                        n = len(queue) // repeats[key]
                        out_skips += [_skip_row(r, a.record) for r in queue[:n]]
                        del queue[:n]
                    continue
                fails = [per_model_skips[m][0][key].pop(0) for m in models]
                if all(f["model"] == "" for f in fails):  # the allele itself: the same in every model
                    skip = _skip_row(fails[0], a.record)
                elif not multi:
                    skip = _skip_row(fails[0], a.record)
                else:
                    reasons = {f["reason"] for f in fails}
                    reason = reasons.pop() if len(reasons) == 1 else "no_window_in_any_model"
                    detail = "; ".join(f"{m}: {f['reason']} ({f['detail']})" for m, f in zip(models, fails))
                    skip = dict(_skip_row(fails[0], a.record), model="", reason=reason, detail=detail)
                summary.skipped[skip["reason"]] += 1
                out_skips.append(skip)
            summary.records += s.n_records
            summary.alleles += len(alleles)
            summary.rows += len(out_rows)
            if out_rows:
                pq_writer.write_table(pa.table({c: [r.get(c) for r in out_rows] for c in columns}, schema=schema))
            skips.write(out_skips)
            if annotator is not None:
                annotator.add(out_rows, default_model=models[0])
                annotator.flush(upto=s.last_record + 1)
    finally:
        pq_writer.close()
        skips.close()
        if annotator is not None:
            annotator.close()
    summary.unmatched_contigs = unmatched
    summary.check()
    if summary.rows != sum(summary.model_rows.values()):
        raise AssertionError(f"merged rows {summary.rows} != the parts' rows {dict(summary.model_rows)}")
    Path(out_summary).write_text(summary.to_json() + "\n")
    return summary


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
    from .outputs import default_skip_path, default_summary_path
    from .output_paths import claim_outputs
    outputs = {"-o": args.output, "--vcf-output": args.vcf_output,
               "--skipped": args.skipped or default_skip_path(args.output),
               "--summary": args.summary or default_summary_path(args.output)}
    if args.vcf_output and str(args.vcf_output).endswith(".gz"):
        outputs["index"] = str(args.vcf_output) + ".tbi"
    with claim_outputs({k: v for k, v in outputs.items() if v}, {"--vcf": args.vcf, "--manifest": args.manifest}):
        summary = merge(args.manifest, args.parts, models, args.vcf, args.output, args.vcf_output, args.skipped,
                        args.summary)
    if not args.quiet:
        print(f"seqzoo merge {','.join(models)}: {summary.line()}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """``python -m seqzoo.workflow shard|merge ...`` (the same as ``seqzoo shard|merge``)."""
    parser = argparse.ArgumentParser(prog="seqzoo")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"seqzoo: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
