"""APARENT2 (Linder et al. 2022): 205 nt around a transcript's 3' end -> cleavage distribution and
isoform (polyadenylation site) usage.

Torch module and converter: :mod:`seqzoo.nets.aparent2`; windows: :mod:`seqzoo.windows.pas`.
"""
from __future__ import annotations

import numpy as np

from ..spec import ModelSpec
from ..weights import WeightsFile
from ..windows.pas import NO_FEATURE

#: cut_prob positions: 205 window positions + 1 "no cleavage inside the window" bin (index 205)
N_CUT_BINS = 206
NARROW = (77, 127)  # the authors' isoform: cleavage at window positions 77..126


def logodds(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p / (1.0 - p))


def effects(ref: dict, alt: dict) -> dict:
    """The APARENT2 authors' variant scores (examples/aparent2_score_variants.ipynb), in float64:

    * ``delta_logodds_narrow``: logit(sum alt cut_prob[77:127]) - logit(same for ref)
      (isoform = cleavage at positions 77..126);
    * ``delta_logodds``: the same over positions 0..204 (all cleavage inside the window);
    * ``delta_cut_prob`` (N, 206): alt - ref cleavage probability per bin (Parquet/HDF5);
      ``max_abs_delta_cut_prob`` and ``argmax_abs_delta_cut_prob``: its largest change over all 206
      bins and that bin (0..204 a window position, 205 the no-cleavage bin — where most variants
      change most, so read it with the next three);
    * ``max_abs_delta_cleavage`` and ``max_abs_delta_cleavage_position``: the largest change over the
      205 window positions only, and that position (0..204, model orientation; the annotated 3' end
      is at 100, the PAS at 70);
    * ``delta_no_cleavage``: alt - ref probability of no cleavage inside the window (bin 205).
    """
    r = np.asarray(ref["cut_prob"], np.float64)
    a = np.asarray(alt["cut_prob"], np.float64)
    delta = a - r
    rows = np.arange(len(delta))
    pos = np.abs(delta).argmax(axis=1)
    site = np.abs(delta[:, :N_CUT_BINS - 1]).argmax(axis=1)
    lo, hi = NARROW
    return {
        "delta_logodds_narrow": logodds(a[:, lo:hi].sum(1)) - logodds(r[:, lo:hi].sum(1)),
        "delta_logodds": logodds(a[:, 0:205].sum(1)) - logodds(r[:, 0:205].sum(1)),
        "max_abs_delta_cut_prob": np.abs(delta)[rows, pos],
        "argmax_abs_delta_cut_prob": pos,
        "max_abs_delta_cleavage": np.abs(delta)[rows, site],
        "max_abs_delta_cleavage_position": site,
        "delta_no_cleavage": delta[:, N_CUT_BINS - 1],
        "delta_cut_prob": delta.astype(np.float32),
    }


def build(path):
    from ..nets.aparent2 import from_keras_h5
    return from_keras_h5(path)


def window_rule(genome, gtf_path, names):
    from ..windows.pas import pas_rule
    return pas_rule(genome, gtf_path, names)


FILENAME = "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5"
SPEC = ModelSpec(
    name="APARENT2",
    weights=WeightsFile(
        FILENAME,
        "https://github.com/johli/aparent-resnet/raw/a745736a4d9fbe411d1869200f2596a02f875532/saved_models/"
        + FILENAME,
        "433351a295a49346f4e8632e23e08586"),
    build=build,
    window_rule=window_rule,
    outputs=("iso_prob",),
    effects=effects,
    effect_names=("delta_logodds_narrow", "delta_logodds", "max_abs_delta_cut_prob", "argmax_abs_delta_cut_prob",
                  "max_abs_delta_cleavage", "max_abs_delta_cleavage_position", "delta_no_cleavage"),
    description="205 nt around the cleavage site (PAS at 70) -> cleavage distribution and isoform usage "
                "(APARENT2, Linder et al. 2022)",
    vector_outputs=("cut_prob",),
    vector_effect_names=("delta_cut_prob",),
    no_feature=NO_FEATURE,
    ref_cache_size=16_384,  # ~1.7 KB of per-position predictions per window
    vector_shapes={"cut_prob": (N_CUT_BINS,), "delta_cut_prob": (N_CUT_BINS,)},
    dtypes={"argmax_abs_delta_cut_prob": "int64", "max_abs_delta_cleavage_position": "int64",
            "delta_cut_prob": "float32"},
    effect_docs={
        "delta_logodds_narrow": "logit(sum alt cut_prob[77:127]) - logit(sum ref cut_prob[77:127]) (natural log "
                                "odds of cleavage at window positions 77..126, the authors' isoform)",
        "delta_logodds": "logit(sum alt cut_prob[0:205]) - logit(sum ref cut_prob[0:205]) (log odds of cleavage "
                         "anywhere in the window)",
        "max_abs_delta_cut_prob": "max over the 206 bins of |alt cut_prob - ref cut_prob| (probability)",
        "argmax_abs_delta_cut_prob": "the bin of that largest change: window position 0..204, or 205 = the "
                                     "'no cleavage in the window' bin (where most variants change most)",
        "max_abs_delta_cleavage": "max over the 205 window positions (cleavage sites only) of |alt - ref cut_prob|",
        "max_abs_delta_cleavage_position": "the window position 0..204 of that change (model orientation; 3' end "
                                           "at 100, PAS at 70)",
        "delta_no_cleavage": "alt - ref probability of no cleavage inside the window (bin 205)",
        "delta_cut_prob": "alt cut_prob - ref cut_prob per bin (206; Parquet/HDF5)",
    },
    citation="Linder J, Koplik SE, Kundaje A, Seelig G (2022) Deciphering the impact of genetic variation on human "
             "polyadenylation using APARENT2. Genome Biology 23: 232. https://doi.org/10.1186/s13059-022-02799-4",
)
SPECS = (SPEC,)
