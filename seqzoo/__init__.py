"""seqzoo: PyTorch ports of published regulatory-genomics models, Kipoi-compatible.

>>> import seqzoo
>>> model = seqzoo.load_model("Framepool")          # weights resolved, converted, eval mode
>>> model.predict_sequences(["ACGTGCATG..."])       # {"mrl": (N,), "mrl_unscaled": (N,), ...}
"""
from __future__ import annotations

__version__ = "0.1.0"


def list_models() -> list[str]:
    """Names accepted by :func:`load_model`."""
    from . import registry
    return sorted(registry.MODELS)


def load_model(name: str, weights=None, device: str = "cpu"):
    """The torch model ``name`` with its published weights, in eval mode on ``device``.

    ``weights``: explicit path to the weights file; by default it is resolved by
    :func:`seqzoo.weights.resolve` ($SEQZOO_WEIGHTS_DIR, the user cache, then a verified download).
    """
    from . import registry, weights as weights_mod
    from .keras_h5 import ConversionError
    spec = registry.get(name)
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
    if str(device).startswith("cuda"):
        import torch
        # TF32 convolutions/matmuls would cost ~1e-3 relative error: keep float32 fidelity.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return model.to(device).eval()
