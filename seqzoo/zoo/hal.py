"""HAL (Rosenberg et al. 2015): 160 nt around a 5' splice donor -> hexamer additive 5' splice-site
usage score.

Model (a table) and reader: :mod:`seqzoo.nets.hal`; windows: :mod:`seqzoo.windows.donor`.
"""
from __future__ import annotations

from ..spec import ModelSpec
from ..weights import WeightsFile
from ..windows.donor import NO_FEATURE, NOTE_COLUMN


def effects(ref: dict, alt: dict) -> dict:
    """``delta`` = alt - ref score and ``sigmoid_delta`` = 1 / (1 + exp(-delta)) (the Kipoi HAL
    model's output for a ref/alt pair), float64."""
    from ..nets.hal import hal_effects
    return hal_effects(ref, alt)


def build(path):
    from ..nets.hal import from_npz
    return from_npz(path)


def window_rule(genome, gtf_path, names):
    from ..windows.donor import donor_rule
    return donor_rule(genome, gtf_path, names)


SPEC = ModelSpec(
    name="HAL",
    weights=WeightsFile(
        "HAL_mer_scores.npz",
        "https://zenodo.org/record/1466088/files/HAL_mer_scores.npz?download=1",
        "4db740f6b72345db5303c106ed6aad61"),
    build=build,
    window_rule=window_rule,
    outputs=("score",),
    effects=effects,
    effect_names=("delta", "sigmoid_delta"),
    description="160 nt around a 5' splice donor (80 exonic + 80 intronic) -> hexamer additive 5' splice-site "
                "usage score (HAL, Rosenberg et al. 2015)",
    note_columns=(NOTE_COLUMN,),
    no_feature=NO_FEATURE,
    dtypes={"score": "float64"},
    effect_docs={"delta": "alt score - ref score (the table's additive logit scale)",
                 "sigmoid_delta": "1 / (1 + exp(-delta)) (the Kipoi HAL model's output for a ref/alt pair)"},
    citation="Rosenberg AB, Patwardhan RP, Shendure J, Seelig G (2015) Learning the sequence determinants of "
             "alternative splicing from millions of random sequences. Cell 163(3): 698-711. "
             "https://doi.org/10.1016/j.cell.2015.09.054",
)
SPECS = (SPEC,)
