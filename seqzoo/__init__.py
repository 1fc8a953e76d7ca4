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
    spec = registry.get(name)
    path = weights_mod.resolve(spec.weights, weights)
    model = spec.build(path)
    if str(device).startswith("cuda"):
        import torch
        # TF32 convolutions/matmuls would cost ~1e-3 relative error: keep float32 fidelity.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return model.to(device).eval()
