"""The models seqzoo knows: weights file, torch builder, window rule and variant-effect scores.

The official URL and md5 here must equal ``models/<name>/model.yaml`` (Xpresso: the rows of
``models/Xpresso/models.tsv``, rendered through ``model-template.yaml``); tests check both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .weights import WeightsFile


@dataclass(frozen=True)
class ModelSpec:
    """Everything model-specific that the shared machinery needs.

    * ``build(path)`` -> torch model (a :class:`seqzoo.nets.base.SequenceModel`) from a weights file;
    * ``window_rule(genome, gtf_path, names)`` -> a rule with ``windows(allele, chrom)``;
    * ``outputs``: prediction keys reported for ref and alt in tables;
    * ``effects(ref, alt)``: dict of named effect arrays (keys ``effect_names``) from two
      prediction dicts.
    """

    name: str
    weights: WeightsFile
    build: Callable
    window_rule: Callable
    outputs: tuple[str, ...]
    effects: Callable[[dict, dict], dict]
    effect_names: tuple[str, ...]
    description: str = ""
    #: extra per-row columns the window rule fills (``WindowPair.notes``)
    note_columns: tuple[str, ...] = ()
    #: window-rule options the CLI and the Kipoi dataloader accept (e.g. ``halflife_file``)
    rule_options: tuple[str, ...] = ()
    #: per-position outputs reported for ref and alt in Parquet only (TSV holds scalars)
    vector_outputs: tuple[str, ...] = ()
    #: per-position effects (Parquet only), also returned by ``effects``
    vector_effect_names: tuple[str, ...] = ()
    #: whether the window rule reads a GTF (variant-centred windows do not)
    needs_gtf: bool = True
    #: ``region_windows(genome, bed_path, names)`` -> BedWindow / BedSkip events for ``seqzoo predict``
    #: (None: the model has no region mode)
    region_windows: Callable | None = None
    #: reference windows whose predictions PairScorer keeps (LRU); small where a prediction is big
    #: and reference windows are rarely shared (variant-centred windows)
    ref_cache_size: int = 100_000


def _log2_ratio(alt: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """log2(alt / ref) computed in float64 from the float32 predictions (NaN where undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(np.asarray(alt, dtype=np.float64) / np.asarray(ref, dtype=np.float64))


def framepool_effects(ref: dict, alt: dict) -> dict:
    """The Kipoi Framepool scores: log2 MRL fold change alt/ref, with 0, 1 and 2 N rows appended
    at the 3' end of both sequences (``mrl_fold_change``, ``shift_1``, ``shift_2``)."""
    return {
        "mrl_fold_change": _log2_ratio(alt["mrl"], ref["mrl"]),
        "shift_1": _log2_ratio(alt["mrl_shift_1"], ref["mrl_shift_1"]),
        "shift_2": _log2_ratio(alt["mrl_shift_2"], ref["mrl_shift_2"]),
    }


def _build_framepool(path):
    from .nets.framepool import from_keras_h5
    return from_keras_h5(path)


def _utr5_rule(genome, gtf_path, names):
    from .windows.utr5 import Utr5Windows
    return Utr5Windows(genome, gtf_path, names)


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    MODELS[spec.name] = spec
    return spec


register(ModelSpec(
    name="Framepool",
    weights=WeightsFile(
        "Framepool_combined_residual.h5",
        "https://zenodo.org/record/3584238/files/Framepool_combined_residual.h5?download=1",
        "d1e9656725e730d509a09d5371e51bd2"),
    build=_build_framepool,
    window_rule=_utr5_rule,
    outputs=("mrl", "mrl_unscaled"),
    effects=framepool_effects,
    effect_names=("mrl_fold_change", "shift_1", "shift_2"),
    description="5'UTR -> mean ribosome load (Karollus et al. 2021)",
))


def _logodds(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p / (1.0 - p))


def aparent2_effects(ref: dict, alt: dict) -> dict:
    """The APARENT2 authors' variant scores (examples/aparent2_score_variants.ipynb), in float64:

    * ``delta_logodds_narrow``: logit(sum alt cut_prob[77:127]) - logit(same for ref)
      (isoform = cleavage at positions 77..126);
    * ``delta_logodds``: the same over positions 0..204 (all cleavage inside the window);
    * ``delta_cut_prob`` (N, 206): alt - ref cleavage probability per position (Parquet);
      ``max_abs_delta_cut_prob`` and ``argmax_abs_delta_cut_prob``: its largest change and where.
    """
    r = np.asarray(ref["cut_prob"], np.float64)
    a = np.asarray(alt["cut_prob"], np.float64)
    delta = a - r
    pos = np.abs(delta).argmax(axis=1)
    return {
        "delta_logodds_narrow": _logodds(a[:, 77:127].sum(1)) - _logodds(r[:, 77:127].sum(1)),
        "delta_logodds": _logodds(a[:, 0:205].sum(1)) - _logodds(r[:, 0:205].sum(1)),
        "max_abs_delta_cut_prob": np.abs(delta)[np.arange(len(pos)), pos],
        "argmax_abs_delta_cut_prob": pos,
        "delta_cut_prob": delta.astype(np.float32),
    }


def _build_aparent2(path):
    from .nets.aparent2 import from_keras_h5
    return from_keras_h5(path)


def _pas_rule(genome, gtf_path, names):
    from .windows.pas import pas_rule
    return pas_rule(genome, gtf_path, names)


_APARENT2_FILE = "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5"
register(ModelSpec(
    name="APARENT2",
    weights=WeightsFile(
        _APARENT2_FILE,
        "https://github.com/johli/aparent-resnet/raw/a745736a4d9fbe411d1869200f2596a02f875532/saved_models/"
        + _APARENT2_FILE,
        "433351a295a49346f4e8632e23e08586"),
    build=_build_aparent2,
    window_rule=_pas_rule,
    outputs=("iso_prob",),
    effects=aparent2_effects,
    effect_names=("delta_logodds_narrow", "delta_logodds", "max_abs_delta_cut_prob", "argmax_abs_delta_cut_prob"),
    description="205 nt around the cleavage site (PAS at 70) -> cleavage distribution and isoform usage "
                "(APARENT2, Linder et al. 2022)",
    vector_outputs=("cut_prob",),
    vector_effect_names=("delta_cut_prob",),
))


def xpresso_effects(ref: dict, alt: dict) -> dict:
    """``delta_expression`` = alt - ref predicted expression (log10 scale of the model's output)."""
    return {"delta_expression": np.asarray(alt["expression"], np.float64) - np.asarray(ref["expression"], np.float64)}


def _build_xpresso(path):
    from .nets.xpresso import from_keras_h5
    return from_keras_h5(path)


def _tss_rule(genome, gtf_path, names, halflife_file=None):
    from .windows.tss import tss_rule
    return tss_rule(genome, gtf_path, names, halflife_file=halflife_file)


_XPRESSO_URL = "https://zenodo.org/record/4075690/files/"
#: Kipoi's names for the five published Xpresso weight sets -> (file, md5)
XPRESSO_WEIGHT_SETS = {
    "human_median": ("humanMedian_trainepoch.11-0.426.h5", "9d00a3bc614da81655328b6e278569e2"),
    "mouse_median": ("mouseMedian_trainepoch.05-0.278.h5", "938f5979c90f726b06f4b4e5b1919c16"),
    "human_K562": ("K562_trainepoch.11-0.4917.h5", "142990996e762e9a5c6e529a0f294ba6"),
    "human_GM12878": ("GM12878_trainepoch.06-0.5062.h5", "a4ed48f207408ff99358d9b24cd0b632"),
    "mouse_ESCs": ("mESC_trainepoch.10-0.3867.h5", "07f21238bff057ae9865fd9bb89565a8"),
}
for _set, (_file, _md5) in XPRESSO_WEIGHT_SETS.items():
    register(ModelSpec(
        name=f"Xpresso/{_set}",
        weights=WeightsFile(_file, _XPRESSO_URL + _file, _md5),
        build=_build_xpresso,
        window_rule=_tss_rule,
        outputs=("expression",),
        effects=xpresso_effects,
        effect_names=("delta_expression",),
        description=f"promoter (10.5 kb, TSS at 7000) + 6 half-life features -> mRNA level, {_set} "
                    f"(Agarwal & Shendure 2020)",
        note_columns=("halflife_source",),
        rule_options=("halflife_file",),
    ))


def hal_effects(ref: dict, alt: dict) -> dict:
    """HAL: ``delta`` = alt - ref score and ``sigmoid_delta`` = 1 / (1 + exp(-delta)) (the Kipoi HAL
    model's output for a ref/alt pair), float64."""
    from .nets.hal import hal_effects as _effects
    return _effects(ref, alt)


def _build_hal(path):
    from .nets.hal import from_npz
    return from_npz(path)


def _donor_rule(genome, gtf_path, names):
    from .windows.donor import donor_rule
    return donor_rule(genome, gtf_path, names)


register(ModelSpec(
    name="HAL",
    weights=WeightsFile(
        "HAL_mer_scores.npz",
        "https://zenodo.org/record/1466088/files/HAL_mer_scores.npz?download=1",
        "4db740f6b72345db5303c106ed6aad61"),
    build=_build_hal,
    window_rule=_donor_rule,
    outputs=("score",),
    effects=hal_effects,
    effect_names=("delta", "sigmoid_delta"),
    description="160 nt around a 5' splice donor (80 exonic + 80 intronic) -> hexamer additive 5' splice-site "
                "usage score (HAL, Rosenberg et al. 2015)",
    note_columns=("donor_ids",),
))


def _build_bpnet(path):
    from .nets.bpnet import from_keras_h5
    return from_keras_h5(path)


def _centered_rule(genome, gtf_path, names):
    from .windows.centered import centered_rule
    return centered_rule(genome, gtf_path, names)


def _bed_windows(genome, bed_path, names):
    from .windows.centered import iter_bed_windows
    return iter_bed_windows(genome, bed_path, names)


def bpnet_effects(ref: dict, alt: dict) -> dict:
    """Per task: ``<task>/delta_log_counts``, ``<task>/profile_jsd``,
    ``<task>/max_abs_delta_profile_counts`` (definitions: :func:`seqzoo.nets.bpnet.effects`)."""
    from .nets.bpnet import effects
    return effects(ref, alt)


BPNET_TASKS = ("Oct4", "Sox2", "Nanog", "Klf4")
register(ModelSpec(
    name="BPNet-OSKN",
    weights=WeightsFile(
        "bpnet.model.h5",
        "https://zenodo.org/record/4294904/files/bpnet.model.h5?download=1",
        "bbe883baef261877bfad07d05feb627d"),
    build=_build_bpnet,
    window_rule=_centered_rule,
    outputs=tuple(f"{t}/log_total_counts" for t in BPNET_TASKS),
    effects=bpnet_effects,
    effect_names=tuple(f"{t}/{s}" for t in BPNET_TASKS
                       for s in ("delta_log_counts", "profile_jsd", "max_abs_delta_profile_counts")),
    description="1000 bp centred on the variant -> ChIP-nexus profiles and counts of Oct4, Sox2, Nanog, Klf4 "
                "(BPNet, Avsec et al. 2021)",
    vector_outputs=tuple(f"{t}/{k}" for t in BPNET_TASKS for k in ("counts", "profile_counts")),
    needs_gtf=False,
    region_windows=_bed_windows,
    ref_cache_size=1024,  # a window is shared only by alleles at one POS; each prediction is ~64 KB
))


def get(name: str) -> ModelSpec:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; seqzoo has: {', '.join(sorted(MODELS))}")
    return MODELS[name]
