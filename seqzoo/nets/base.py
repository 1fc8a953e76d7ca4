"""What every seqzoo torch model shares: batched prediction over a list of strings."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..encoding import check_letters


class SequenceModel(torch.nn.Module):
    """Base class: subclasses implement ``predict_batch(seqs, **extra) -> dict[str, np.ndarray]``.

    ``predict_sequences`` orders sequences by length (so variable-length batches carry little
    padding), predicts in batches of ``batch_size`` under ``torch.inference_mode`` and returns the
    outputs in input order. Extra per-sequence inputs (arrays whose first axis has length N) are
    sliced along with the sequences; other extra inputs are passed unchanged.
    """

    name: str = ""

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def predict_batch(self, seqs: Sequence[str], **extra) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Build what the model derives from its weights for fast prediction (called by
        :func:`seqzoo.load_model` once the model is on its device, so that the first prediction
        costs no more than the rest). Nothing here; Framepool builds its 7-mer tables, Xpresso its
        convolution 1 table."""

    def literal(self) -> "SequenceModel":
        """The model for the full passes of ``incremental=False``: this model, or (Framepool) a
        twin sharing its parameters that computes a layer as such where the string path takes it
        from a table derived from the weights, so that the check of the incremental path does not
        share the table with it."""
        return self

    def predict_sequences(self, seqs: Sequence[str], batch_size: int = 64, **extra) -> dict[str, np.ndarray]:
        seqs = [str(s) for s in seqs]
        check_letters(seqs)
        n = len(seqs)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = np.argsort([len(s) for s in seqs], kind="stable")
        per_seq = {k: np.asarray(v) for k, v in extra.items()
                   if v is not None and np.ndim(v) > 0 and np.shape(v)[0] == n and k in self.per_sequence_inputs}
        shared = {k: v for k, v in extra.items() if k not in per_seq}
        chunks: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                batch_extra = dict(shared, **{k: v[idx] for k, v in per_seq.items()})
                chunks.append((idx, self.predict_batch([seqs[i] for i in idx], **batch_extra)))
        if not chunks:
            return self.predict_batch([], **shared)
        out = {}
        for key in chunks[0][1]:
            first = chunks[0][1][key]
            arr = np.empty((n,) + first.shape[1:], dtype=first.dtype)
            for idx, res in chunks:
                arr[idx] = res[key]
            out[key] = arr
        return out

    #: names of extra inputs given per sequence (first axis = N); others are shared by all
    per_sequence_inputs: tuple[str, ...] = ()
