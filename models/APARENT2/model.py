"""Kipoi model class for APARENT2: the seqzoo PyTorch port behind ``kipoi.model.BaseModel``.

Inputs are batches of 205-nt 3'-end windows (``{"ref": array of str, "alt": array of str}``, as
``dataloader.APARENT2DataLoader`` yields them); outputs are nested dicts of (B,) and (B, 206)
arrays::

    {"ref": {"iso_prob", "cut_prob"}, "alt": {"iso_prob", "cut_prob"},
     "effect": {"delta_logodds_narrow", "delta_logodds", "max_abs_delta_cut_prob",
                "argmax_abs_delta_cut_prob", "max_abs_delta_cleavage", "max_abs_delta_cleavage_position",
                "delta_no_cleavage", "delta_cut_prob"}}

Everything but the name lives in :class:`seqzoo.kipoi_model.SeqzooKipoiModel`: the weights file is
found by :func:`seqzoo.weights.resolve` from the URL and md5 given in ``model.yaml`` (an explicit
``weights`` path, else ``$SEQZOO_WEIGHTS_DIR/<official file name>`` (offline; the name is the last
part of the URL), else the seqzoo cache, else a verified download), and each distinct window of a
batch is predicted once, with library 11 (``array``, the authors' scoring default).
"""
from seqzoo.kipoi_model import SeqzooKipoiModel


class APARENT2KipoiModel(SeqzooKipoiModel):
    """APARENT2 (Linder et al. 2022) on ref/alt 205-nt polyadenylation-signal window pairs.

    Args (``model.yaml``): weights_url, weights_md5; optional weights (explicit path), device,
    batch_size (default 64).
    """

    model_name = "APARENT2"
