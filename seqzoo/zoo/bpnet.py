"""BPNet-OSKN (Avsec et al. 2021): 1000 bp centred on the variant -> ChIP-nexus profiles and counts
of Oct4, Sox2, Nanog and Klf4 in mouse ESCs.

Torch module and converter: :mod:`seqzoo.nets.bpnet`; windows: :mod:`seqzoo.windows.centered`.
"""
from __future__ import annotations

from ..spec import ModelSpec
from ..weights import WeightsFile
from ..windows.centered import NO_FEATURE, WINDOW

TASKS = ("Oct4", "Sox2", "Nanog", "Klf4")


def effects(ref: dict, alt: dict) -> dict:
    """Per task: ``<task>/delta_log_counts``, ``<task>/profile_jsd``,
    ``<task>/max_abs_delta_profile_counts`` (definitions: :func:`seqzoo.nets.bpnet.effects`)."""
    from ..nets.bpnet import effects as bpnet_effects
    return bpnet_effects(ref, alt)


def build(path):
    from ..nets.bpnet import from_keras_h5
    return from_keras_h5(path)


def window_rule(genome, gtf_path, names):
    from ..windows.centered import centered_rule
    return centered_rule(genome, gtf_path, names)


def region_windows(genome, bed_path, names):
    from ..windows.centered import iter_bed_windows
    return iter_bed_windows(genome, bed_path, names)


SPEC = ModelSpec(
    name="BPNet-OSKN",
    weights=WeightsFile(
        "bpnet.model.h5",
        "https://zenodo.org/record/4294904/files/bpnet.model.h5?download=1",
        "bbe883baef261877bfad07d05feb627d"),
    build=build,
    window_rule=window_rule,
    outputs=tuple(f"{t}/log_total_counts" for t in TASKS),
    effects=effects,
    effect_names=tuple(f"{t}/{s}" for t in TASKS
                       for s in ("delta_log_counts", "profile_jsd", "max_abs_delta_profile_counts")),
    description="1000 bp centred on the variant -> ChIP-nexus profiles and counts of Oct4, Sox2, Nanog, Klf4 "
                "(BPNet, Avsec et al. 2021)",
    vector_outputs=tuple(f"{t}/{k}" for t in TASKS for k in ("counts", "profile_counts")),
    needs_gtf=False,
    region_windows=region_windows,
    ref_cache_size=1024,  # a window is shared only by alleles at one POS; each prediction is ~64 KB
    no_feature=NO_FEATURE,
    vector_shapes={**{f"{t}/counts": (2,) for t in TASKS}, **{f"{t}/profile_counts": (WINDOW, 2) for t in TASKS}},
    effect_docs={**{f"{t}/delta_log_counts": f"log(1 + total {t} counts alt) - log(1 + total counts ref) (natural "
                                             f"log, both strands)" for t in TASKS},
                 **{f"{t}/profile_jsd": f"Jensen-Shannon distance (base 2, 0..1) between ref and alt {t} profile "
                                        f"shapes, mean of the two strands" for t in TASKS},
                 **{f"{t}/max_abs_delta_profile_counts": f"max over positions and strands of |alt - ref| {t} "
                                                         f"profile x counts (reads)" for t in TASKS}},
    citation="Avsec Ž, Weilert M, Shrikumar A, et al. (2021) Base-resolution models of transcription-factor binding "
             "reveal soft motif syntax. Nature Genetics 53: 354-366. https://doi.org/10.1038/s41588-021-00782-6",
)
SPECS = (SPEC,)
