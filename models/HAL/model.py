"""Kipoi model class for HAL: the seqzoo hexamer additive linear model behind ``kipoi.model.BaseModel``.

Inputs are batches of 160-nt donor windows (``{"ref": array of str, "alt": array of str}``, as
``dataloader.HALDataLoader`` yields them); outputs are nested dicts of (B,) float64 arrays::

    {"ref": {"score"}, "alt": {"score"}, "effect": {"delta", "sigmoid_delta"}}

Everything but the name and the ``mode`` argument lives in
:class:`seqzoo.kipoi_model.SeqzooKipoiModel`: the table is found by :func:`seqzoo.weights.resolve`
from the URL and md5 in ``model.yaml`` (an explicit ``weights`` path, else
``$SEQZOO_WEIGHTS_DIR/HAL_mer_scores.npz`` (offline, md5-checked), else the seqzoo cache, else a
verified download).
"""
from seqzoo.kipoi_model import SeqzooKipoiModel
from seqzoo.nets.hal import check_mode


class HALKipoiModel(SeqzooKipoiModel):
    """HAL (Rosenberg et al. 2015) on ref/alt 160-nt 5' splice-donor windows.

    Args (``model.yaml``): weights_url, weights_md5; optional weights (explicit path to a table in
    the published layout), device, batch_size (default 64), mode: ``kipoi`` (default: the Kipoi
    HAL formula, eight position regions) or ``averaged`` (MultiMolecule's reading: the eight columns
    averaged, normalised hexamer frequencies); see ``README.md``.
    """

    model_name = "HAL"

    def __init__(self, weights_url, weights_md5, weights=None, device="cpu", batch_size=64, mode="kipoi"):
        mode = check_mode(mode)
        super().__init__(weights_url, weights_md5, weights=weights, device=device, batch_size=batch_size)
        self.model.mode = mode
