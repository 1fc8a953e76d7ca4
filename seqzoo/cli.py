"""Command line: ``seqzoo score``, ``seqzoo windows``, ``seqzoo predict``, ``seqzoo models``,
``seqzoo shard`` / ``seqzoo merge`` (the Snakemake workflow's steps, :mod:`seqzoo.workflow`).

``seqzoo score --model Framepool --fasta F --gtf G --vcf V -o OUT`` writes one row per
(VCF record x ALT x feature) to OUT (.tsv, .tsv.gz or .parquet), every allele that gives no row
to ``OUT.skipped.tsv`` with its reason, the run summary to ``OUT.summary.json`` and, last, a
summary line on stderr. ``seqzoo windows`` writes the ref/alt model inputs instead of scores.
User mistakes (missing files, bad weights, malformed input) end with one ``seqzoo: error:`` line
and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

import numpy as np

from . import registry, workflow
from .genome.fasta import GenomeError
from .keras_h5 import ConversionError
from .outputs import (VCF_SUFFIXES, TableWriter, check_resume_state, default_skip_path, default_summary_path,
                      open_table, parts_dir, table_format)
from .checkpoint import Progress, Stopped, file_identity, stop_signals
from .prefetch import prefetch
from .scoring import (METADATA_COLUMNS, SKIP_COLUMNS, ModelsScorer, PairScorer, VariantWindows, column_kinds,
                      window_columns, window_row)
from .vcf_output import VcfAnnotator
from .weights import WeightsError

log = logging.getLogger("seqzoo")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help=f"model name, several separated by commas, or 'all' ({', '.join(sorted(registry.MODELS))})")
    p.add_argument("--fasta", required=True, help="reference genome FASTA (.fai built if missing)")
    p.add_argument("--gtf", default=None,
                   help="annotation GTF (Ensembl or GENCODE; plain or gzipped); required by every model "
                        "whose windows come from features")
    p.add_argument("--vcf", required=True, help="variants VCF (plain or bgzipped)")
    p.add_argument("-o", "--output", required=True, help="output table: .tsv, .tsv.gz or .parquet")
    p.add_argument("--skipped", default=None, help="skip report path (default: OUTPUT.skipped.tsv)")
    p.add_argument("--chunk-rows", type=int, default=4096,
                   help="rows (plus skips) scored and written per chunk; a chunk always holds whole VCF records")
    p.add_argument("--resume", action="store_true",
                   help="continue a stopped or killed run from its progress note OUTPUT.progress.json (same "
                        "command otherwise); without a note, start from the beginning")
    p.add_argument("--io-workers", type=int, default=0, choices=(0, 1),
                   help="1: a background thread reads the VCF/FASTA and builds the next chunks' windows while the "
                        "model scores the current one (helps where reads wait on a slow file system); 0 (default): "
                        "one thread, measured as fast on local disks (window building is <10%% of the run)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary line")
    p.add_argument("--halflife-file", default=None,
                   help="Xpresso: TSV of gene_id + the six mRNA half-life features (default: zeros)")


def _rule_options(args, specs) -> dict:
    """Window-rule options given on the command line; refuses those no model being run takes."""
    options = {}
    for name in ("halflife_file",):
        value = getattr(args, name, None)
        if value is None:
            continue
        if not any(name in spec.rule_options for spec in specs):
            raise ValueError(f"--{name.replace('_', '-')} does not apply to model "
                             f"{', '.join(spec.name for spec in specs)}")
        options[name] = value
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqzoo", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score VCF variants with a model")
    _common(score)
    score.add_argument("--weights", action="append", default=None, metavar="[MODEL=]PATH",
                       help="weights file overriding the resolved published file; with several models "
                            "MODEL=PATH, repeatable")
    score.add_argument("--batch-size", type=int, default=64)
    score.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    windows = sub.add_parser("windows", help="write the ref/alt sequences the model sees, per row")
    _common(windows)
    predict = sub.add_parser("predict", help="predict the windows of BED regions (models with a region mode)")
    predict.add_argument("--model", required=True, help="model name (with a region mode: BPNet-OSKN)")
    predict.add_argument("--fasta", required=True, help="reference genome FASTA (.fai built if missing)")
    predict.add_argument("--bed", required=True,
                         help="regions, BED (0-based; plain or gzipped): each gives the model window centred on its "
                              "midpoint")
    predict.add_argument("-o", "--output", required=True,
                         help="output table: .tsv, .tsv.gz, .parquet or .h5 (Parquet/HDF5 add the per-position "
                              "outputs)")
    predict.add_argument("--skipped", default=None, help="skip report path (default: OUTPUT.skipped.tsv)")
    predict.add_argument("--weights", default=None, help="weights file (overrides the resolved published file)")
    predict.add_argument("--batch-size", type=int, default=64)
    predict.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    predict.add_argument("--chunk-rows", type=int, default=4096, help="regions predicted and written per chunk")
    predict.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    sub.add_parser("models", help="list the models")
    workflow.add_parsers(sub)
    regions = sub.add_parser("veff-regions", help="write a model's windows as a BED for kipoi-veff (seqzoo.veff)")
    regions.add_argument("--model", required=True, help="APARENT2, HAL or Xpresso/<set>")
    regions.add_argument("--fasta", required=True, help="reference genome FASTA (.fai built if missing)")
    regions.add_argument("--gtf", required=True, help="annotation GTF (plain or gzipped)")
    regions.add_argument("--vcf", default=None, help="only windows in which seqzoo scores an SNV of this VCF")
    regions.add_argument("-o", "--output", required=True, help="regions BED (the veff dataloader's regions_file)")
    regions.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    snvs = sub.add_parser("veff-vcf", help="write the VCF's SNV records for kipoi-veff, bgzipped and indexed")
    snvs.add_argument("--vcf", required=True, help="variants VCF (plain or bgzipped)")
    snvs.add_argument("-o", "--output", required=True, help="SNV VCF for kipoi_veff.score_variants (.vcf.gz)")
    snvs.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    plot = sub.add_parser("plot", help="plot effect distributions, or one variant's ref/alt tracks")
    plot_sub = plot.add_subparsers(dest="plot", required=True)
    dist = plot_sub.add_parser("effects", help="histogram of each model's effect score from a score table")
    dist.add_argument("--scores", required=True, help="a seqzoo score table (.tsv, .tsv.gz, .parquet)")
    dist.add_argument("--score", action="append", default=None, metavar="[MODEL=]NAME",
                      help="effect column to plot (default: each model's first effect score)")
    dist.add_argument("-o", "--output", required=True, help=".png or .pdf")
    track = plot_sub.add_parser("variant", help="ref vs alt tracks of one variant (models with per-position "
                                                "outputs: APARENT2 cleavage profile)")
    _common(track)
    track.add_argument("--variant", required=True, help="variant_id as in the score table")
    track.add_argument("--weights", action="append", default=None, metavar="[MODEL=]PATH")
    track.add_argument("--device", default="cpu")
    track.add_argument("--batch-size", type=int, default=64)
    return parser


def run_plot(args) -> int:
    from . import plots

    if args.plot == "effects":
        table = plots.read_scores(args.scores)
        models = list(dict.fromkeys(table["model"])) if "model" in table.columns else None
        if models is None:  # one-model table: find the model by its effect columns
            models = [n for n, s in registry.MODELS.items() if s.effect_names and s.effect_names[0] in table.columns][:1]
        chosen = {}
        for value in args.score or []:
            name, sep, col = value.rpartition("=")
            for m in ([name] if sep else models):
                chosen[m] = col
        scores = {m: chosen.get(m, registry.get(m).effect_names[0]) for m in models}
        for m, col in scores.items():
            if col not in table.columns:
                raise ValueError(f"{args.scores} has no column {col!r} for model {m}")
        out = plots.plot_effect_distributions(table, args.output, scores)
    else:
        names = _model_names(args.model)
        models = _load_models(names, args, explicit=True)
        specs = [registry.get(n) for n in models]
        windows = VariantWindows(specs, args.fasta, args.gtf, **_rule_options(args, specs))
        pairs = [e for e in windows.events(args.vcf) if hasattr(e, "alt_seq") and e.allele.variant_id == args.variant]
        if not pairs:
            raise ValueError(f"variant {args.variant!r} gives no window in {args.vcf} for {', '.join(models)} "
                             f"(see `seqzoo windows` and its skip report)")
        pair = pairs[0]
        spec, model = registry.get(pair.model), models[pair.model]
        ref, alt = PairScorer(spec, model).predict_pairs([pair])
        keys = list(spec.vector_outputs) or list(spec.outputs)
        tracks = {k: (np.atleast_1d(ref[k][0]), np.atleast_1d(alt[k][0])) for k in keys}
        title = f"{pair.model} {args.variant} {pair.allele.ref}>{pair.allele.alt} in {pair.feature_id} ({pair.strand})"
        out = plots.plot_tracks(title, tracks, plots.first_difference(pair.ref_seq, pair.alt_seq), args.output)
    if not getattr(args, "quiet", False):
        print(f"seqzoo: wrote {out}", file=sys.stderr)
    return 0


def _progress_bar(quiet: bool, start: int):
    """A tqdm bar counting VCF records on a terminal's stderr, else None."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(initial=start, unit=" records", file=sys.stderr, mininterval=0.5)


def _weights_by_model(values, names: list[str]) -> dict[str, str]:
    """--weights PATH (one model) or MODEL=PATH (repeatable) -> {model: path}."""
    out: dict[str, str] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if sep and name in registry.MODELS:
            out[name] = path
        elif len(names) == 1 and not (sep and name in registry.MODELS):
            out[names[0]] = value
        else:
            raise ValueError(f"--weights {value!r}: with several models give MODEL=PATH (models: {', '.join(names)})")
    unknown = set(out) - set(names)
    if unknown:
        raise ValueError(f"--weights names model(s) not being run: {', '.join(sorted(unknown))}")
    return out


def _model_names(value: str) -> list[str]:
    if value == "all":
        return list(registry.MODELS)
    names = [n.strip() for n in value.split(",") if n.strip()]
    for name in names:
        registry.get(name)  # KeyError naming the known models
    if len(set(names)) != len(names):
        raise ValueError(f"--model {value!r} names a model twice")
    return names


def _load_models(names: list[str], args, explicit: bool) -> dict:
    """name -> torch model. With ``--model all`` models whose weights do not resolve are left out
    (a warning says which and why); a model named explicitly must load."""
    import seqzoo
    from .weights import WeightsError

    weights = _weights_by_model(args.weights, names)
    models = {}
    for name in names:
        try:
            models[name] = seqzoo.load_model(name, weights=weights.get(name), device=args.device)
        except WeightsError as exc:
            if explicit:
                raise
            log.warning("--model all: leaving out %s: %s", name, exc)
    if not models:
        raise ValueError("--model all: no model's weights could be found; see the warnings above")
    return models


REGION_COLUMNS = ("name", "chrom", "start", "end", "window_chrom", "window_start", "window_end")
REGION_SKIP_COLUMNS = ("name", "chrom", "start", "end", "line", "reason", "detail")


def run_predict(args) -> int:
    """``seqzoo predict``: one row per BED region (the model's window for it: metadata + outputs),
    regions without a window in OUT.skipped.tsv with their reason, counts in OUT.summary.json."""
    import json
    from collections import Counter

    import seqzoo
    from .genome.fasta import Genome
    from .genome.names import ContigNames

    out_format = table_format(args.output)
    spec = registry.get(args.model)
    if spec.region_windows is None:
        have = [n for n, s in sorted(registry.MODELS.items()) if s.region_windows is not None]
        raise ValueError(f"model {spec.name} has no region mode; seqzoo predict supports: {', '.join(have)}")
    outputs = list(spec.outputs) + (list(spec.vector_outputs) if out_format in (".parquet", ".h5") else [])
    genome = Genome(args.fasta)
    names = ContigNames(genome.lengths)
    events = spec.region_windows(genome, args.bed, names)
    model = seqzoo.load_model(args.model, weights=args.weights, device=args.device)
    skip_path = args.skipped or default_skip_path(args.output)
    writer = open_table(args.output, list(REGION_COLUMNS) + outputs, metadata_columns=set(REGION_COLUMNS))
    skips = TableWriter(skip_path, REGION_SKIP_COLUMNS)
    regions, rows, reasons, pending = 0, 0, Counter(), []

    def flush():
        nonlocal rows
        if pending:
            preds = model.predict_sequences([w.seq for w in pending], batch_size=args.batch_size)
            writer.write([{"name": w.name, "chrom": w.bed_chrom, "start": w.region_start, "end": w.region_end,
                           "window_chrom": w.chrom, "window_start": w.start, "window_end": w.end,
                           **{k: preds[k][i] for k in outputs}} for i, w in enumerate(pending)])
            rows += len(pending)
            pending.clear()

    try:
        for ev in events:
            regions += 1
            if hasattr(ev, "seq"):
                pending.append(ev)
                if len(pending) >= args.chunk_rows:
                    flush()
            else:
                reasons[ev.reason] += 1
                skips.write([{"name": ev.name, "chrom": ev.bed_chrom, "start": ev.region_start, "end": ev.region_end,
                              "line": ev.line, "reason": ev.reason, "detail": ev.detail}])
        flush()
    finally:
        writer.close()
        skips.close()
    summary = {"regions": regions, "rows": rows, "skipped": sum(reasons.values()),
               "skipped_by_reason": dict(sorted(reasons.items())),
               "unmatched_contigs": {k: sorted(v) for k, v in names.unmatched.items() if v},
               "identity_holds": regions == rows + sum(reasons.values())}
    if not summary["identity_holds"]:
        raise AssertionError(f"accounting broken: {summary}")
    with open(default_summary_path(args.output), "w") as fh:
        fh.write(json.dumps(summary, indent=2) + "\n")
    if not args.quiet:
        by_reason = ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())) or "none"
        print(f"seqzoo predict {spec.name}: regions={regions} rows={rows} skipped={summary['skipped']} "
              f"(skipped by reason: {by_reason})", file=sys.stderr)
        print(f"seqzoo: wrote {args.output}, {skip_path}, {default_summary_path(args.output)}", file=sys.stderr)
    return 0


def _fingerprint(args, names, columns, models, skip_path) -> dict:
    """What a resumed run must share with the run that wrote the progress note."""
    weights = {n: file_identity(getattr(m, "weights_file", None)) for n, m in (models or {}).items()}
    return {"command": args.command, "models": names, "columns": columns, "weights": weights,
            "skipped": str(skip_path),
            "fasta": file_identity(args.fasta), "gtf": file_identity(args.gtf), "vcf": file_identity(args.vcf),
            "halflife_file": file_identity(args.halflife_file)}


def _note_stop(progress, saved: dict, stopped, error, args, out_format: str, skip_path) -> None:
    """Save the progress note of a stopped or failed run and say where it stopped and how to go on."""
    status = "stopped" if stopped else "failed"
    try:
        progress.save(status, **{k: saved[k] for k in ("last_record", "last_record_at", "summary", "output_state",
                                                       "skipped_state")},
                      error=None if stopped else f"{type(error).__name__}: {error}")
    except OSError as exc:  # e.g. the disk is full: the last note written stays
        log.warning("could not update %s (%s); it still describes the last chunk written", progress.path, exc)
    done = (f"every row of VCF records 1-{saved['last_record']} (up to {saved['last_record_at']})"
            if saved["last_record"] else "no record yet")
    held = parts_dir(args.output) if out_format == ".parquet" else args.output
    if stopped or not isinstance(error, (GenomeError, ValueError, KeyError)):
        how = "Continue with the same command plus --resume."
    else:  # an input error: the fixed input is a new input, which a note cannot be resumed with
        how = "Fix the input and run the command again without --resume (a changed input starts afresh)."
    print(f"seqzoo: {'stopped (' + str(stopped) + ')' if stopped else 'failed'}; {held} and {skip_path} hold "
          f"{done}; progress note {progress.path}. {how}", file=sys.stderr)


def run(args) -> int:
    if args.command == "predict":
        return run_predict(args)
    out_format = table_format(args.output, vcf=args.command == "score")
    if args.resume and out_format in VCF_SUFFIXES:
        raise ValueError(f"--resume needs a table output (.tsv, .tsv.gz, .parquet, .h5), not {args.output}: an "
                         f"annotated VCF is written whole or not at all")
    names = _model_names(args.model)
    models = None
    if args.command == "score":
        models = _load_models(names, args, explicit=args.model != "all")
        names = list(models)
    specs = [registry.get(n) for n in names]
    gtf_needers = [s.name for s in specs if s.needs_gtf]
    if gtf_needers and not args.gtf:
        raise ValueError(f"model(s) {', '.join(gtf_needers)} need --gtf (their windows come from annotated features)")
    windows = VariantWindows(specs, args.fasta, args.gtf, leave_out_unusable=args.model == "all",
                             **_rule_options(args, specs))
    specs, names = windows.specs, [s.name for s in windows.specs]
    if models is not None:
        models = {n: models[n] for n in names}
    if not os.path.isfile(args.vcf):
        raise GenomeError(f"VCF file {args.vcf} does not exist")
    if models is not None:
        vectors = out_format in (".parquet", ".h5")
        scorer = ModelsScorer({n: PairScorer(registry.get(n), m, batch_size=args.batch_size, vectors=vectors)
                               for n, m in models.items()})
        columns = scorer.columns()
    else:
        columns = window_columns(specs)
    by_name = {s.name: s for s in specs}
    skip_path = args.skipped or default_skip_path(args.output)
    summary_path = default_summary_path(args.output)
    progress = Progress(args.output, _fingerprint(args, names, columns, models, skip_path))
    note = progress.resume_point() if args.resume else None
    if note is not None:  # every file is checked before any is cut back
        check_resume_state(args.output, note["output_state"])
        check_resume_state(skip_path, note["skipped_state"])
    else:
        if args.resume:
            log.warning("--resume: no progress note %s; starting from the first record", progress.path)
        progress.remove()  # a fresh run: an older run's note no longer describes these files
    summary_path.unlink(missing_ok=True)
    if out_format in VCF_SUFFIXES:
        writer = VcfAnnotator(args.output, args.vcf, {s.name: list(s.effect_names) for s in specs})
    else:
        strings, lists = column_kinds(specs)
        writer = open_table(args.output, columns, metadata_columns=set(METADATA_COLUMNS) | {"model"},
                            string_columns=strings, list_columns=lists, resume=note and note["output_state"])
    skips = TableWriter(skip_path, SKIP_COLUMNS, resume=note and note["skipped_state"])
    after = 0
    if note:
        windows.summary.restore(note["summary"])
        after = note["last_record"]
    resumable = not isinstance(writer, VcfAnnotator)
    saved = note  # the last progress note written (or resumed from)
    bar = _progress_bar(args.quiet, after)
    completed, stopped, error = False, None, None
    try:
        with stop_signals():
            for chunk in prefetch(windows.chunks(args.vcf, args.chunk_rows, after_record=after),
                                  depth=2 if args.io_workers else 0):
                pairs = chunk.pairs
                if models is not None:
                    rows = scorer.score(pairs)
                else:
                    rows = [window_row(p, by_name[p.model], len(specs) > 1) for p in pairs]
                if isinstance(writer, VcfAnnotator):
                    writer.add(rows, default_model=names[0])
                    writer.flush(upto=chunk.last_record + 1)
                else:
                    writer.write(rows)
                skips.write([s.as_row() for s in chunk.skips])
                if resumable:
                    saved = {"last_record": chunk.last_record, "last_record_at": chunk.last_record_at,
                             "summary": chunk.summary, "output_state": writer.checkpoint(),
                             "skipped_state": skips.checkpoint()}
                    progress.save("running", **saved)
                if bar is not None:
                    bar.update(chunk.last_record - bar.n)
            completed = True
    except Stopped as exc:
        stopped = exc
    except BaseException as exc:
        error = exc
        raise
    finally:
        if bar is not None:
            bar.close()
        if completed:
            writer.close()
            skips.close()
            progress.remove()
        elif not resumable:  # a failed run leaves no complete-looking annotated VCF behind
            writer.abort()
            skips.close()
        else:
            writer.suspend(saved and saved["output_state"])  # exactly what the note says
            skips.suspend(saved and saved["skipped_state"])
            if saved is not None:
                _note_stop(progress, saved, stopped, error, args, out_format, skip_path)
            elif stopped:
                print(f"seqzoo: stopped ({stopped}) before the first chunk was written; nothing to resume",
                      file=sys.stderr)
        if stopped and not resumable:
            print(f"seqzoo: stopped ({stopped}); {args.output} was removed (an annotated VCF is written whole or "
                  f"not at all)", file=sys.stderr)
    if stopped:
        return 128 + stopped.signum
    summary = windows.summary
    summary.check()
    with open(summary_path, "w") as fh:
        fh.write(summary.to_json() + "\n")
    if not args.quiet:
        print(f"seqzoo {args.command} {','.join(names)}: {summary.line()}", file=sys.stderr)
        print(f"seqzoo: wrote {args.output}, {skip_path}, {summary_path}", file=sys.stderr)
    return 0


def run_veff(args) -> int:
    """``seqzoo veff-regions`` / ``seqzoo veff-vcf``: inputs for kipoi_veff.score_variants (seqzoo.veff)."""
    from . import veff  # imports kipoi's model base class: only for these commands

    if args.command == "veff-vcf":
        counts = veff.write_snv_vcf(args.vcf, args.output)
        what = (f"{counts['written']} of {counts['records']} records -> {args.output} (left out: "
                f"not_snv={counts['not_snv']} non_acgt={counts['non_acgt']})")
    else:
        counts = veff.write_regions(args.model, args.fasta, args.gtf, args.output, vcf_file=args.vcf)
        what = (f"{args.model}: {counts['written']} of {counts['windows']} windows -> {args.output} (left out: "
                f"past_contig_end={counts['past_contig_end']} without_bases={counts['without_bases']} "
                f"without_snv={counts['without_snv']})")
    if not args.quiet:
        print(f"seqzoo {args.command} {what}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="seqzoo: %(levelname)s: %(message)s")
    if args.command == "models":
        for name in sorted(registry.MODELS):
            spec = registry.MODELS[name]
            print(f"{name}\t{spec.description}\t{spec.weights.filename}")
        return 0
    try:
        if args.command == "plot":
            return run_plot(args)
        if args.command in ("shard", "merge"):
            return workflow.run(args)
        if args.command in ("veff-regions", "veff-vcf"):
            return run_veff(args)
        return run(args)
    except KeyboardInterrupt:  # Ctrl-C outside the scoring loop (which stops at a chunk boundary)
        print("seqzoo: interrupted", file=sys.stderr)
        return 130
    except (GenomeError, WeightsError, ConversionError, KeyError, ValueError, FileNotFoundError,
            ImportError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"seqzoo: error: {msg}", file=sys.stderr)
        return 2
    except OSError as exc:  # output folder not writable, disk full, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"seqzoo: error: {where}{exc.strerror or exc}. Check the path, its folder's permissions and the "
              f"free disk space.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
