"""Kipoi model class for Framepool: the seqzoo PyTorch port behind ``kipoi.model.BaseModel``.

Inputs are batches of 5'UTR strings (``{"ref": array of str, "alt": array of str}``, as
``dataloader.FramepoolDataLoader`` yields them); outputs are nested dicts of (B,) arrays::

    {"ref": {"mrl", "mrl_unscaled"}, "alt": {"mrl", "mrl_unscaled"},
     "effect": {"mrl_fold_change", "shift_1", "shift_2"}}

Everything but the name lives in :class:`seqzoo.kipoi_model.SeqzooKipoiModel`: the weights file is
found by :func:`seqzoo.weights.resolve` from the URL and md5 given in ``model.yaml`` (an explicit
``weights`` path, else ``$SEQZOO_WEIGHTS_DIR/Framepool_combined_residual.h5`` (offline), else the
seqzoo cache, else a verified download), and each distinct sequence of a batch is predicted once.
"""
from seqzoo.kipoi_model import SeqzooKipoiModel


class FramepoolKipoiModel(SeqzooKipoiModel):
    """Framepool (Karollus et al. 2021) on ref/alt 5'UTR string pairs.

    Args (``model.yaml``): weights_url, weights_md5; optional weights (explicit path), device,
    batch_size (default 64).
    """

    model_name = "Framepool"
