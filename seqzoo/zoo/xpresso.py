"""Xpresso (Agarwal & Shendure 2020): 10.5 kb around a gene's TSS + six mRNA half-life features ->
mRNA level; five published weight sets (two species, three cell types), one spec each.

Torch module and converter: :mod:`seqzoo.nets.xpresso`; windows: :mod:`seqzoo.windows.tss`.
"""
from __future__ import annotations

import numpy as np

from ..spec import ModelSpec, Option
from ..weights import WeightsFile
from ..windows.tss import NO_FEATURE


def effects(ref: dict, alt: dict) -> dict:
    """``delta_expression`` = alt - ref predicted expression (log10 scale of the model's output)."""
    return {"delta_expression": np.asarray(alt["expression"], np.float64) - np.asarray(ref["expression"], np.float64)}


def build(path):
    from ..nets.xpresso import from_keras_h5
    return from_keras_h5(path)


def window_rule(genome, gtf_path, names, halflife_file=None):
    from ..windows.tss import tss_rule
    return tss_rule(genome, gtf_path, names, halflife_file=halflife_file)


URL = "https://zenodo.org/record/4075690/files/"
#: Kipoi's names for the five published Xpresso weight sets -> (file, md5)
WEIGHT_SETS = {
    "human_median": ("humanMedian_trainepoch.11-0.426.h5", "9d00a3bc614da81655328b6e278569e2"),
    "mouse_median": ("mouseMedian_trainepoch.05-0.278.h5", "938f5979c90f726b06f4b4e5b1919c16"),
    "human_K562": ("K562_trainepoch.11-0.4917.h5", "142990996e762e9a5c6e529a0f294ba6"),
    "human_GM12878": ("GM12878_trainepoch.06-0.5062.h5", "a4ed48f207408ff99358d9b24cd0b632"),
    "mouse_ESCs": ("mESC_trainepoch.10-0.3867.h5", "07f21238bff057ae9865fd9bb89565a8"),
}
HALFLIFE_FILE = Option("halflife_file", "Xpresso: TSV of gene_id + the six mRNA half-life features, in the order of "
                                        "Xpresso's training data (default: zeros; rows say which in halflife_source)")

SPECS = tuple(ModelSpec(
    name=f"Xpresso/{weight_set}",
    weights=WeightsFile(filename, URL + filename, md5),
    build=build,
    window_rule=window_rule,
    outputs=("expression",),
    effects=effects,
    effect_names=("delta_expression",),
    description=f"promoter (10.5 kb, TSS at 7000) + 6 half-life features -> mRNA level, {weight_set} "
                f"(Agarwal & Shendure 2020)",
    note_columns=("halflife_source",),
    options=(HALFLIFE_FILE,),
    no_feature=NO_FEATURE,
    effect_docs={"delta_expression": "alt - ref predicted expression (the model's log10 mRNA-level scale)"},
    citation="Agarwal V, Shendure J (2020) Predicting mRNA abundance directly from genomic sequence using deep "
             "convolutional neural networks. Cell Reports 31(7): 107663. "
             "https://doi.org/10.1016/j.celrep.2020.107663",
) for weight_set, (filename, md5) in WEIGHT_SETS.items())
