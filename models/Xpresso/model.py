"""Kipoi model class of the Xpresso group (``models/Xpresso/<weight set>``): seqzoo's PyTorch port.

``model-template.yaml`` passes the weight set as ``model_name`` (``Xpresso/human_median``, ...);
everything else lives in :class:`seqzoo.kipoi_model.SeqzooKipoiModel`. Batches are
``{"ref": (B,) str, "alt": (B,) str, "halflife": (B, 6)}`` (10,500-nt windows, TSS at index 7000,
as ``seqzoo_dataloaders.xpresso.XpressoDataLoader`` yields them); outputs are (B,) arrays::

    {"ref": {"expression"}, "alt": {"expression"}, "effect": {"delta_expression"}}

Each distinct (window, half-life features) of a batch is predicted once.
"""
from seqzoo.kipoi_model import SeqzooKipoiModel
from seqzoo.registry import XPRESSO_WEIGHT_SETS


class XpressoKipoiModel(SeqzooKipoiModel):
    """Xpresso (Agarwal & Shendure 2020), one of the five published weight sets.

    Args (``model.yaml``): model_name (``Xpresso/<set>``), weights_url, weights_md5; optional
    weights (explicit path), device, batch_size (default 64).
    """

    def __init__(self, model_name, weights_url, weights_md5, weights=None, device="cpu", batch_size=64):
        sets = [f"Xpresso/{s}" for s in XPRESSO_WEIGHT_SETS]
        if model_name not in sets:
            raise ValueError(f"model_name {model_name!r} is not an Xpresso weight set; one of: {', '.join(sets)}")
        super().__init__(weights_url, weights_md5, weights=weights, device=device, batch_size=batch_size,
                         model_name=model_name)
