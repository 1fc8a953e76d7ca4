"""What a model is to seqzoo's shared machinery: one :class:`ModelSpec` per model.

A model's module (``seqzoo/zoo/<model>.py`` for the built-in ones, any importable module for a
plug-in) builds its spec(s) and exports them as ``SPECS``; :mod:`seqzoo.registry` collects them.
Everything the command line, the Python API, the Kipoi classes, the Snakemake workflow and the
output writers need to know about a model comes from its spec: how to build the torch model from
its official weights file, its window rule, what it outputs (names, per-position shapes, dtypes),
its variant-effect scores with their formulas, the skip reason for an allele outside all of its
features, and its extra options (e.g. Xpresso's half-life file) with the metadata the command line
and the workflow config are generated from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from .weights import WeightsFile

#: option kinds: what the command line parses, the workflow config validates and the run checks
OPTION_KINDS = ("path", "str", "int", "float")


@dataclass(frozen=True)
class Option:
    """An extra input of a model's window rule, e.g. Xpresso's ``halflife_file``.

    ``name`` is the Python keyword (``score_vcf(..., halflife_file=...)``), the workflow config key
    and, with ``-`` for ``_``, the command-line flag (``--halflife-file``). ``kind`` ``path`` is an
    input file: it must exist, is made absolute (Kipoi changes directory), is part of the resume
    fingerprint and can never be an output path. ``default`` None means "not given".
    """

    name: str
    help: str
    kind: str = "path"
    default: object = None

    def __post_init__(self):
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"option {self.name}: kind must be one of {OPTION_KINDS}, not {self.kind!r}")
        if not self.name.isidentifier():
            raise ValueError(f"option name {self.name!r} must be a Python identifier")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def python_type(self):
        return {"path": str, "str": str, "int": int, "float": float}[self.kind]

    def as_dict(self) -> dict:
        return {"name": self.name, "flag": self.flag, "kind": self.kind, "default": self.default, "help": self.help}


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """Everything model-specific that the shared machinery needs.

    * ``build(path)`` -> torch model (a :class:`seqzoo.nets.base.SequenceModel`) from the weights file
      (the converter: Keras h5 or other format -> torch);
    * ``window_rule(genome, gtf_path, names, **rule options)`` -> a rule with
      ``windows(allele, chrom) -> (list[WindowPair], list[FeatureSkip])`` (see :mod:`seqzoo.windows`);
    * ``outputs``: scalar prediction keys reported as ``ref_<key>`` / ``alt_<key>``;
      ``vector_outputs``: per-position ones (Parquet/HDF5 only), with their shapes in ``vector_shapes``;
    * ``effects(ref, alt)``: dict of named effect arrays (``effect_names`` scalar,
      ``vector_effect_names`` per position) from two prediction dicts; ``effect_docs``: formula and
      unit of each (model cards, VCF header, ``seqzoo models --long``);
    * ``no_feature``: (reason, detail) of an allele outside all of the model's features — with
      several models such an allele is silent for this model (it is not a failure);
    * ``options``: the window rule's extra inputs (:class:`Option`), ``rule_options`` their names.
    """

    name: str
    weights: WeightsFile
    build: Callable
    window_rule: Callable
    outputs: tuple[str, ...]
    effects: Callable[[dict, dict], dict]
    effect_names: tuple[str, ...]
    description: str = ""
    #: extra per-row text columns the window rule fills (``WindowPair.notes``)
    note_columns: tuple[str, ...] = ()
    #: names of the window-rule options (derived from ``options`` when not given)
    rule_options: tuple[str, ...] = ()
    #: per-position outputs reported for ref and alt in Parquet/HDF5 only (TSV holds scalars)
    vector_outputs: tuple[str, ...] = ()
    #: per-position effects (Parquet/HDF5 only), also returned by ``effects``
    vector_effect_names: tuple[str, ...] = ()
    #: whether the window rule reads a GTF (variant-centred windows do not)
    needs_gtf: bool = True
    #: ``region_windows(genome, bed_path, names)`` -> BedWindow / BedSkip events for ``seqzoo predict``
    region_windows: Callable | None = None
    #: reference predictions PairScorer keeps (LRU); small where a prediction is big and
    #: reference windows are rarely shared (variant-centred windows)
    ref_cache_size: int = 100_000
    #: (reason token, detail) for an allele outside all of the model's features
    no_feature: tuple[str, str] = ("no_window", "the variant lies in no window of this model")
    options: tuple[Option, ...] = ()
    #: shape of one row of each per-position output and effect, e.g. {"cut_prob": (206,)}
    vector_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    #: column dtypes that differ from the defaults (outputs float32, effects float64), e.g. an index
    dtypes: Mapping[str, str] = field(default_factory=dict)
    #: formula and unit of each effect score
    effect_docs: Mapping[str, str] = field(default_factory=dict)
    #: the paper (citation with DOI)
    citation: str = ""
    #: Sequence Ontology term for a variant in one of the model's windows (the annotated VCF's
    #: VEP-style Consequence field)
    consequence: str = "sequence_variant"

    def __post_init__(self):
        named = tuple(o.name for o in self.options)
        if not self.rule_options:
            object.__setattr__(self, "rule_options", named)
        elif set(self.rule_options) != set(named):  # names without metadata: plain input files
            known = {o.name: o for o in self.options}
            object.__setattr__(self, "options", tuple(known.get(n) or Option(n, f"{self.name}: {n}")
                                                      for n in self.rule_options))
        missing = [k for k in self.vector_outputs + self.vector_effect_names if k not in self.vector_shapes]
        if missing and self.vector_shapes:
            raise ValueError(f"model {self.name}: vector_shapes lacks {missing}")

    # -- derived ------------------------------------------------------------------------------
    @property
    def no_feature_reason(self) -> str:
        return self.no_feature[0]

    def output_dtype(self, key: str) -> str:
        """numpy dtype name of a prediction or effect column (ref/alt prefixes stripped)."""
        if key in self.dtypes:
            return self.dtypes[key]
        if key in self.effect_names or key in self.vector_effect_names:
            return "float64"
        return "float32"

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def summary(self) -> dict:
        """A JSON-able description (``seqzoo models --json``: what the workflow reads)."""
        return {"name": self.name, "description": self.description, "citation": self.citation,
                "weights": {"file": self.weights.filename, "url": self.weights.url, "md5": self.weights.md5},
                "needs_gtf": self.needs_gtf, "outputs": list(self.outputs), "vector_outputs": list(self.vector_outputs),
                "effects": {k: self.effect_docs.get(k, "") for k in self.effect_names + self.vector_effect_names},
                "no_feature_reason": self.no_feature_reason, "options": [o.as_dict() for o in self.options],
                "note_columns": list(self.note_columns), "region_mode": self.region_windows is not None}
