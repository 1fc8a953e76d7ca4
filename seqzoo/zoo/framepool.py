"""Framepool (Karollus, Avsec & Gagneur 2021): a transcript's 5'UTR -> mean ribosome load.

Torch module and converter: :mod:`seqzoo.nets.framepool`; windows: :mod:`seqzoo.windows.utr5`.
"""
from __future__ import annotations

import numpy as np

from ..spec import ModelSpec
from ..weights import WeightsFile
from ..windows.utr5 import NO_FEATURE


def log2_ratio(alt: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """log2(alt / ref) computed in float64 from the float32 predictions (NaN where undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(np.asarray(alt, dtype=np.float64) / np.asarray(ref, dtype=np.float64))


def effects(ref: dict, alt: dict) -> dict:
    """The Kipoi Framepool scores: log2 MRL fold change alt/ref, with 0, 1 and 2 N rows appended
    at the 3' end of both sequences (``mrl_fold_change``, ``shift_1``, ``shift_2``)."""
    return {
        "mrl_fold_change": log2_ratio(alt["mrl"], ref["mrl"]),
        "shift_1": log2_ratio(alt["mrl_shift_1"], ref["mrl_shift_1"]),
        "shift_2": log2_ratio(alt["mrl_shift_2"], ref["mrl_shift_2"]),
    }


def build(path):
    from ..nets.framepool import from_keras_h5
    return from_keras_h5(path)


def window_rule(genome, gtf_path, names):
    from ..windows.utr5 import Utr5Windows
    return Utr5Windows(genome, gtf_path, names)


SPEC = ModelSpec(
    name="Framepool",
    weights=WeightsFile(
        "Framepool_combined_residual.h5",
        "https://zenodo.org/record/3584238/files/Framepool_combined_residual.h5?download=1",
        "d1e9656725e730d509a09d5371e51bd2"),
    build=build,
    window_rule=window_rule,
    outputs=("mrl", "mrl_unscaled"),
    effects=effects,
    effect_names=("mrl_fold_change", "shift_1", "shift_2"),
    description="5'UTR -> mean ribosome load (Karollus et al. 2021)",
    no_feature=NO_FEATURE,
    consequence="5_prime_UTR_variant",  # a Framepool window is a transcript's 5'UTR exons
    effect_docs={
        "mrl_fold_change": "log2(MRL alt / MRL ref) (log2 fold change of the predicted mean ribosome load)",
        "shift_1": "log2 fold change alt/ref of the MRL with 1 N appended 3' (the 5'UTR's frame shifted by 1)",
        "shift_2": "log2 fold change alt/ref of the MRL with 2 N appended 3' (the 5'UTR's frame shifted by 2)",
    },
    citation="Karollus A, Avsec Ž, Gagneur J (2021) Predicting mean ribosome load for 5'UTR of any length using "
             "deep learning. PLoS Comput Biol 17(5): e1008982. https://doi.org/10.1371/journal.pcbi.1008982",
)
SPECS = (SPEC,)
