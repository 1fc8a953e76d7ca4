"""The Kipoi model class behind every seqzoo model directory: a seqzoo torch model on ref/alt pairs.

A model directory's ``model.py`` subclasses :class:`SeqzooKipoiModel` and sets ``model_name`` (a
name of :mod:`seqzoo.registry`), or its ``model.yaml`` passes ``model_name`` as an argument (one
class for a group of weight sets, as Xpresso's). Batches come from
:class:`seqzoo_dataloaders.variant_windows.VariantWindowsDataLoader`::

    x = {"ref": (B,) str, "alt": (B,) str, **extra}     # extra: per-sample model inputs, e.g.
                                                        # Xpresso "halflife" (B, 6)
    predict_on_batch(x) = {"ref": {output: (B,) or (B, L)...}, "alt": {output: ...},
                           "effect": spec.effects(ref, alt)}

``output`` runs over ``spec.outputs`` and ``spec.vector_outputs``, the effects over what
``spec.effects`` returns (``spec.effect_names`` and ``spec.vector_effect_names``): per-position
arrays (APARENT2 ``cut_prob``, ``delta_cut_prob``: (B, 206)) are returned too; Kipoi's TSV writer
flattens them into one column per position (``preds/ref/cut_prob/0`` ...), its HDF5 writer keeps
the arrays. Extra inputs must be names the torch model takes per sequence
(``per_sequence_inputs``); the ref and the alt window of a row share them. Every distinct
(sequence, extra inputs) of a batch is predicted once (:func:`seqzoo.scoring.predict_unique`):
rows of one feature share their reference window.

The weights file is found by :func:`seqzoo.weights.resolve` from the URL and md5 that
``model.yaml`` names: an explicit ``weights`` path, else ``$SEQZOO_WEIGHTS_DIR/<official file>``
(offline), else the seqzoo cache, else a verified download. The module imports without kipoi
(the class then derives from ``object`` and works outside Kipoi too).
"""
from __future__ import annotations

import logging

import numpy as np

from . import registry
from .scoring import predict_unique
from .weights import WeightsFile, resolve

try:
    from kipoi.model import BaseModel as _KipoiBaseModel
except ImportError:  # kipoi is an optional extra: the class still works on its own
    _KipoiBaseModel = object

SEQUENCE_KEYS = ("ref", "alt")


class SeqzooKipoiModel(_KipoiBaseModel):
    """A seqzoo model on ref/alt window pairs, as a ``kipoi.model.BaseModel``.

    Args:
      weights_url, weights_md5: the published weights file (``model.yaml`` args); a pair that
        differs from the registry's is logged and used.
      weights: optional explicit path to a weights file (used as given; a different md5 is logged).
      device: torch device (``cuda`` turns TF32 off, as :func:`seqzoo.load_model` does).
      batch_size: sequences per forward pass.
      model_name: the registry name, for a class that does not set ``model_name`` itself.
    """

    MODEL_PACKAGE = "seqzoo"
    #: name of the model in :mod:`seqzoo.registry`; set by subclasses or passed as ``model_name``
    model_name: str | None = None

    def __init__(self, weights_url, weights_md5, weights=None, device="cpu", batch_size=64, model_name=None):
        name = self._model_name(model_name)
        self.spec = registry.get(name)
        self.log = logging.getLogger("kipoi.seqzoo." + name)  # kipoi's CLI silences non-kipoi loggers
        official = self.spec.weights
        if (weights_url, weights_md5) != (official.url, official.md5):
            self.log.warning("model.yaml names weights %s (md5 %s) but seqzoo's registry has %s (md5 %s) for %s",
                             weights_url, weights_md5, official.url, official.md5, name)
        path = resolve(WeightsFile(official.filename, weights_url, weights_md5), weights)
        if str(device).startswith("cuda"):
            import torch
            # TF32 convolutions/matmuls would cost ~1e-3 relative error: keep float32 fidelity.
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        self.model = self.spec.build(path).to(device).eval()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.weights_path = path

    def _model_name(self, model_name) -> str:
        own = type(self).model_name
        if own and model_name and model_name != own:
            raise ValueError(f"{type(self).__name__} is the Kipoi class of {own!r}; model_name={model_name!r} "
                             f"contradicts it")
        name = own or model_name
        if not name:
            raise TypeError(f"{type(self).__name__} needs a model name: set the class attribute `model_name` or "
                            f"pass model_name (one of: {', '.join(sorted(registry.MODELS))})")
        return name

    def predict_on_batch(self, x):
        """``{"ref": (B,) str, "alt": (B,) str, **extra}`` -> ``{"ref": {...}, "alt": {...}, "effect": {...}}``
        of (B,) numpy arrays (see the module docstring)."""
        if not isinstance(x, dict) or any(k not in x for k in SEQUENCE_KEYS):
            got = sorted(x) if isinstance(x, dict) else type(x).__name__
            raise ValueError(f"{self.spec.name}: a batch is a dict with 'ref' and 'alt' sequences (and optional "
                             f"per-sample inputs {list(self.model.per_sequence_inputs)}); got {got}")
        ref = [str(s) for s in np.asarray(x["ref"]).ravel()]
        alt = [str(s) for s in np.asarray(x["alt"]).ravel()]
        if len(ref) != len(alt):
            raise ValueError(f"{self.spec.name}: batch has {len(ref)} ref but {len(alt)} alt sequences")
        inputs = None
        extra = {k: np.asarray(v) for k, v in x.items() if k not in SEQUENCE_KEYS}
        if extra:
            unknown = sorted(set(extra) - set(self.model.per_sequence_inputs))
            if unknown:
                raise ValueError(f"{self.spec.name}: unknown model input(s) {unknown}; the model takes 'ref', "
                                 f"'alt' and per-sample {list(self.model.per_sequence_inputs)}")
            for k, v in extra.items():
                if v.ndim == 0 or v.shape[0] != len(ref):
                    raise ValueError(f"{self.spec.name}: input {k!r} has shape {v.shape}; expected a first axis "
                                     f"of {len(ref)} (one row per sample)")
            per_row = [{k: v[i] for k, v in extra.items()} for i in range(len(ref))]
            inputs = per_row + per_row  # ref and alt window of a row share its inputs
        preds = predict_unique(self.model, ref + alt, self.batch_size, inputs=inputs)
        ref_preds = {k: v[:len(ref)] for k, v in preds.items()}
        alt_preds = {k: v[len(ref):] for k, v in preds.items()}
        outputs = self.spec.outputs + self.spec.vector_outputs
        return {
            "ref": {k: ref_preds[k] for k in outputs},
            "alt": {k: alt_preds[k] for k in outputs},
            "effect": self.spec.effects(ref_preds, alt_preds),
        }


def read_kipoi_tsv(path) -> dict:
    """A ``kipoi predict -o out.tsv`` table as {column: array}, with the flattened per-position
    columns (``preds/ref/cut_prob/0`` ... ``/205``, which Kipoi's writer sorts as text) put back into
    (N, L) arrays in position order under their prefix (``preds/ref/cut_prob``)."""
    import re

    import pandas as pd

    table = pd.read_csv(path, sep="\t")
    out: dict = {}
    groups: dict[str, list[tuple[int, str]]] = {}
    for col in table.columns:
        m = re.fullmatch(r"(.+)/(\d+)", col)
        if m and not col.startswith("metadata/"):
            groups.setdefault(m.group(1), []).append((int(m.group(2)), col))
        else:
            out[col] = table[col].to_numpy()
    for prefix, cols in groups.items():
        cols.sort()
        if [i for i, _ in cols] != list(range(len(cols))):
            raise ValueError(f"{path}: columns {prefix}/<i> are not 0..{len(cols) - 1}")
        out[prefix] = table[[c for _, c in cols]].to_numpy()
    return out
