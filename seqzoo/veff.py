"""kipoi-veff users: ``kipoi_veff.score_variants`` on seqzoo's models and seqzoo's own windows.

kipoi-veff 0.3.1 scores SNVs with a Kipoi model that takes ONE sequence (plus other inputs it
copies unchanged), with one GenomicRanges metadata field per sequence, and gives ONE array output
with ``column_labels``. It mutates the reference sequence the dataloader yields at
``POS - (ranges.start + 1)`` (reverse-complemented index and base where ``ranges.strand`` is '-'),
predicts reference and alternative and writes the scores ``ref``, ``alt`` and ``diff`` = alt - ref
of every output label as INFO tags ``KV:<source>:<model>:<SCORE>`` (values ``|``-separated in
label order) of the scored records, plus ``KV:<source>:<model>:rID`` naming the dataloader sample.

seqzoo's model directories for it are ``models/<Name>/veff`` (``models/Xpresso/veff/<set>``, a
group). Their model class is :class:`VeffKipoiModel`; their outputs are the per-sequence values
in :data:`SPECS` whose ``diff`` / ``ref`` / ``alt`` ARE columns of ``seqzoo score`` (``SPECS[m].columns``).
Two ways to give kipoi-veff seqzoo's windows:

* feature windows (APARENT2, Xpresso, HAL): :func:`write_regions` (``seqzoo veff-regions``) writes
  the model's windows from the GTF, by seqzoo's own rules, as a BED; the user passes it as the
  dataloader's ``regions_file``; kipoi-veff finds the VCF's SNVs in each window by tabix.
  ``rID`` is the 0-based index of the region in that BED (:func:`read_scores` maps it back).
* variant-centred windows (BPNet-OSKN): the dataloader declares ``bed_input``; kipoi-veff writes a
  1000-nt region per SNV with the SNV at index 499 (its ``SnvCenteredRg``), the dataloader turns
  each into seqzoo's window of that SNV (SNV at index 500, as the BPNet authors' extractor does).
  ``rID`` is kipoi-veff's variant id ``chrom:pos:ref:['alt']``.

Framepool does not fit: its input is a transcript's whole spliced 5'UTR (its exons joined, any
length), so one sequence index does not map to one genomic position through a single
``GenomicRanges`` (start, end, strand) as kipoi-veff's mutator requires (it would mutate
``POS - start`` of the joined exons, the wrong base for every exon after the first, and it would
find intronic SNVs inside the range). See :data:`NOT_SERVED`.

kipoi-veff 0.3.1 does not run unmodified on a kipoi that imports on Python 3.11; :func:`enable`
applies the three fixes (only those needed, only when called, never at ``import seqzoo``).
"""
from __future__ import annotations

import logging
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import registry
from .errors import UsageError
from .genome.textfile import open_text
from .kipoi_model import SeqzooKipoiModel
from .scoring import predict_unique
from .windows import centered, donor, pas, tss
from .zoo.aparent2 import logodds
from .zoo.bpnet import TASKS as BPNET_TASKS


# -- the compatibility fixes ------------------------------------------------------------------
_APPLIED: list[str] = []


def enable() -> tuple[str, ...]:
    """Make kipoi-veff 0.3.1 run on this kipoi / numpy / pyvcf3; returns the fixes in effect.

    Each fix is applied once (idempotent) and only where it is needed:

    * ``postprocessing``: kipoi >= 0.6.37 no longer parses ``postprocessing:`` in model.yaml /
      dataloader.yaml (kipoi/kipoi#696), so kipoi-veff fails with ``AttributeError: ... has no
      attribute 'postprocessing'``. Where :class:`kipoi.specs.ModelDescription` has no such field,
      the yaml's ``postprocessing: variant_effects:`` is parsed again with kipoi-veff's own
      classes (``kipoi_veff.ModelParser`` / ``DataloaderParser``) and attached to what
      ``kipoi.get_model`` and ``kipoi.get_dataloader_factory`` return (``model.postprocessing``,
      ``model.default_dataloader.postprocessing``: ``{"variant_effects": ...}`` or ``{}``).
    * ``np.int``: kipoi-veff's one-hot mutator and output reshaper use ``np.int`` / ``np.str``
      (removed in numpy 1.24). Where numpy lacks them, the ``np`` of every ``kipoi_veff`` module
      is a view of numpy with ``int`` / ``str`` added; numpy itself is not changed.
    * ``Info.type_code``: pyvcf3's ``Info`` namedtuple has a 7th field ``type_code`` that
      kipoi-veff's ``VcfWriter`` does not pass (``TypeError: Info.__new__() missing 1 required
      positional argument: 'type_code'``); where it has it, ``VcfWriter._generate_info_field``
      builds the record with the type code pyvcf3's own header parser would give.

    Raises ImportError (naming the pip command) when kipoi or kipoi_veff is not installed.
    """
    try:
        import kipoi  # noqa: F401
        _import_kipoi_veff()
    except ImportError as exc:
        raise ImportError(f"seqzoo.veff.enable() needs kipoi and kipoi-veff ({exc}): pip install -e '.[kipoi]' "
                          f"&& pip install --no-deps kipoi-veff==0.3.1 pyvcf3==1.0.4 intervaltree==3.2.1") from exc
    for name, needed, fix in _FIXES:
        if name not in _APPLIED and needed():
            fix()
            _APPLIED.append(name)
    return tuple(_APPLIED)


def _import_kipoi_veff() -> None:
    """Import kipoi_veff, then re-enable the loggers its import disabled.

    ``import kipoi_veff`` runs ``logging.config.fileConfig``, which disables every logger that
    exists at that moment (seqzoo's warnings and accounting lines among them). Loggers enabled
    before the import, and all of seqzoo's, are enabled again.
    """
    import sys

    manager = logging.Logger.manager
    before = {name for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger) and not lg.disabled}
    if "kipoi_veff" not in sys.modules:
        import kipoi_veff  # noqa: F401
    for name, lg in manager.loggerDict.items():
        ours = name == "seqzoo" or name.startswith(("seqzoo.", "kipoi.seqzoo"))
        if isinstance(lg, logging.Logger) and (name in before or ours):
            lg.disabled = False


def _postprocessing_needed() -> bool:
    import attr
    from kipoi.specs import ModelDescription
    return "postprocessing" not in {a.name for a in attr.fields(ModelDescription)}


def _parse_postprocessing(cfg: dict, parser) -> dict:
    """``{"variant_effects": parser}`` from a yaml's ``postprocessing:`` mapping (``{}`` without one)."""
    spec = (cfg or {}).get("variant_effects")
    return {} if spec is None else {"variant_effects": parser.from_config(spec)}


def _fix_postprocessing() -> None:
    import kipoi
    import kipoi.specs
    import kipoi_veff

    for cls, parser in ((kipoi.specs.ModelDescription, kipoi_veff.ModelParser),
                        (kipoi.specs.DataLoaderDescription, kipoi_veff.DataloaderParser)):
        original = cls.from_config.__func__

        def from_config(klass, cfg, _original=original, _parser=parser):
            cfg = dict(cfg)
            post = cfg.pop("postprocessing", None)
            descr = _original(klass, cfg)
            descr.postprocessing = _parse_postprocessing(post, _parser)
            return descr

        cls.from_config = classmethod(from_config)

    get_model, get_dataloader = kipoi.get_model, kipoi.get_dataloader_factory

    def attach_dataloader(dl, source, name):
        if dl is not None and isinstance(name, str):
            src = kipoi.config.get_source(source) if isinstance(source, str) else source
            dl.postprocessing = getattr(src.get_dataloader_descr(name), "postprocessing", {})
        return dl

    def get_dataloader_factory(dataloader, source="kipoi"):
        return attach_dataloader(get_dataloader(dataloader, source), source, dataloader)

    def get_model_with_postprocessing(model, source="kipoi", with_dataloader=True, **kwargs):
        mod = get_model(model, source=source, with_dataloader=with_dataloader, **kwargs)
        mod.postprocessing = getattr(mod.source.get_model_descr(mod.name), "postprocessing", {})
        dl = mod.default_dataloader
        if dl is not None and not hasattr(dl, "postprocessing"):  # loaded by import, not by kipoi's factory
            dl.postprocessing = {}
        return mod

    kipoi.get_model = get_model_with_postprocessing
    kipoi.get_dataloader_factory = get_dataloader_factory


def _numpy_alias_needed() -> bool:
    return not hasattr(np, "int")


def _fix_numpy_alias() -> None:
    import sys

    class _NumpyWithAliases(types.ModuleType):
        """numpy, plus the aliases kipoi-veff 0.3.1 still uses (removed in numpy 1.24)."""

        int = int
        str = str

        def __getattr__(self, name):
            return getattr(np, name)

    view = _NumpyWithAliases("numpy")
    for name, module in list(sys.modules.items()):
        if (name == "kipoi_veff" or name.startswith("kipoi_veff.")) and getattr(module, "np", None) is np:
            module.np = view


def _info_type_code_needed() -> bool:
    import vcf.parser
    return "type_code" in vcf.parser._Info._fields


def _fix_info_type_code() -> None:
    import vcf.parser
    from kipoi_veff.utils.io import VcfWriter

    def _generate_info_field(id, num, info_type, desc, source, version):
        return vcf.parser._Info(id, num, info_type, desc, source, version, vcf.parser._encode_type(info_type))

    VcfWriter._generate_info_field = staticmethod(_generate_info_field)


_FIXES = (("postprocessing", _postprocessing_needed, _fix_postprocessing),
          ("np.int", _numpy_alias_needed, _fix_numpy_alias),
          ("Info.type_code", _info_type_code_needed, _fix_info_type_code))


# -- what each model gives kipoi-veff -----------------------------------------------------------
def _aparent2_outputs(preds: dict) -> np.ndarray:
    """iso_prob; logodds_narrow = logit(sum cut_prob[77:127]); logodds = logit(sum cut_prob[0:205]), as in
    :func:`seqzoo.zoo.aparent2.effects` (whose deltas are their differences)."""
    cut = np.asarray(preds["cut_prob"], np.float64)
    return np.stack([np.asarray(preds["iso_prob"], np.float64), logodds(cut[:, 77:127].sum(1)),
                     logodds(cut[:, 0:205].sum(1))], axis=1)


def _columns_of(names: tuple[str, ...]) -> Callable[[dict], np.ndarray]:
    """preds -> (N, len(names)) float64 of the named per-sequence outputs."""
    return lambda preds: np.stack([np.asarray(preds[k], np.float64) for k in names], axis=1)


@dataclass(frozen=True)
class VeffSpec:
    """How one seqzoo model is served to kipoi-veff.

    ``labels``: the ``column_labels`` of the model's one output; ``outputs(preds)``: seqzoo's
    predictions (:meth:`SequenceModel.predict_sequences` dict) -> (N, len(labels)) float64;
    ``columns``: (kipoi-veff score, label) -> the ``seqzoo score`` column it equals;
    ``window``: the window length; ``mode``: ``regions`` (feature windows from
    :func:`write_regions`) or ``snv_centred`` (kipoi-veff's ``bed_input``).
    """

    model: str
    labels: tuple[str, ...]
    outputs: Callable[[dict], np.ndarray]
    columns: dict
    window: int
    mode: str = "regions"
    #: ``seqzoo score`` effect columns kipoi-veff cannot give, and why
    not_served: dict = field(default_factory=dict)


def _ref_alt_diff(label: str, diff: str) -> dict:
    return {("ref", label): f"ref_{label}", ("alt", label): f"alt_{label}", ("diff", label): diff}


_APARENT2 = VeffSpec(
    "APARENT2", ("iso_prob", "logodds_narrow", "logodds"), _aparent2_outputs,
    {("ref", "iso_prob"): "ref_iso_prob", ("alt", "iso_prob"): "alt_iso_prob",
     ("diff", "logodds_narrow"): "delta_logodds_narrow", ("diff", "logodds"): "delta_logodds"},
    window=pas.WINDOW,
    not_served={"max_abs_delta_cut_prob": "a maximum over the 206 positions of |alt - ref|: kipoi-veff scores each "
                                          "output column on its own",
                "argmax_abs_delta_cut_prob": "as max_abs_delta_cut_prob",
                "delta_cut_prob": "per-position (Parquet only in seqzoo); not among the veff outputs"})
_HAL = VeffSpec("HAL", ("score",), _columns_of(("score",)), _ref_alt_diff("score", "delta"), window=donor.WINDOW,
                not_served={"sigmoid_delta": "1 / (1 + exp(-diff)): a function of diff, not a kipoi-veff score"})
_BPNET_LABELS = tuple(f"{t}/log_total_counts" for t in BPNET_TASKS)
_BPNET = VeffSpec(
    "BPNet-OSKN", _BPNET_LABELS, _columns_of(_BPNET_LABELS),
    {k: v for t in BPNET_TASKS for k, v in _ref_alt_diff(f"{t}/log_total_counts",
                                                                   f"{t}/delta_log_counts").items()},
    window=centered.WINDOW, mode="snv_centred",
    not_served={f"{t}/{s}": "compares the ref and alt profiles (1000 x 2 per task) with each other: kipoi-veff scores "
                            "each output column on its own" for t in BPNET_TASKS
                for s in ("profile_jsd", "max_abs_delta_profile_counts")})

#: model name -> how kipoi-veff is served (every model it can serve)
SPECS: dict[str, VeffSpec] = {s.model: s for s in (_APARENT2, _HAL, _BPNET)}
for _set in registry.XPRESSO_WEIGHT_SETS:
    SPECS[f"Xpresso/{_set}"] = VeffSpec(f"Xpresso/{_set}", ("expression",), _columns_of(("expression",)),
                                        _ref_alt_diff("expression", "delta_expression"), window=tss.WINDOW)

#: models kipoi-veff cannot serve, and why
NOT_SERVED = {
    "Framepool": "its input is a transcript's whole 5'UTR, the 5'UTR exons spliced together (variable length). "
                 "kipoi-veff places a SNV in a sequence through ONE GenomicRanges (start, end, strand) per sequence "
                 "(index = POS - start - 1, mirrored on '-'), so a multi-exon 5'UTR cannot be described: every base "
                 "after the first intron would be mutated at the wrong index, and SNVs in the introns inside the "
                 "range would be scored as if exonic. Single-exon 5'UTRs would fit, but a model that silently "
                 "serves only some transcripts was not built; use `seqzoo score --model Framepool`.",
}


def get_spec(model: str) -> VeffSpec:
    if model in NOT_SERVED:
        raise UsageError(f"{model} cannot be scored by kipoi-veff: {NOT_SERVED[model]}")
    if model not in SPECS:
        raise KeyError(f"unknown model {model!r}; kipoi-veff can serve: {', '.join(sorted(SPECS))}")
    return SPECS[model]


# -- the Kipoi model class ----------------------------------------------------------------------
_DECODE = np.array(list("ACGTN"))


def decode_one_hot(x: np.ndarray) -> list[str]:
    """(N, L, 4) one-hot in A, C, G, T order -> N strings; a row that is not exactly one 1 is 'N'."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != 4:
        raise UsageError(f"expected a one-hot array of shape (N, L, 4), got {x.shape}")
    idx = np.where((x == 1).sum(-1) == 1, x.argmax(-1), 4)
    return ["".join(row) for row in _DECODE[idx]]


class VeffKipoiModel(SeqzooKipoiModel):
    """A seqzoo model on ONE sequence per sample, for kipoi-veff (``models/<Name>/veff``).

    Batches: ``{"seq": (B,) str or (B, L, 4) one-hot, **extra}`` (extra: per-sample model inputs,
    e.g. Xpresso ``halflife`` (B, 6)); output: (B, len(labels)) float64, the columns
    :data:`SPECS` ``[model_name].labels``. Arguments as :class:`seqzoo.kipoi_model.SeqzooKipoiModel`.
    """

    def __init__(self, weights_url, weights_md5, weights=None, device="cpu", batch_size=64, model_name=None):
        super().__init__(weights_url, weights_md5, weights=weights, device=device, batch_size=batch_size,
                         model_name=model_name)
        self.veff = get_spec(self.spec.name)

    def predict_on_batch(self, x):
        if not isinstance(x, dict) or "seq" not in x:
            got = sorted(x) if isinstance(x, dict) else type(x).__name__
            raise UsageError(f"{self.spec.name}: a batch is a dict with 'seq' (and per-sample inputs "
                             f"{list(self.model.per_sequence_inputs)}); got {got}")
        seq = np.asarray(x["seq"])
        seqs = decode_one_hot(seq) if seq.ndim == 3 else [str(s) for s in seq.ravel()]
        extra = {k: np.asarray(v) for k, v in x.items() if k != "seq"}
        unknown = sorted(set(extra) - set(self.model.per_sequence_inputs))
        if unknown:
            raise UsageError(f"{self.spec.name}: unknown model input(s) {unknown}; the model takes 'seq' and "
                             f"per-sample {list(self.model.per_sequence_inputs)}")
        inputs = [{k: v[i] for k, v in extra.items()} for i in range(len(seqs))] if extra else None
        return self.veff.outputs(predict_unique(self.model, seqs, self.batch_size, inputs=inputs))


# -- regions: seqzoo's feature windows as a BED -------------------------------------------------
REGION_COLUMNS = ("chrom", "start", "end", "feature_id", "score", "strand", "gene_id")


@dataclass(frozen=True)
class Region:
    """One window of a regions BED: forward-strand [start, end) (0-based) on FASTA contig ``chrom``."""

    chrom: str
    start: int
    end: int
    feature_id: str
    strand: str
    gene_id: str
    line: int = 0


def write_regions(model: str, fasta_file, gtf_file, output, vcf_file=None) -> dict:
    """Write ``model``'s windows (seqzoo's rule on ``gtf_file``) as a BED for kipoi-veff's ``regions_file``.

    One line per window, in the rule's order: ``chrom start end feature_id 0 strand gene_id``
    (FASTA contig names, 0-based half-open, forward strand; the model reads the window
    reverse-complemented where strand is '-'), after one ``#`` header line. Windows past a contig
    end and windows without any A/C/G/T base are left out (seqzoo skips them too:
    ``window_past_contig_end``, ``window_without_bases``). With ``vcf_file`` only windows in which
    seqzoo scores at least one SNV of that VCF are written (kipoi-veff then reads far fewer windows).
    Returns counts: ``{"windows", "written", "past_contig_end", "without_bases", "without_snv"}``.
    Raises ValueError for a model kipoi-veff cannot serve or one without feature windows.
    """
    from .scoring import VariantWindows
    from .windows.base import WindowPair
    from .windows.fixed import AnchoredWindowRule, WindowPastContigEnd

    spec = get_spec(model)
    if spec.mode != "regions":
        raise UsageError(f"{model}: kipoi-veff makes its windows itself (one per SNV, through the dataloader's "
                         f"bed_input); there are no regions to write")
    windows = VariantWindows(registry.get(model), fasta_file, gtf_file)
    rule = windows.rule
    assert isinstance(rule, AnchoredWindowRule), type(rule)
    keep = None
    if vcf_file is not None:
        keep = {ev.feature_id for ev in windows.events(vcf_file)
                if isinstance(ev, WindowPair) and len(ev.allele.ref) == len(ev.allele.alt) == 1}
    counts = {"windows": len(rule.features), "written": 0, "past_contig_end": 0, "without_bases": 0,
              "without_snv": 0}
    with open(output, "w") as fh:
        fh.write("#" + "\t".join(REGION_COLUMNS) + "\n")
        for i, w in enumerate(rule.features):
            if keep is not None and w.feature_id not in keep:
                counts["without_snv"] += 1
                continue
            try:
                ref = rule.ref_forward(i)
            except WindowPastContigEnd:
                counts["past_contig_end"] += 1
                continue
            if set("ACGT").isdisjoint(ref):
                counts["without_bases"] += 1
                continue
            fh.write(f"{w.chrom}\t{w.start}\t{w.end}\t{w.feature_id}\t0\t{w.strand}\t{w.gene_id}\n")
            counts["written"] += 1
    return counts


def read_regions(path) -> Iterator[Region]:
    """The windows of a regions BED (:func:`write_regions`), in file order; ``#`` lines are skipped.

    Raises ValueError naming the file and line for a line without the 7 columns, non-integer
    coordinates or a strand other than '+' / '-'.
    """
    path = Path(path)
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.rstrip("\r\n").split("\t")
            if len(f) != len(REGION_COLUMNS):
                raise UsageError(f"regions file {path}, line {line_no}: expected {len(REGION_COLUMNS)} tab-separated "
                                 f"columns ({' '.join(REGION_COLUMNS)}; written by `seqzoo veff-regions`), found "
                                 f"{len(f)}")
            try:
                start, end = int(f[1]), int(f[2])
            except ValueError:
                raise UsageError(f"regions file {path}, line {line_no}: start and end must be integers, got "
                                 f"{f[1]!r}, {f[2]!r}") from None
            if f[5] not in ("+", "-"):
                raise UsageError(f"regions file {path}, line {line_no}: strand must be '+' or '-', got {f[5]!r}")
            yield Region(f[0], start, end, f[3], f[5], f[6], line_no)


_ACGT = frozenset("ACGT")


def write_snv_vcf(vcf_file, output) -> dict:
    """Write the records of ``vcf_file`` that kipoi-veff scores correctly: REF and every ALT one base
    of A/C/G/T. ``output`` (``.vcf.gz``) is bgzipped and tabix-indexed, so kipoi-veff needs no
    ``bedtools`` to index it.

    kipoi-veff skips only records cyvcf2 calls indels; it takes symbolic ALTs (``<DEL>``), ``*`` and
    ``N`` for SNVs and writes them into the window (or fails with ``KeyError: '>'`` in a '-' strand
    window). Returns counts ``{"records", "written", "not_snv", "non_acgt"}`` (``not_snv``: indels and
    MNPs, breakends, which kipoi-veff skips anyway; ``non_acgt``: one-base REF/ALTs other than
    A/C/G/T (``N``, ``*``, ``.``) and symbolic ALTs). Raises ValueError if ``output`` does not end in ``.vcf.gz`` or the VCF is not
    sorted (tabix needs it).
    """
    import pysam

    output = Path(output)
    if not output.name.endswith(".vcf.gz"):
        raise UsageError(f"{output}: the SNV VCF for kipoi-veff is bgzipped and indexed; name it *.vcf.gz")
    counts = {"records": 0, "written": 0, "not_snv": 0, "non_acgt": 0}
    plain = output.with_name(output.name[:-3] + ".tmp")
    with open_text(Path(vcf_file)) as fh, open(plain, "w") as out:
        for line in fh:
            if line.startswith("#"):
                out.write(line)
                continue
            f = line.split("\t", 5)
            counts["records"] += 1
            alleles = [f[3]] + f[4].split(",")
            if all(a in _ACGT for a in alleles):
                out.write(line)
                counts["written"] += 1
            elif len(f[3]) != 1 or any(len(a) != 1 and not a.startswith("<") for a in alleles[1:]):
                counts["not_snv"] += 1
            else:
                counts["non_acgt"] += 1
    try:
        pysam.tabix_compress(str(plain), str(output), force=True)
        pysam.tabix_index(str(output), preset="vcf", force=True)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot tabix-index {output} ({exc}): sort {vcf_file} by contig and position first") from exc
    finally:
        plain.unlink()
    return counts


# -- reading kipoi-veff's output VCF ---------------------------------------------------------
SCORES = ("ref", "alt", "diff", "logit", "logit_ref", "logit_alt", "deepsea_effect")


def read_scores(vcf_path, regions_file=None, model: str | None = None):
    """kipoi-veff's output VCF as a table: one row per scored (record, window).

    Columns: ``chrom``, ``pos``, ``id``, ``ref``, ``alt`` (the first ALT: the one kipoi-veff
    scores), ``rid`` (the ``KV:...:rID`` tag), ``<score>:<label>`` for every score tag and
    output label (e.g. ``diff:logodds_narrow``), and with ``regions_file`` (the BED given to the
    dataloader) ``feature_id`` / ``gene_id`` / ``strand`` of region number ``rid``. With ``model``
    the columns that equal a ``seqzoo score`` column are added under that name too (e.g.
    ``delta_logodds_narrow``), see :data:`SPECS`.
    """
    import pandas as pd

    tags: dict[str, tuple[str, list[str]]] = {}  # INFO ID -> (score, labels)
    rid_tag = None
    rows = []
    with open_text(Path(vcf_path)) as fh:
        for line in fh:
            if line.startswith("##INFO=<ID=KV:"):
                tag = line[len("##INFO=<ID="):].split(",", 1)[0]
                if tag.endswith(":rID"):
                    rid_tag = tag
                    continue
                labels = line.rsplit("Prediction from model outputs: ", 1)[1].split('"', 1)[0].split("|")
                tags[tag] = (tag.rsplit(":", 1)[1].lower(), labels)
                continue
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            info = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in f[7].split(";"))
            row = {"chrom": f[0], "pos": int(f[1]), "id": f[2], "ref": f[3], "alt": f[4].split(",")[0],
                   "rid": info.get(rid_tag, "") if rid_tag else ""}
            for tag, (score, labels) in tags.items():
                values = info[tag].split("|")
                row.update({f"{score}:{label}": float(v) for label, v in zip(labels, values)})
            rows.append(row)
    table = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt", "rid"]
                         + [f"{s}:{lab}" for s, labels in tags.values() for lab in labels])
    if regions_file is not None:
        regions = list(read_regions(regions_file))
        idx = table["rid"].astype(int)
        for col in ("feature_id", "gene_id", "strand"):
            table[col] = [getattr(regions[i], col) for i in idx]
    if model is not None:
        for (score, label), col in get_spec(model).columns.items():
            if f"{score}:{label}" in table.columns:
                table[col] = table[f"{score}:{label}"]
    return table
