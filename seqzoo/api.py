"""The Python API for variant scoring: the one place the scoring pipeline lives. The command line,
the Kipoi dataloaders, ``seqzoo merge`` and the benchmarks all call it.

>>> import seqzoo
>>> rows, summary, skipped = seqzoo.score_vcf("Framepool", "genome.fa", "variants.vcf", gtf="genes.gtf")
>>> seqzoo.score_vcf(["Framepool", "APARENT2"], "genome.fa", "variants.vcf", gtf="genes.gtf",
...                  out="scores.parquet")            # streamed, checkpointed: OUT.skipped.tsv, OUT.summary.json
>>> for chunk in seqzoo.iter_scores("HAL", "genome.fa", "variants.vcf", gtf="genes.gtf", weights="hal.npz"):
...     chunk.rows.to_pandas()                         # one chunk of whole VCF records at a time

``models``: a model name (``"Framepool"``), several (a list, or ``"Framepool,APARENT2"``), ``"all"``
(every model whose weights resolve and whose windows the GTF can give), a :class:`ModelSpec`, a
model returned by :func:`seqzoo.load_model`, or a ``(name or spec, torch model)`` pair (e.g. a
model with weights of your own). Options are those of ``seqzoo score`` (as keywords:
``chunk_rows``, ``batch_size``, ``device``, ``weights``, ``skipped``, ``resume``, ``chrom_alias`` (a
UCSC chromAlias file mapping the VCF's, GTF's or BED's contig names onto the FASTA's),
``tsv_process`` (a .tsv/.tsv.gz output's text formatted in a helper process, :mod:`seqzoo.tsv_process`:
None, the default, where 2+ CPUs are usable; True always; False never), and each model's options
such as Xpresso's ``halflife_file``).
"""
from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

from . import registry
from .accounting import SKIP_COLUMNS, SKIP_SCHEMA, Skip
from . import checkpoint as progress_notes
from .checkpoint import Progress, Stopped, file_identity, progress_path, stop_signals
from .errors import UsageError
from .genome.assembly import check_vcf_contigs
from .genome.fasta import GenomeError
from .output_paths import claim_outputs
from .outputs import (VCF_SUFFIXES, TableWriter, check_resume_state, default_outside_path, default_skip_path,
                      default_summary_path, has_vectors, open_table, parts_dir, table_format)
from .gc_passes import fewer_gc_passes, in_run_scope
from .prefetch import prefetch
from . import tsv_process as tsv_helpers
from .scoring import ModelsScorer, PairScorer, window_table
from .spec import ModelSpec
from .table import Column, Table, kind_of, window_columns
from .windowing import Chunk, OutsideRun, VariantWindows

#: columns of OUT.outside.tsv (runs of alleles outside every model's features)
OUTSIDE_SCHEMA = [Column(c, "int" if c in ("first_record", "first_alt_index", "last_record", "last_alt_index",
                                           "alleles") else "str") for c in OutsideRun.COLUMNS]

log = logging.getLogger("seqzoo")
#: messages about a run's progress note (stopped, failed: where and how to go on)
run_log = logging.getLogger("seqzoo.run")

# -- models -------------------------------------------------------------------------------------
def model_names(value) -> list[str]:
    """``"A,B"`` / ``"all"`` / a name -> registered names (UsageError for unknown or repeated ones)."""
    if value == "all":
        return list(registry.MODELS)
    names = [n.strip() for n in value.split(",") if n.strip()] if isinstance(value, str) else list(value)
    for name in names:
        registry.get(name)
    if len(set(names)) != len(names):
        raise UsageError(f"--model {value!r} names a model twice")
    return names


def _weights_for(weights, names: list[str]) -> dict[str, str]:
    """``weights``: None, one path (one model), {model: path}, or ["MODEL=PATH" | "PATH", ...]."""
    if weights is None:
        return {}
    if isinstance(weights, dict):
        out = {k: os.fspath(v) for k, v in weights.items()}
    else:
        values = [weights] if isinstance(weights, (str, os.PathLike)) else list(weights)
        out = {}
        for value in values:
            value = os.fspath(value)
            name, sep, path = value.partition("=")
            if sep and name in registry.MODELS:
                out[name] = path
            elif len(names) == 1:
                out[names[0]] = value
            else:
                raise UsageError(f"--weights {value!r}: with several models give MODEL=PATH (models: "
                                 f"{', '.join(names)})")
    unknown = set(out) - set(names)
    if unknown:
        raise UsageError(f"--weights names model(s) not being run: {', '.join(sorted(unknown))}")
    return out


def load_models(models, weights=None, device: str = "cpu") -> dict[str, tuple[ModelSpec, object]]:
    """{name: (spec, torch model)} for ``models`` (see the module docstring). With ``"all"`` a
    model whose weights do not resolve is left out with a warning; a model named explicitly must
    load."""
    import seqzoo
    from .weights import WeightsError

    everything = isinstance(models, str) and models == "all"
    items = _items(models)
    names = [_name_of(item) for item in items]
    if len(set(names)) != len(names):
        raise UsageError(f"models {names} name a model twice")
    paths = _weights_for(weights, names)
    out: dict[str, tuple[ModelSpec, object]] = {}
    for item, name in zip(items, names):
        if _is_pair(item):
            spec = item[0] if isinstance(item[0], ModelSpec) else registry.get(item[0])
            out[name] = (spec, item[1])
            continue
        if isinstance(item, ModelSpec):
            spec = item
        elif isinstance(item, str):
            spec = registry.get(item)
        else:  # a loaded model
            out[name] = (registry.get(name), item)
            continue
        try:
            out[name] = (spec, seqzoo.load_model(spec, weights=paths.get(name), device=device))
        except WeightsError as exc:
            if not everything:
                raise
            log.warning("--model all: leaving out %s: %s", name, exc.short)
    if not out:
        raise UsageError("--model all: no model's weights could be found; see the warnings above")
    return out


def _items(models) -> list:
    """``models`` (see the module docstring) as a list of names, specs, models and pairs."""
    if isinstance(models, str):
        return model_names(models)
    if isinstance(models, (list, tuple)) and not _is_pair(models):
        return list(models)
    return [models]


def _is_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (str, ModelSpec)) \
        and not isinstance(item[1], (str, ModelSpec))


def _name_of(item) -> str:
    if _is_pair(item):
        return item[0].name if isinstance(item[0], ModelSpec) else item[0]
    if isinstance(item, ModelSpec):
        return item.name
    if isinstance(item, str):
        return item
    name = getattr(item, "seqzoo_name", None)
    if name is None:
        raise UsageError(f"cannot tell which model {type(item).__name__} is: pass it as (name, model), or load it "
                         f"with seqzoo.load_model")
    return name


def _specs_of(models) -> list[ModelSpec]:
    """Specs of ``models`` without loading weights (``seqzoo windows``)."""
    return [i if isinstance(i, ModelSpec) else i[0] if _is_pair(i) and isinstance(i[0], ModelSpec)
            else registry.get(_name_of(i)) for i in _items(models)]


# -- one run ------------------------------------------------------------------------------------
@dataclass
class RunSetup:
    """What a run over a VCF needs, built once: the window stream, the scorers (None for windows
    only) and the output schema."""

    windows: VariantWindows
    specs: list
    models: dict | None
    scorer: ModelsScorer | None
    schema: list[Column]
    options: dict
    #: the vectorised paths for in-window substitutions (False: every allele on its own, for checks)
    vectorized: bool = True

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def window_chunks(self, vcf, chunk_rows: int = 4096, after_record: int = 0) -> Iterator[Chunk]:
        """The window pairs (with their extra model inputs) and skip rows of ``vcf``, in chunks of
        whole records, counted into :attr:`summary` (a new pass starts a fresh count)."""
        return self.windows.chunks(vcf, chunk_rows, after_record=after_record)

    @property
    def summary(self):
        return self.windows.summary

    @property
    def chrom_alias(self) -> Path | None:
        """The alias file the contig names are mapped through (None: none given)."""
        return self.windows.names.alias_file

    def table(self, pairs) -> Table:
        if self.scorer is None:
            return window_table(pairs, self.specs)
        return self.scorer.score_table(pairs)


def _absolute_options(specs, options: dict) -> dict:
    """Model options with path options made absolute and checked to exist."""
    known = registry.options()
    for spec in specs:
        known.update({o.name: o for o in spec.options})
    out = {}
    for name, value in options.items():
        if name not in known:
            raise UsageError(f"unknown option {name!r}; the models' options are: {', '.join(sorted(known)) or 'none'}")
        if value is None:
            continue
        if known[name].kind == "path":
            value = os.path.abspath(os.fspath(value))
        out[name] = value
    return out


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity, capped by ``$SLURM_CPUS_PER_TASK`` and
    ``$OMP_NUM_THREADS`` when set."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        n = os.cpu_count() or 1
    for var in ("SLURM_CPUS_PER_TASK", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            n = min(n, int(value))
    return max(1, n)


def set_threads(threads: int | None) -> int:
    """Give torch ``threads`` compute threads; returns the number.

    Default (None): :func:`available_cpus`, and never more than torch has now, so a caller's own
    ``torch.set_num_threads(1)`` stays. torch's default (every core of the machine) slows down
    5-40x on a shared node as soon as another process holds a core; one thread per CPU this
    process may use avoids that.
    """
    import torch

    n = min(available_cpus(), torch.get_num_threads()) if threads is None else int(threads)
    if n < 1:
        raise UsageError(f"--threads must be >= 1, not {threads}")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def setup_run(models, fasta, vcf, gtf=None, *, score: bool = True, vectors: bool = True, batch_size: int = 64,
              device: str = "cpu", weights=None, reuse_reference: bool = True, threads: int | None = None,
              chrom_alias=None, incremental: bool = True, vectorized: bool = True, warn_inputs: bool = True,
              **options) -> RunSetup:
    """Load the models (``score``), open the FASTA and GTF once, build every window rule.

    ``chrom_alias``: a UCSC chromAlias file (either layout) through which the VCF's and GTF's
    contig names are mapped onto the FASTA's (:class:`seqzoo.genome.names.ContigNames`).
    ``incremental=False``: a full forward pass of every alt window, also for models with an
    incremental path (``predict_edits``: Framepool, Xpresso, HAL), whose results it equals;
    ``reuse_reference=False``: the reference window of every row predicted anew too (both are the
    paths the benchmarks compare against). ``warn_inputs=False``: the window rules' warnings about
    their inputs as a whole are left to the caller (``seqzoo ism`` warns about its one window).
    """
    everything = isinstance(models, str) and models == "all"
    if score:
        set_threads(threads)
    loaded = load_models(models, weights, device) if score else None
    specs = [spec for spec, _ in loaded.values()] if loaded is not None else _specs_of(models)
    gtf_needers = [s.name for s in specs if s.needs_gtf]
    if gtf_needers and not gtf:
        raise UsageError(f"model(s) {', '.join(gtf_needers)} need --gtf (their windows come from annotated features)")
    options = _absolute_options(specs, options)
    if chrom_alias is not None:
        chrom_alias = os.path.abspath(os.fspath(chrom_alias))
    windows = VariantWindows(specs, fasta, gtf, leave_out_unusable=everything, chrom_alias=chrom_alias,
                             warn_inputs=warn_inputs, **options)
    specs = windows.specs
    if vcf is not None:
        if not Path(vcf).is_file():
            raise GenomeError(f"VCF file {vcf} does not exist")
        check_vcf_contigs(vcf, windows.names)
    if batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, not {batch_size}")
    scorer = None
    if loaded is not None:
        loaded = {s.name: loaded[s.name] for s in specs}
        scorer = ModelsScorer({name: PairScorer(spec, model, batch_size=batch_size, vectors=vectors,
                                                reuse_reference=reuse_reference, incremental=incremental)
                               for name, (spec, model) in loaded.items()})
        schema = scorer.schema
    else:
        schema = window_columns(specs)
    return RunSetup(windows, specs, loaded, scorer, schema, options, vectorized)


class ScoredChunk(NamedTuple):
    """One chunk of whole VCF records: ``rows`` (a :class:`Table`), ``skips`` (:class:`Skip`
    objects), the 1-based number of its last VCF record, the run's counts after it, and the runs of
    alleles outside every model's features (:class:`seqzoo.windowing.OutsideRun`)."""

    rows: Table
    skips: list
    last_record: int
    last_record_at: str
    summary: dict
    outside: tuple = ()
    open_run: object = None


REPORT_OUTSIDE = ("runs", "rows")


def _chunks(setup: RunSetup, vcf, chunk_rows: int, after_record: int = 0, io_workers: int = 0,
            report_outside: str = "runs", open_run=None) -> Iterator[ScoredChunk]:
    if report_outside not in REPORT_OUTSIDE:
        raise UsageError(f"report_outside must be one of {REPORT_OUTSIDE}, not {report_outside!r}")
    # alleles inside one model's windows: as blocks of arrays (vectorized=False: per allele)
    fast_rows = setup.vectorized and len(setup.specs) == 1
    chunks = setup.windows.chunks(vcf, chunk_rows, after_record=after_record,
                                  outside_runs=report_outside == "runs", open_run=open_run, fast_rows=fast_rows)
    with fewer_gc_passes():  # (restored when the run ends or its generator is closed)
        for chunk in prefetch(chunks, depth=2 if io_workers else 0):
            yield ScoredChunk(setup.table(chunk.pairs), chunk.skips, chunk.last_record, chunk.last_record_at,
                              chunk.summary, chunk.outside, chunk.open_run)


def iter_scores(models, fasta, vcf, gtf=None, *, chunk_rows: int = 4096, io_workers: int = 0, score: bool = True,
                report_outside: str = "runs", **options) -> Iterator[ScoredChunk]:
    """The run as :class:`ScoredChunk` objects (chunks of whole VCF records, in VCF order), nothing
    written; the last chunk's ``summary`` is the run's (``identity_holds`` checked at the end).
    ``score=False`` gives the windows (``ref_seq``, ``alt_seq``) instead of scores."""
    setup = setup_run(models, fasta, vcf, gtf, score=score, **options)  # (no run_scope: see seqzoo.gc_passes)
    yield from _chunks(setup, vcf, chunk_rows, io_workers=io_workers, report_outside=report_outside)
    setup.windows.summary.check()


@dataclass
class ScoreResult:
    """What :func:`score_vcf` returns (unpacks as ``rows, summary, skipped``): ``rows`` and
    ``skipped`` as pandas DataFrames (None when they were written to ``out``), ``summary`` the
    run's counts (``OUT.summary.json``), ``models`` the models that ran (``"all"`` leaves some out),
    ``outside`` the runs of alleles outside every model's features (a DataFrame; None with ``out``)."""

    rows: object
    summary: dict
    skipped: object
    models: list
    outside: object = None

    def __iter__(self):
        return iter((self.rows, self.summary, self.skipped))


def _skip_frame(skips: Sequence[Skip]):
    import pandas as pd
    return pd.DataFrame([s.as_row() for s in skips], columns=list(SKIP_COLUMNS))


def score_vcf(models, fasta, vcf, gtf=None, out=None, **options) -> ScoreResult:
    """Score every allele of ``vcf`` with ``models`` (see the module docstring).

    ``out=None``: returns the rows, the summary and the skip report as pandas DataFrames (per-position
    outputs as arrays in their cells). ``out``: a path ending in .tsv, .tsv.gz, .parquet, .h5,
    .vcf.gz or .vcf; the rows are streamed there chunk by chunk with ``OUT.skipped.tsv`` (or
    ``skipped=PATH``), ``OUT.summary.json`` and a progress note for ``resume=True`` (see
    ``seqzoo score --help``); returns ``ScoreResult(None, summary, None)``.
    """
    return _run(models, fasta, vcf, gtf, out, score=True, **options)


def windows_vcf(models, fasta, vcf, gtf=None, out=None, **options) -> ScoreResult:
    """:func:`score_vcf`, writing the ref/alt windows each model sees instead of scores (no weights needed)."""
    return _run(models, fasta, vcf, gtf, out, score=False, **options)


@in_run_scope
def _run(models, fasta, vcf, gtf, out, *, score: bool, skipped=None, resume: bool = False, chunk_rows: int = 4096,
         io_workers: int = 0, vectors=None, on_chunk=None, command_line: str | None = None,
         report_outside: str = "runs", tsv_process: bool | None = None, **options) -> ScoreResult:
    if out is None:
        if resume:
            raise UsageError("resume=True needs an output path (out=...)")
        tables, skips, runs = [], [], []
        setup = setup_run(models, fasta, vcf, gtf, score=score, vectors=True if vectors is None else vectors,
                          **options)
        for chunk in _chunks(setup, vcf, chunk_rows, io_workers=io_workers, report_outside=report_outside):
            tables.append(chunk.rows)
            skips += chunk.skips
            runs += chunk.outside
        summary = setup.windows.summary
        summary.check()
        import pandas as pd
        outside = pd.DataFrame([r.as_row() for r in runs], columns=list(OutsideRun.COLUMNS))
        return ScoreResult(_frame(tables, setup.schema), summary.to_dict(), _skip_frame(skips), setup.names, outside)
    out_format = table_format(out, vcf=score)
    if resume and out_format in VCF_SUFFIXES:
        raise UsageError(f"--resume needs a table output (.tsv, .tsv.gz, .parquet, .h5), not {out}: an annotated VCF "
                         f"is written whole or not at all")
    setup = setup_run(models, fasta, vcf, gtf, score=score, vectors=has_vectors(out) if vectors is None else vectors,
                      **options)
    skip_path = Path(skipped) if skipped else default_skip_path(out)
    inputs = input_files(fasta, setup.options, vcf=vcf, gtf=gtf, chrom_alias=setup.chrom_alias)
    for name, (_, model) in (setup.models or {}).items():
        inputs[f"weights of {name}"] = getattr(model, "weights_file", None)
    with claim_outputs(run_outputs(out, skip_path, out_format), inputs, folders={"parts"}):
        if command_line is None:  # called from Python: say so in the annotated VCF's header
            command_line = (f"seqzoo.{'score_vcf' if score else 'windows_vcf'}({', '.join(setup.names)}, fasta={fasta}, "
                            f"vcf={vcf}, gtf={gtf}, out={out})")
        summary = _stream(setup, vcf, out, out_format, skip_path, resume, chunk_rows, io_workers,
                          "score" if score else "windows", on_chunk, command_line, report_outside, tsv_process)
    return ScoreResult(None, summary, None, setup.names)


def input_files(fasta, options: dict, **named) -> dict:
    """A run's input files by what they are (none may be an output, :func:`claim_outputs`): the
    FASTA and its index files, the ``named`` ones (``chrom_alias=p`` -> ``--chrom-alias``) and the
    model options that are paths (e.g. ``--halflife-file``); None where not given."""
    inputs = {"--fasta": fasta, **fasta_indexes(fasta), **{_flag(k): v for k, v in named.items()}}
    inputs.update({_flag(k): v for k, v in options.items() if _is_path_option(k)})
    return inputs


def fasta_indexes(fasta) -> dict:
    """The FASTA's index files, by what they are (inputs no output may be): ``.fai``, and ``.gzi``
    for a bgzip-compressed FASTA."""
    return {"FASTA index": f"{fasta}.fai", "FASTA .gzi index": f"{fasta}.gzi"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _is_path_option(name: str) -> bool:
    option = registry.options().get(name)
    return option is None or option.kind == "path"


def run_outputs(out, skip_path, out_format: str) -> dict:
    """Every file a run writes, by what it is (none may be an input)."""
    outputs = {"-o": out, "skip report": skip_path, "summary": default_summary_path(out),
               "progress note": progress_path(out), "outside runs": default_outside_path(out)}
    if out_format == ".parquet":
        outputs["parts"] = parts_dir(out)
    if out_format == ".vcf.gz":
        outputs["index"] = f"{out}.tbi"
    return outputs


def _frame(tables: Sequence[Table], schema: Sequence[Column]):
    import pandas as pd

    if not tables:
        return pd.DataFrame({c.name: pd.Series([], dtype=_pandas_dtype(c)) for c in schema})
    # one table, converted once: a column's dtype is the run's, not one chunk's (e.g. where only some
    # chunks have absent cells; pandas warns on concatenating all-NA columns)
    table = tables[0] if len(tables) == 1 else Table.concat(tables, schema)
    return table.to_pandas()[[c.name for c in schema]]


def _pandas_dtype(col: Column) -> str:
    if col.shape or col.kind == "str":
        return "object"
    return "int64" if col.kind == "int" else col.kind


def _fingerprint(command: str, setup: RunSetup, vcf, skip_path) -> dict:
    """What a resumed run must share with the run that wrote the progress note."""
    weights = {n: file_identity(getattr(m, "weights_file", None)) for n, (_, m) in (setup.models or {}).items()}
    fingerprint = {"command": command, "models": setup.names, "columns": [c.name for c in setup.schema],
                   "weights": weights, "skipped": str(skip_path), "fasta": file_identity(setup.windows.genome.path),
                   "gtf": file_identity(setup.windows.gtf_file), "vcf": file_identity(vcf),
                   "chrom_alias": file_identity(setup.chrom_alias)}
    for name, value in sorted(setup.options.items()):
        fingerprint[name] = file_identity(value) if _is_path_option(name) else value
    if "halflife_file" not in fingerprint:  # the key earlier progress notes have
        fingerprint["halflife_file"] = None
    return fingerprint


def _stream(setup: RunSetup, vcf, out, out_format: str, skip_path: Path, resume: bool, chunk_rows: int,
            io_workers: int, command: str, on_chunk=None, command_line: str | None = None,
            report_outside: str = "runs", tsv_process: bool | None = None) -> dict:
    """Stream the run into ``out`` with progress notes (:mod:`seqzoo.checkpoint`); returns the
    summary dict."""
    from .vcf_output import VcfAnnotator

    summary_path = default_summary_path(out)
    outside_path = default_outside_path(out)
    progress = Progress(out, dict(_fingerprint(command, setup, vcf, skip_path), report_outside=report_outside))
    note = progress.resume_point() if resume else None
    if note is not None:  # every file is checked before any is cut back
        check_resume_state(out, note["output_state"])
        check_resume_state(skip_path, note["skipped_state"])
        check_resume_state(outside_path, note["outside_state"])
    else:
        if resume:
            log.warning("--resume: no progress note %s; starting from the first record", progress.path)
        progress.remove()  # a fresh run: an older run's note no longer describes these files
    summary_path.unlink(missing_ok=True)
    if out_format in VCF_SUFFIXES:
        writer = VcfAnnotator(out, vcf, setup.specs, command=command_line)
    else:
        writer = open_table(out, setup.schema, resume=note and note["output_state"])
    skips = TableWriter(skip_path, SKIP_SCHEMA, resume=note and note["skipped_state"])
    outside = TableWriter(outside_path, OUTSIDE_SCHEMA, resume=note and note["outside_state"])
    after, open_run = 0, None
    if note:
        setup.windows.summary.restore(note["summary"])
        after = note["last_record"]
        open_run = OutsideRun.from_row(note["open_run"]) if note.get("open_run") else None
    # done: the state after the last chunk whose rows, skips and outside runs are all written
    # (handed to the OS); noted: the last state synced (fsync) and noted, after the first chunk, then
    # at most every progress_notes.CHECKPOINT_SECONDS (fsync is slow on cluster file systems). A stop
    # or failure syncs and notes done, or, if that sync or any earlier one failed (a second fsync
    # after a write-back error may succeed with the data lost), goes back to noted.
    done = noted = note
    noted_at = -math.inf
    sync_failed = False
    completed, stopped, error = False, None, None
    gzipped = out_format == ".tsv.gz"

    def finish(chunk, table, ticket) -> None:
        """Write a chunk (rows: preformatted where ``table`` is given), note its state."""
        nonlocal done, noted, noted_at, sync_failed
        if table is None:
            writer.write(chunk.rows, through_record=chunk.last_record)
        elif table.n:
            writer.write_text(helper.text(ticket, table, writer.columns, gzipped))
        skips.write(Table.from_rows([s.as_row() for s in chunk.skips], SKIP_SCHEMA))
        outside.write(Table.from_rows([r.as_row() for r in chunk.outside], OUTSIDE_SCHEMA))
        if writer.resumable:
            sync = time.monotonic() - noted_at >= progress_notes.CHECKPOINT_SECONDS
            try:
                state = {"last_record": chunk.last_record, "last_record_at": chunk.last_record_at,
                         "summary": chunk.summary, "output_state": writer.checkpoint(sync),
                         "skipped_state": skips.checkpoint(sync), "outside_state": outside.checkpoint(sync),
                         "open_run": chunk.open_run.as_note() if chunk.open_run else None}
            except OSError:
                sync_failed = sync_failed or sync
                raise
            done = state
            if sync:
                progress.save("running", **done)
                noted, noted_at = done, time.monotonic()
        if on_chunk is not None:
            on_chunk(chunk.last_record)

    try:
        # (the chunks' generator is closed however the loop ends: it holds the run's gc setting)
        with stop_signals(), _tsv_helper(writer, tsv_process) as helper, contextlib.closing(
                _chunks(setup, vcf, chunk_rows, after, io_workers, report_outside, open_run)) as chunks:
            # with a helper, a chunk's rows are formatted there while the next chunks are built, and
            # written after them: ``pending``, the chunks built and not written yet, in order
            # (a chunk's writing failed or was stopped: no later chunk is written; a chunk's building
            # or sending failed or was stopped: every chunk built before it is written first)
            pending: collections.deque = collections.deque()

            def finish_pending() -> None:
                while pending:
                    finish(*pending.popleft())

            while True:
                try:
                    chunk = next(chunks)
                    table = writer.table(chunk.rows) if helper is not None else None
                except StopIteration:
                    break
                except BaseException:
                    finish_pending()
                    raise
                if helper is None:
                    finish(chunk, None, None)
                    continue
                if len(pending) >= tsv_helpers.DEPTH:
                    finish(*pending.popleft())
                try:
                    ticket = helper.submit(table, writer.columns, gzipped) if table.n else None
                except BaseException:  # (the helper is given up: this chunk is formatted here)
                    pending.append((chunk, table, None))
                    finish_pending()
                    raise
                pending.append((chunk, table, ticket))
            finish_pending()
            completed = True
    except Stopped as exc:
        stopped = exc
    except BaseException as exc:
        error = exc
        raise
    finally:
        if completed:
            writer.close()
            skips.close()
            outside.close()
            progress.remove()
        elif not writer.resumable:  # a failed run leaves no complete-looking annotated VCF behind
            writer.abort()
            skips.close()
            outside.close()
        else:  # cut back to the last whole chunk on disk, then noted
            target = done
            if target is not noted:
                try:
                    if sync_failed:
                        raise OSError("an earlier fsync failed")
                    for w in (writer, skips, outside):
                        w.sync()
                except OSError as exc:
                    run_log.warning("could not put the chunks after record %s on disk (%s); going back to the "
                                    "last progress note", noted["last_record"] if noted else 0, exc)
                    target = noted
            writer.suspend(target and target["output_state"])
            skips.suspend(target and target["skipped_state"])
            outside.suspend(target and target["outside_state"])
            if target is not None:
                _note_stop(progress, target, stopped, error, out, out_format, skip_path)
            elif stopped:
                run_log.warning("stopped (%s) before the first chunk was written; nothing to resume", stopped)
        if stopped and not writer.resumable:
            run_log.warning("stopped (%s); %s was removed (an annotated VCF is written whole or not at all)",
                            stopped, out)
    if stopped:
        raise stopped
    summary = setup.windows.summary
    summary.check()
    summary_path.write_text(summary.to_json() + "\n")
    return summary.to_dict()


def _tsv_helper(writer, tsv_process: bool | None):
    """A context giving the helper process that formats ``writer``'s TSV text
    (:mod:`seqzoo.tsv_process`), or None: ``tsv_process`` False, not a .tsv/.tsv.gz table, fewer
    than two usable CPUs (None: automatic), or no helper free to run."""
    if tsv_process is False or not isinstance(writer, TableWriter) or not writer.text or (
            tsv_process is None and tsv_helpers.usable_cpus() < 2):
        return contextlib.nullcontext(None)
    return tsv_helpers.checkout()


def _note_stop(progress, saved: dict, stopped, error, out, out_format: str, skip_path) -> None:
    """Save the progress note of a stopped or failed run and say where it stopped and how to go on."""
    from .errors import SeqzooError

    status = "stopped" if stopped else "failed"
    try:
        progress.save(status, **{k: saved[k] for k in ("last_record", "last_record_at", "summary", "output_state",
                                                       "skipped_state", "outside_state", "open_run")},
                      error=None if stopped else f"{type(error).__name__}: {error}")
    except OSError as exc:  # e.g. the disk is full: the last note written stays
        log.warning("could not update %s (%s); it still describes an earlier point of the run, from which "
                    "--resume goes on", progress.path, exc)
    done = (f"every row of VCF records 1-{saved['last_record']} (up to {saved['last_record_at']})"
            if saved["last_record"] else "no record yet")
    held = parts_dir(out) if out_format == ".parquet" else out
    if stopped or not isinstance(error, SeqzooError):
        how = "Continue with the same command plus --resume."
    else:  # an input error: the fixed input is a new input, which a note cannot be resumed with
        how = "Fix the input and run the command again without --resume (a changed input starts afresh)."
    run_log.warning("%s; %s and %s hold %s; progress note %s. %s",
                    f"stopped ({stopped})" if stopped else "failed", held, skip_path, done, progress.path, how)


# -- regions (seqzoo predict) -------------------------------------------------------------------
REGION_COLUMNS = ("name", "chrom", "start", "end", "window_chrom", "window_start", "window_end")
REGION_SKIP_COLUMNS = ("name", "chrom", "start", "end", "line", "reason", "detail")
_REGION_INTS = frozenset({"start", "end", "window_start", "window_end", "line"})


def _region_schema(spec, vectors: bool) -> list[Column]:
    cols = [Column(c, "int" if c in _REGION_INTS else "str", metadata=True) for c in REGION_COLUMNS]
    outputs = list(spec.outputs) + (list(spec.vector_outputs) if vectors else [])
    return cols + [Column(k, kind_of(spec.output_dtype(k)), tuple(spec.vector_shapes.get(k, ()))) for k in outputs]


def predict_regions(model, fasta, bed, out=None, *, skipped=None, batch_size: int = 64, device: str = "cpu",
                    weights=None, chunk_rows: int = 4096, threads: int | None = None,
                    chrom_alias=None) -> ScoreResult:
    """Predict the model window of every BED region (models with a region mode: BPNet-OSKN).

    One row per region (metadata + outputs), regions without a window in the skip report with
    their reason; ``out`` as for :func:`score_vcf` (no resume), else DataFrames. ``chrom_alias``: a
    UCSC chromAlias file mapping the BED's contig names onto the FASTA's.
    """
    import json
    from collections import Counter

    from .genome.fasta import Genome
    from .genome.names import ContigNames

    set_threads(threads)
    (name, (spec, torch_model)), = load_models(model, weights, device).items()
    if spec.region_windows is None:
        have = [n for n, s in sorted(registry.MODELS.items()) if s.region_windows is not None]
        raise UsageError(f"model {spec.name} has no region mode; seqzoo predict supports: {', '.join(have)}")
    vectors = out is None or has_vectors(out)
    schema = _region_schema(spec, vectors)
    outputs = [c.name for c in schema[len(REGION_COLUMNS):]]
    genome = Genome(fasta)
    names = ContigNames(genome.lengths, aliases=chrom_alias, fasta=genome.path)
    skip_schema = [Column(c, "int" if c in _REGION_INTS else "str") for c in REGION_SKIP_COLUMNS]
    tables, skip_rows = [], []
    writer = skips = lock = None
    if out is not None:
        table_format(out)
        skip_path = Path(skipped) if skipped else default_skip_path(out)
        lock = claim_outputs(run_outputs(out, skip_path, table_format(out)),
                             {**input_files(fasta, {}, bed=bed, chrom_alias=chrom_alias),
                              f"weights of {name}": getattr(torch_model, "weights_file", None)}, folders={"parts"})
    try:
        events = spec.region_windows(genome, bed, names)
        if out is not None:
            writer = open_table(out, schema)
            skips = TableWriter(skip_path, skip_schema)
        regions, rows, reasons, pending = 0, 0, Counter(), []

        def flush():
            nonlocal rows
            if not pending:
                return
            preds = torch_model.predict_sequences([w.seq for w in pending], batch_size=batch_size)
            table = Table.from_rows([{"name": w.name, "chrom": w.bed_chrom, "start": w.region_start,
                                      "end": w.region_end, "window_chrom": w.chrom, "window_start": w.start,
                                      "window_end": w.end} for w in pending], schema[:len(REGION_COLUMNS)])
            table.columns.update({k: preds[k] for k in outputs})
            (writer.write(table) if writer is not None else tables.append(table))
            rows += len(pending)
            pending.clear()

        for ev in events:
            regions += 1
            if hasattr(ev, "seq"):
                pending.append(ev)
                if len(pending) >= chunk_rows:
                    flush()
            else:
                reasons[ev.reason] += 1
                row = {"name": ev.name, "chrom": ev.bed_chrom, "start": ev.region_start, "end": ev.region_end,
                       "line": ev.line, "reason": ev.reason, "detail": ev.detail}
                (skips.write([row]) if skips is not None else skip_rows.append(row))
        flush()
    finally:
        for w in (writer, skips):
            if w is not None:
                w.close()
        if lock is not None:
            lock.release()
    summary = {"regions": regions, "rows": rows, "skipped": sum(reasons.values()),
               "skipped_by_reason": dict(sorted(reasons.items())),
               "unmatched_contigs": {k: sorted(v) for k, v in names.unmatched.items() if v},
               "identity_holds": regions == rows + sum(reasons.values())}
    if not summary["identity_holds"]:
        raise AssertionError(f"accounting broken: {summary}")
    if out is not None:
        default_summary_path(out).write_text(json.dumps(summary, indent=2) + "\n")
        return ScoreResult(None, summary, None, [name])
    import pandas as pd
    return ScoreResult(_frame(tables, schema), summary, pd.DataFrame(skip_rows, columns=list(REGION_SKIP_COLUMNS)),
                       [name])


# -- one variant (plots) ------------------------------------------------------------------------
def variant_predictions(models, fasta, vcf, variant_id: str, gtf=None, **options) -> list[tuple]:
    """(window pair, ref predictions, alt predictions) of every row of the VCF variant ``variant_id``
    (its ``variant_id`` column), every model: full prediction dicts, per-position outputs included."""
    setup = setup_run(models, fasta, vcf, gtf, score=True, vectors=True, **options)
    out = []
    for result in setup.windows.results(vcf):
        if result.allele.variant_id != variant_id:
            continue
        for pair in result.rows:
            scorer = setup.scorer.scorers[pair.model]
            ref, alt = scorer.predict_pairs([pair])
            out.append((pair, {k: v[0] for k, v in ref.items()}, {k: v[0] for k, v in alt.items()}))
    if not out:
        raise UsageError(f"variant {variant_id!r} gives no window in {vcf} for {', '.join(setup.names)} (see "
                         f"`seqzoo windows` and its skip report)")
    return out
