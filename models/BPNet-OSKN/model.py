"""Kipoi model class for BPNet-OSKN: the seqzoo PyTorch port behind ``kipoi.model.BaseModel``.

Batches are ``{"ref": (B,) str, "alt": (B,) str}`` of 1000-nt windows with the variant's first REF
base at index 500 (``dataloader.BPNetDataLoader``); the bias (control) inputs are zeros, as in
Kipoi's original wrapper. Outputs are (B,) arrays keyed ``<task>/<quantity>`` for the tasks Oct4,
Sox2, Nanog, Klf4 (Kipoi's TSV writer flattens them to ``preds/ref/Oct4/log_total_counts``, ...)::

    {"ref": {"<task>/log_total_counts"}, "alt": {"<task>/log_total_counts"},
     "effect": {"<task>/delta_log_counts", "<task>/profile_jsd", "<task>/max_abs_delta_profile_counts"}}

Everything lives in :class:`seqzoo.kipoi_model.SeqzooKipoiModel` (weights resolved from the URL and
md5 in ``model.yaml``; an optional ``weights: PATH`` arg names a file explicitly).
"""
from seqzoo.kipoi_model import SeqzooKipoiModel


class BPNetKipoiModel(SeqzooKipoiModel):
    """BPNet-OSKN (Avsec et al. 2021) on ref/alt window pairs.

    Args (``model.yaml``): weights_url, weights_md5; optional weights (explicit path), device,
    batch_size (default 64).
    """

    model_name = "BPNet-OSKN"
