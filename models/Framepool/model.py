"""Kipoi model class for Framepool: the seqzoo PyTorch port behind ``kipoi.model.BaseModel``.

Inputs are batches of 5'UTR strings (``{"ref": array of str, "alt": array of str}``, as
``dataloader.FramepoolDataLoader`` yields them); outputs are nested dicts of (B,) arrays::

    {"ref": {"mrl", "mrl_unscaled"}, "alt": {"mrl", "mrl_unscaled"},
     "effect": {"mrl_fold_change", "shift_1", "shift_2"}}

The weights file is found by :func:`seqzoo.weights.resolve` from the URL and md5 given in
``model.yaml``: an explicit ``weights`` path, else ``$SEQZOO_WEIGHTS_DIR/Framepool_combined_residual.h5``
(offline), else the seqzoo cache, else a verified download.
"""
from __future__ import annotations

import logging

import numpy as np
from kipoi.model import BaseModel

from seqzoo import registry
from seqzoo.scoring import predict_unique
from seqzoo.weights import WeightsFile, resolve

log = logging.getLogger("kipoi.seqzoo.Framepool")

MODEL_NAME = "Framepool"


class FramepoolKipoiModel(BaseModel):
    """Framepool (Karollus et al. 2021) on ref/alt 5'UTR string pairs.

    Args:
      weights_url, weights_md5: the published weights file (``model.yaml`` args).
      weights: optional explicit path to a weights file (used as given).
      device: torch device.
      batch_size: sequences per forward pass.
    """

    MODEL_PACKAGE = "seqzoo"

    def __init__(self, weights_url, weights_md5, weights=None, device="cpu", batch_size=64):
        self.spec = registry.get(MODEL_NAME)
        official = self.spec.weights
        if (weights_url, weights_md5) != (official.url, official.md5):
            log.warning("model.yaml names weights %s (md5 %s) but seqzoo's registry has %s (md5 %s)",
                        weights_url, weights_md5, official.url, official.md5)
        path = resolve(WeightsFile(official.filename, weights_url, weights_md5), weights)
        self.model = self.spec.build(path).to(device).eval()
        self.batch_size = batch_size

    def predict_on_batch(self, x):
        ref = [str(s) for s in np.asarray(x["ref"]).ravel()]
        alt = [str(s) for s in np.asarray(x["alt"]).ravel()]
        if len(ref) != len(alt):
            raise ValueError(f"batch has {len(ref)} ref but {len(alt)} alt sequences")
        # every distinct sequence once: rows of one transcript share their reference window
        preds = predict_unique(self.model, ref + alt, self.batch_size)
        ref_preds = {k: v[:len(ref)] for k, v in preds.items()}
        alt_preds = {k: v[len(ref):] for k, v in preds.items()}
        return {
            "ref": {k: ref_preds[k] for k in self.spec.outputs},
            "alt": {k: alt_preds[k] for k in self.spec.outputs},
            "effect": self.spec.effects(ref_preds, alt_preds),
        }
