"""seqzoo: PyTorch ports of published regulatory-genomics models, Kipoi-compatible, with per-variant
effect scoring from FASTA + GTF + VCF.

>>> import seqzoo
>>> model = seqzoo.load_model("Framepool")          # weights resolved, converted, eval mode
>>> model.predict_sequences(["ACGTGCATGC"])         # {"mrl": (N,), "mrl_unscaled": (N,), ...}
>>> rows, summary, skipped = seqzoo.score_vcf("Framepool", "genome.fa", "variants.vcf", gtf="genes.gtf")

The scoring API is :mod:`seqzoo.api`; models are described by :class:`seqzoo.spec.ModelSpec`
objects in :mod:`seqzoo.registry` (``register_model`` adds one of your own).
"""
from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["ModelSpec", "Option", "check_device", "ism", "iter_scores", "list_models", "load_model",
           "predict_regions", "register_model", "reuse_freed_memory", "score_vcf", "windows_vcf", "__version__"]


def __getattr__(name):  # the API is imported on first use: `import seqzoo` stays light
    if name in ("score_vcf", "windows_vcf", "iter_scores", "predict_regions"):
        from . import api
        return getattr(api, name)
    if name == "ism":
        from .mutagenesis import ism
        return ism
    if name == "reuse_freed_memory":  # glibc's malloc, process-wide (the command line does it)
        from .heap_reuse import reuse_freed_memory
        return reuse_freed_memory
    if name in ("ModelSpec", "Option"):
        from . import spec
        return getattr(spec, name)
    if name in ("api", "plots", "registry", "mutagenesis"):  # `seqzoo.plots.ism_figure(...)` without an import
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'seqzoo' has no attribute {name!r}")


def register_model(spec, replace: bool = False):
    """Make a model of your own (a :class:`seqzoo.spec.ModelSpec`) known to seqzoo by its name (see
    :mod:`seqzoo.registry` for plug-ins that register through an entry point)."""
    from . import registry
    return registry.register(spec, replace=replace)


def list_models() -> list[str]:
    """Names accepted by :func:`load_model`."""
    from . import registry
    return sorted(registry.MODELS)


def check_device(device: str) -> None:
    """Refuse a device string torch does not know, or CUDA where none is available (UsageError)."""
    import torch

    from .errors import UsageError
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UsageError(f"--device {device!r} is not a torch device; use cpu, cuda or cuda:N") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise UsageError(f"--device {device}: no CUDA device is available here (torch {torch.__version__}, "
                             f"{build}); use --device cpu, or install a CUDA build of torch on a GPU machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise UsageError(f"--device {device}: seqzoo runs on cpu or cuda")


def load_model(name, weights=None, device: str = "cpu"):
    """The torch model ``name`` (a registered name or a :class:`ModelSpec`) with its published
    weights, in eval mode on ``device``.

    ``weights``: explicit path to the weights file; by default it is resolved by
    :func:`seqzoo.weights.resolve` ($SEQZOO_WEIGHTS_DIR, the user cache, then a verified download).
    """
    from . import registry, weights as weights_mod
    from .keras_h5 import ConversionError
    from .spec import ModelSpec
    check_device(device)
    spec = name if isinstance(name, ModelSpec) else registry.get(name)
    name = spec.name
    path = weights_mod.resolve(spec.weights, weights)
    try:
        model = spec.build(path)
    except ConversionError as exc:
        raise ConversionError(f"{path} cannot be loaded as {name} weights: {exc}. Is it the published "
                              f"'{spec.weights.filename}' (md5 {spec.weights.md5}, {spec.weights.url})?") from exc
    except (OSError, ValueError, KeyError) as exc:  # e.g. a HAL table that is not an npz
        raise ConversionError(f"{path} cannot be loaded as {name} weights ({type(exc).__name__}: {exc}). Is it the "
                              f"published '{spec.weights.filename}' (md5 {spec.weights.md5}, "
                              f"{spec.weights.url})?") from exc
    model.weights_file = str(path)  # which file these weights came from (resume fingerprints)
    model.seqzoo_name = spec.name  # which model this is (seqzoo.score_vcf takes loaded models)
    if str(device).startswith("cuda"):
        import torch
        # TF32 convolutions/matmuls would cost ~1e-3 relative error: keep float32 fidelity.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    model = model.to(device).eval()
    prepare = getattr(model, "prepare", None)
    if prepare is not None:  # e.g. Framepool's 7-mer tables: built now, not in the first prediction
        prepare()
    return model
