"""A toy seqzoo plug-in that lives outside the package: base counts of an 11-nt window centred on
the variant, so that every value a run writes can be checked by hand.

It is found through its entry point (``seqzoo_toy-0.1.dist-info/entry_points.txt``, group
``seqzoo.models``) when this folder is on ``sys.path``, or registered with
``seqzoo.register_model(seqzoo_toy.SPEC)``. It uses only seqzoo's public building blocks: a
:class:`seqzoo.spec.ModelSpec`, :class:`seqzoo.nets.base.SequenceModel` and the variant-centred
window rule.
"""
from __future__ import annotations

import json

import numpy as np

from seqzoo.nets.base import SequenceModel
from seqzoo.spec import ModelSpec, Option
from seqzoo.weights import WeightsFile

WIDTH, CENTER = 11, 5
BASES = "ACGT"


class BaseCounts(SequenceModel):
    """Counts of A, C, G, T (and N) in each sequence, plus ``pseudocount`` (from the 'weights' file)."""

    name = "ToyBaseCounts"

    def __init__(self, pseudocount: float = 0.0):
        super().__init__()
        self.pseudocount = float(pseudocount)

    def predict_batch(self, seqs, **extra):
        counts = {f"count_{b}": np.array([s.count(b) for s in seqs], dtype=np.float32) + self.pseudocount
                  for b in BASES + "N"}
        counts["profile"] = np.array([[float(c == b) for c in s for b in BASES] for s in seqs],
                                     dtype=np.float32).reshape(len(seqs), WIDTH, 4)
        return counts


def build(path) -> BaseCounts:
    with open(path) as fh:
        return BaseCounts(json.load(fh)["pseudocount"])


def window_rule(genome, gtf_path, names, flank_note=None):
    from seqzoo.windows.centered import CenteredWindows
    return CenteredWindows(genome, gtf_path, names, width=WIDTH, center=CENTER)


def effects(ref: dict, alt: dict) -> dict:
    gc_ref = np.asarray(ref["count_G"], np.float64) + ref["count_C"]
    gc_alt = np.asarray(alt["count_G"], np.float64) + alt["count_C"]
    return {"delta_gc": gc_alt - gc_ref,
            "delta_profile": np.asarray(alt["profile"], np.float32) - ref["profile"]}


SPEC = ModelSpec(
    name="ToyBaseCounts",
    weights=WeightsFile("toy_base_counts.json", "https://example.org/toy_base_counts.json",
                        "00000000000000000000000000000000"),
    build=build,
    window_rule=window_rule,
    outputs=tuple(f"count_{b}" for b in BASES),
    effects=effects,
    effect_names=("delta_gc",),
    vector_outputs=("profile",),
    vector_effect_names=("delta_profile",),
    vector_shapes={"profile": (WIDTH, 4), "delta_profile": (WIDTH, 4)},
    dtypes={"delta_profile": "float32"},
    description="11 nt centred on the variant -> counts of A, C, G, T (a toy plug-in for tests)",
    needs_gtf=False,
    options=(Option("flank_note", "toy: any text (unused)", kind="str"),),
    effect_docs={"delta_gc": "alt G+C count - ref G+C count", "delta_profile": "alt - ref one-hot (11 x 4)"},
    citation="none (a test fixture)",
)
SPECS = (SPEC,)
