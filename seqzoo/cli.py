"""Command line: argument parsing and error mapping over :mod:`seqzoo.api`.

Subcommands: score, windows, predict, models, shard, merge, plot (``seqzoo COMMAND --help``).
seqzoo's own errors (bad inputs, arguments, weights; OS errors on the user's files) end with one
``seqzoo: error:`` line and exit status 2; anything else is a bug and shows its traceback
(``--debug`` shows the traceback for every error).
"""
from __future__ import annotations

import argparse
import errno
import logging
import shlex
import sys
from pathlib import Path

from . import __version__, api, registry, workflow
from .accounting import RunSummary
from .checkpoint import Stopped
from .errors import SeqzooError, UsageError
from .heap_reuse import reuse_freed_memory
from .output_paths import check_outputs
from .outputs import default_outside_path, default_skip_path, default_summary_path

log = logging.getLogger("seqzoo")

DESCRIPTION = ("seqzoo: published regulatory-genomics models (PyTorch ports, Kipoi-compatible) and per-variant "
               "effect scores from a FASTA, a GTF and a VCF.")
OUTPUT_HELP = ("output: .tsv, .tsv.gz, .parquet or .h5 (Parquet and HDF5 add the per-position outputs){vcf}; "
               "also writes OUTPUT.skipped.tsv and OUTPUT.summary.json")

#: OS errors that are about the user's files or disk, not a bug
USER_OS_ERRORS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                            errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.EFBIG})


def _inputs(p: argparse.ArgumentParser, gtf_required_by: str = "every model whose windows come from features") -> None:
    p.add_argument("--model", required=True,
                   help=f"model name, several separated by commas, or 'all' ({', '.join(registry.MODELS)})")
    p.add_argument("--fasta", required=True,
                   help="reference genome FASTA, plain or bgzip-compressed (.fai, and .gzi, built if missing)")
    p.add_argument("--gtf", default=None,
                   help=f"annotation GTF or GFF3 (Ensembl or GENCODE; plain or gzipped); required by "
                        f"{gtf_required_by}")
    p.add_argument("--vcf", required=True, help="variants VCF (plain or bgzipped)")
    _chrom_alias(p, "VCF and GTF")
    for option in registry.options().values():
        models = [s.name for s in registry.MODELS.values() if option in s.options]
        p.add_argument(option.flag, dest=option.name, default=option.default, type=option.python_type,
                       metavar=option.kind.upper(), help=f"{option.help} (models: {', '.join(models)})")


def _chrom_alias(p: argparse.ArgumentParser, files: str) -> None:
    p.add_argument("--chrom-alias", default=None, metavar="FILE",
                   help=f"UCSC chromAlias file (plain or gzipped; the '# ucsc<TAB>assembly<TAB>...' layout or "
                        f"alias<TAB>ucscName<TAB>source rows) mapping the {files} contig names onto the FASTA's, e.g. "
                        f"NC_000001.11 -> chr1 (tried after the names as written)")


def _stream_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skipped", default=None, help="skip report path (default: OUTPUT.skipped.tsv)")
    p.add_argument("--chunk-rows", type=int, default=4096,
                   help="rows (plus skips) scored and written per chunk; a chunk always holds whole VCF records "
                        "(default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue a stopped or killed run from its progress note OUTPUT.progress.json (same "
                        "command otherwise); without a note, start from the beginning")
    p.add_argument("--io-workers", type=int, default=0, choices=(0, 1),
                   help="1: a background thread reads the VCF/FASTA and builds the next chunks' windows while the "
                        "model scores the current one (helps where reads wait on a slow file system); 0 (default): "
                        "one thread, measured as fast on local disks (window building is <10%% of the run)")
    p.add_argument("--tsv-process", choices=("auto", "on", "off"), default="auto",
                   help="a .tsv/.tsv.gz output's text is formatted in a helper process while the next chunks are "
                        "scored (the same bytes; HAL runs ~1.2-1.3x faster): 'auto' (default) where this process may "
                        "use 2+ CPUs, 'on' always, 'off' never")
    p.add_argument("--report-outside", choices=("runs", "rows"), default="runs",
                   help="alleles outside every model's features (no window, not a failure): 'runs' (default) lists "
                        "them as runs of consecutive alleles in OUTPUT.outside.tsv, one line per run (a whole-genome "
                        "VCF is mostly such alleles); 'rows' gives each its own row in the skip report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary line")


def _model_options(p: argparse.ArgumentParser, several: bool = True) -> None:
    p.add_argument("--weights", action="append" if several else "store", default=None,
                   metavar="[MODEL=]PATH" if several else "PATH",
                   help="weights file overriding the resolved published file" +
                        ("; with several models MODEL=PATH, repeatable" if several else ""))
    p.add_argument("--batch-size", type=int, default=64, help="sequences per forward pass (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda[:N]")
    if several:
        p.add_argument("--full-pass", action="store_true",
                       help="a full forward pass of every alt window (default: for Framepool, Xpresso and HAL only "
                            "what a variant changes is recomputed from its reference window, with the same result)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch compute threads (default: the CPUs this process may use — its CPU affinity, capped "
                        "by $SLURM_CPUS_PER_TASK and $OMP_NUM_THREADS; more threads than free cores slows torch "
                        "down many times)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqzoo", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"seqzoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of any error")
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score VCF variants with one or several models",
                           description="Score every ALT allele of a VCF with one or several models: one row per "
                                       "(allele x feature), every allele without a row in the skip report.")
    _inputs(score)
    score.add_argument("-o", "--output", required=True,
                       help=OUTPUT_HELP.format(vcf=", or .vcf.gz / .vcf (the input VCF annotated with INFO fields)"))
    _stream_options(score)
    _model_options(score)

    windows = sub.add_parser("windows", help="write the ref/alt sequences each model sees, per row")
    _inputs(windows)
    windows.add_argument("-o", "--output", required=True, help=OUTPUT_HELP.format(vcf=""))
    _stream_options(windows)

    predict = sub.add_parser("predict", help="predict the windows of BED regions (models with a region mode)")
    have = [n for n, s in registry.MODELS.items() if s.region_windows is not None]
    predict.add_argument("--model", required=True, help=f"model name (with a region mode: {', '.join(have)})")
    predict.add_argument("--fasta", required=True,
                         help="reference genome FASTA, plain or bgzip-compressed (.fai, and .gzi, built if missing)")
    predict.add_argument("--bed", required=True,
                         help="regions, BED (0-based; plain or gzipped): each gives the model window centred on its "
                              "midpoint")
    _chrom_alias(predict, "BED")
    predict.add_argument("-o", "--output", required=True, help=OUTPUT_HELP.format(vcf=""))
    predict.add_argument("--skipped", default=None, help="skip report path (default: OUTPUT.skipped.tsv)")
    predict.add_argument("--chunk-rows", type=int, default=4096,
                         help="regions predicted and written per chunk (default: %(default)s)")
    predict.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    _model_options(predict, several=False)

    ism = sub.add_parser("ism", help="in-silico mutagenesis: every substitution of one window, scored",
                         description="Every single-base substitution (and with --indels every 1-nt deletion and "
                                     "insertion) of one window of a model, with the model's effect scores: a table "
                                     "and a mutation-map figure.")
    ism.add_argument("--model", required=True, help="one model")
    ism.add_argument("--fasta", required=True, help="reference genome FASTA")
    ism.add_argument("--gtf", default=None, help="annotation (models whose windows come from features)")
    ism.add_argument("--feature", default=None,
                     help="the feature whose window is mutated (transcript, gene or donor id of the model's rule); "
                          "with --vcf/--variant: which of the variant's rows")
    ism.add_argument("--region", default=None, help="chrom:start-end (1-based): the model window centred on it "
                                                    "(models with a region mode)")
    ism.add_argument("--vcf", default=None, help="a VCF holding --variant: its window is mutated")
    ism.add_argument("--variant", default=None, help="variant_id in --vcf")
    ism.add_argument("--indels", action="store_true", help="also every 1-nt deletion and insertion")
    ism.add_argument("--score", default=None, help="effect score of the figure (default: the model's first)")
    ism.add_argument("--plot", default=None, metavar="PNG|PDF|SVG",
                     help="the mutation map, format by suffix (default: OUTPUT.png)")
    ism.add_argument("--plot-positions", default=None, metavar="FIRST-LAST",
                     help="the window indices the map shows (0-based, inclusive, as on its x axis; default: all, "
                          "or for longer windows 400 around the variant, else the landmark, else the centre), "
                          "e.g. 9000-9399")
    ism.add_argument("--full-pass", action="store_true",
                     help="predict every mutated window in full instead of the incremental path (the same values)")
    ism.add_argument("-o", "--output", required=True, help="table: .tsv, .tsv.gz or .parquet")
    ism.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    _model_options(ism, several=False)
    for option in registry.options().values():
        ism.add_argument(option.flag, dest=option.name, default=option.default, type=option.python_type,
                         metavar=option.kind.upper(), help=option.help)
    ism.add_argument("--chrom-alias", default=None, help="UCSC chromAlias file mapping contig names onto the FASTA's")

    models = sub.add_parser("models", help="list the models (name, description, weights file)")
    models.add_argument("--json", action="store_true", help="every model's spec as JSON (what the workflow reads)")
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

    plot = sub.add_parser("plot", help="plot effect distributions, or one variant's ref/alt predictions")
    plot_sub = plot.add_subparsers(dest="plot", required=True)
    dist = plot_sub.add_parser("effects", help="histogram of each model's effect score from a score table")
    dist.add_argument("--scores", required=True, help="a seqzoo score table (.tsv, .tsv.gz, .parquet)")
    dist.add_argument("--score", action="append", default=None, metavar="[MODEL=]NAME",
                      help="effect column to plot (default: each model's first effect score)")
    dist.add_argument("-o", "--output", required=True, help=".png or .pdf")
    track = plot_sub.add_parser("variant", help="ref vs alt predictions of one variant, with their difference",
                                description="One figure of one row of a variant: ref vs alt predictions, their "
                                            "difference, the effect scores, the model's landmarks and the "
                                            "sequence around the variant. A variant can give several rows "
                                            "(features, ALT alleles, models): the first is drawn unless "
                                            "--feature / --alt choose.")
    _inputs(track)
    track.add_argument("--variant", required=True, help="variant_id as in the score table")
    track.add_argument("--feature", default=None, metavar="FEATURE_ID",
                       help="the row of this feature_id (transcript, gene, donor, window; default: the first row)")
    track.add_argument("--alt", default=None, help="the row of this ALT allele (multi-allelic records)")
    track.add_argument("-o", "--output", required=True, help=".png or .pdf")
    track.add_argument("-q", "--quiet", action="store_true", help="no 'wrote' line")
    _model_options(track)
    return parser


def _options(args) -> dict:
    """The model options given on the command line (None: not given)."""
    return {name: getattr(args, name) for name in registry.options() if getattr(args, name, None) is not None}


def run_plot(args) -> int:
    from . import plots

    plots.check_figure_path(args.output, "-o")
    check_outputs({"-o": args.output}, {"--scores": getattr(args, "scores", None), "--vcf": getattr(args, "vcf", None),
                                        "--fasta": getattr(args, "fasta", None), "--gtf": getattr(args, "gtf", None),
                                        "--chrom-alias": getattr(args, "chrom_alias", None)})
    if args.plot == "effects":
        table = plots.read_scores(args.scores)
        models = list(dict.fromkeys(table["model"])) if "model" in table.columns else None
        if models is None:  # one-model table: find the model by its effect columns
            models = [n for n, s in registry.MODELS.items()
                      if s.effect_names and s.effect_names[0] in table.columns][:1]
        chosen = {}
        for value in args.score or []:
            name, sep, col = value.rpartition("=")
            for m in ([name] if sep else models):
                chosen[m] = col
        scores = {m: chosen.get(m, registry.get(m).effect_names[0]) for m in models}
        for m, col in scores.items():
            if col not in table.columns:
                raise UsageError(f"{args.scores} has no column {col!r} for model {m}")
        out = plots.plot_effect_distributions(table, args.output, scores)
    else:
        rows = api.variant_predictions(args.model, args.fasta, args.vcf, args.variant, args.gtf, weights=args.weights,
                                       device=args.device, batch_size=args.batch_size, threads=args.threads,
                                       chrom_alias=args.chrom_alias, **_options(args))
        pair, ref, alt = plots.choose_row(rows, args.feature, args.alt)
        if len(rows) > 1 and not args.quiet:
            listed = "; ".join(plots.row_label(r[0]) for r in rows)
            print(f"seqzoo: variant {args.variant} has {len(rows)} rows ({listed}); drawing {plots.row_label(pair)} "
                  f"(choose with --feature / --alt)", file=sys.stderr)
        out = plots.plot_variant(registry.get(pair.model), pair, ref, alt, args.output)
    if not getattr(args, "quiet", False):
        print(f"seqzoo: wrote {out}", file=sys.stderr)
    return 0


def _progress_bar(quiet: bool):
    """A tqdm bar counting VCF records on a terminal's stderr, else None."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(unit=" records", file=sys.stderr, mininterval=0.5)


def run_predict(args) -> int:
    summary = api.predict_regions(args.model, args.fasta, args.bed, args.output, skipped=args.skipped,
                                  batch_size=args.batch_size, device=args.device, weights=args.weights,
                                  chunk_rows=args.chunk_rows, threads=args.threads,
                                  chrom_alias=args.chrom_alias).summary
    if not args.quiet:
        by_reason = ", ".join(f"{k}={v}" for k, v in summary["skipped_by_reason"].items()) or "none"
        skip_path = args.skipped or default_skip_path(args.output)
        print(f"seqzoo predict {args.model}: regions={summary['regions']} rows={summary['rows']} "
              f"skipped={summary['skipped']} (skipped by reason: {by_reason})", file=sys.stderr)
        print(f"seqzoo: wrote {args.output}, {skip_path}, {default_summary_path(args.output)}", file=sys.stderr)
    return 0


def run(args) -> int:
    """``seqzoo score`` / ``seqzoo windows`` / ``seqzoo predict``."""
    if args.command == "predict":
        return run_predict(args)
    bar = _progress_bar(args.quiet)
    kwargs = dict(skipped=args.skipped, resume=args.resume, chunk_rows=args.chunk_rows, io_workers=args.io_workers,
                  tsv_process={"auto": None, "on": True, "off": False}[args.tsv_process],
                  command_line=args.command_line, report_outside=args.report_outside, chrom_alias=args.chrom_alias,
                  on_chunk=(lambda record: bar.update(record - bar.n)) if bar is not None else None, **_options(args))
    try:
        if args.command == "score":
            result = api.score_vcf(args.model, args.fasta, args.vcf, args.gtf, args.output, weights=args.weights,
                                   batch_size=args.batch_size, device=args.device, threads=args.threads,
                                   incremental=not args.full_pass, **kwargs)
        else:
            result = api.windows_vcf(args.model, args.fasta, args.vcf, args.gtf, args.output, **kwargs)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        summary = RunSummary.from_dict(result.summary)
        print(f"seqzoo {args.command} {','.join(result.models)}: "
              f"{summary.line(outside_runs=args.report_outside == 'runs')}", file=sys.stderr)
        print(f"seqzoo: wrote {args.output}, {args.skipped or default_skip_path(args.output)}, "
              f"{default_outside_path(args.output)}, {default_summary_path(args.output)}", file=sys.stderr)
    return 0


def run_veff(args) -> int:
    """``seqzoo veff-regions`` / ``seqzoo veff-vcf``: inputs for kipoi_veff.score_variants (seqzoo.veff)."""
    from . import veff  # imports kipoi's model base class: only for these commands

    if args.command == "veff-vcf":
        check_outputs({"-o": args.output}, {"--vcf": args.vcf})
        counts = veff.write_snv_vcf(args.vcf, args.output)
        what = (f"{counts['written']} of {counts['records']} records -> {args.output} (left out: "
                f"not_snv={counts['not_snv']} non_acgt={counts['non_acgt']})")
    else:
        check_outputs({"-o": args.output}, {"--vcf": args.vcf, "--fasta": args.fasta, "--gtf": args.gtf})
        counts = veff.write_regions(args.model, args.fasta, args.gtf, args.output, vcf_file=args.vcf)
        what = (f"{args.model}: {counts['written']} of {counts['windows']} windows -> {args.output} (left out: "
                f"past_contig_end={counts['past_contig_end']} without_bases={counts['without_bases']} "
                f"without_snv={counts['without_snv']})")
    if not args.quiet:
        print(f"seqzoo {args.command} {what}", file=sys.stderr)
    return 0


def run_ism(args) -> int:
    import time

    from . import plots
    from .mutagenesis import ism

    fmt = args.output
    if not str(fmt).endswith((".tsv", ".tsv.gz", ".parquet")):
        figure = " (the mutation-map figure is --plot FILE.png)" if str(fmt).lower().endswith(
            (".png", ".pdf", ".svg")) else ""
        raise UsageError(f"output {fmt} must end in .tsv, .tsv.gz or .parquet{figure}")
    plot = args.plot or f"{args.output}.png"
    plots.check_figure_path(plot, "--plot")
    specs = api._specs_of(args.model)
    if len(specs) != 1:
        raise UsageError(f"seqzoo ism takes one model (--model NAME), not {args.model!r}")
    plots.check_ism_score(specs[0], args.score)  # before the work, not after it
    shown = plots.parse_ism_positions(args.plot_positions)
    check_outputs({"-o": args.output, "--plot": plot},
                  api.input_files(args.fasta, _options(args), gtf=args.gtf, vcf=args.vcf, chrom_alias=args.chrom_alias,
                                  weights=args.weights))
    t0 = time.perf_counter()
    table, window = ism(args.model, args.fasta, args.gtf, feature=args.feature, region=args.region, vcf=args.vcf,
                        variant=args.variant, indels=args.indels, batch_size=args.batch_size, device=args.device,
                        weights=args.weights, threads=args.threads, chrom_alias=args.chrom_alias,
                        incremental=not args.full_pass, check_window=None if shown is None else
                        lambda w: plots.check_ism_positions(shown, len(w.seq)), **_options(args))
    seconds = time.perf_counter() - t0
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    if str(args.output).endswith(".parquet"):
        table.to_parquet(args.output, index=False)
    else:
        table.to_csv(args.output, sep="\t", index=False, float_format="%.9g")
    plots.save(plots.ism_figure(table, window, args.score, positions=shown), plot)
    if not args.quiet:
        w = window.window
        notes = "".join(f"; {k}={v}" for k, v in (w.notes or {}).items())  # e.g. Xpresso's halflife_source
        name, one_based = w.feature_id, plots.region_window_span(w)
        if one_based is not None:  # a region's window, named by its 0-based half-open span
            name = f"{name} (0-based half-open; {one_based} 1-based)"
        print(f"seqzoo ism {window.model}: {len(table)} variants of {name} ({len(w.seq)} nt{notes}) in "
              f"{seconds:.1f} s; wrote {args.output}, {plot}", file=sys.stderr)
    return 0


def list_models(args) -> int:
    if args.json:
        import json
        print(json.dumps([spec.summary() for spec in registry.MODELS.values()], indent=2))
        return 0
    for name, spec in registry.MODELS.items():
        print(f"{name}\t{spec.description}\t{spec.weights.filename}")
    return 0


class _Stderr(logging.Handler):
    """Plain ``seqzoo: message`` lines on whatever ``sys.stderr`` is when a record is emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"seqzoo: {record.getMessage()}", file=sys.stderr)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="seqzoo: %(levelname)s: %(message)s")
    run_log = logging.getLogger("seqzoo.run")  # where a stopped run is and how to go on: plain lines
    if not any(isinstance(h, _Stderr) for h in run_log.handlers):
        run_log.addHandler(_Stderr())
        run_log.propagate = False


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = "seqzoo " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    _configure_logging()
    try:
        reuse_freed_memory()  # the process is seqzoo's own (see seqzoo.heap_reuse)
        if args.command == "models":
            return list_models(args)
        if args.command == "plot":
            return run_plot(args)
        if args.command in ("shard", "merge"):
            return workflow.run(args)
        if args.command in ("veff-regions", "veff-vcf"):
            return run_veff(args)
        if args.command == "ism":
            return run_ism(args)
        return run(args)
    except Stopped as exc:  # the run stopped at a chunk boundary and said where
        return 128 + exc.signum
    except KeyboardInterrupt:  # Ctrl-C outside the scoring loop
        print("seqzoo: interrupted", file=sys.stderr)
        return 130
    except SeqzooError as exc:
        if args.debug:
            raise
        print(f"seqzoo: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the user's files or disk (not writable, full, missing): one line
        if args.debug or (exc.errno not in USER_OS_ERRORS and not exc.filename):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"seqzoo: error: {where}{exc.strerror or exc}. Check the path, its folder's permissions and the "
              f"free disk space.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
