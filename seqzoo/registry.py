"""The models seqzoo knows: weights file, torch builder, window rule and variant-effect scores.

The official URL and md5 here must equal ``models/<name>/model.yaml`` (a test checks it).
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


def get(name: str) -> ModelSpec:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; seqzoo has: {', '.join(sorted(MODELS))}")
    return MODELS[name]
