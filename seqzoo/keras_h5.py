"""Reading Keras (2.x) h5 weights with h5py and assigning them to torch modules.

No TensorFlow is needed: a Keras h5 file stores, under ``model_weights`` (full model) or at its
root (weights only), one group per layer with the attribute ``weight_names``; each name is a path
to a dataset such as ``convolution_0/convolution_0_2/kernel:0``.

:class:`KerasWeights` hands arrays out by (layer, weight) and :meth:`KerasWeights.assign` copies
them into torch parameters; :meth:`KerasWeights.check_complete` fails loudly if any array in the
file was not used or any torch parameter/buffer was not set.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .errors import SeqzooError


class ConversionError(SeqzooError, RuntimeError):
    """The h5 file does not match the torch module it is converted into."""


def _decode(x):
    return x.decode("utf8") if isinstance(x, bytes) else str(x)


class KerasWeights:
    """All weight arrays of a Keras h5 file, keyed by (layer name, short weight name).

    The short weight name is the last path component without ``:0`` (``kernel``, ``bias``,
    ``gamma``, ``moving_mean``, ...).
    """

    def __init__(self, path: str | Path):
        import h5py

        self.path = Path(path)
        try:
            fh = h5py.File(self.path, "r")
        except OSError as exc:
            raise ConversionError(f"Cannot read Keras h5 file {self.path}: {exc} (truncated or not an "
                                  f"HDF5 file?)") from exc
        with fh:
            self.model_config = None
            if "model_config" in fh.attrs:
                self.model_config = json.loads(_decode(fh.attrs["model_config"]))
            group = fh["model_weights"] if "model_weights" in fh else fh
            if "layer_names" not in group.attrs:
                raise ConversionError(f"{self.path} has no Keras 'layer_names' attribute: not a Keras h5 file")
            self.arrays: dict[tuple[str, str], np.ndarray] = {}
            for layer in (_decode(n) for n in group.attrs["layer_names"]):
                for wname in (_decode(n) for n in group[layer].attrs.get("weight_names", [])):
                    short = wname.split("/")[-1].split(":")[0]
                    key = (layer, short)
                    if key in self.arrays:
                        raise ConversionError(f"{self.path}: layer {layer} has two weights named {short}")
                    self.arrays[key] = np.asarray(group[layer][wname])
        self._used: set[tuple[str, str]] = set()
        self._assigned: set[int] = set()

    def layer_class(self, name: str) -> str | None:
        """The Keras class name of layer ``name`` according to ``model_config`` (None if absent)."""
        if not self.model_config:
            return None
        for layer in self.model_config["config"]["layers"]:
            if layer["name"] == name:
                return layer["class_name"]
        return None

    def get(self, layer: str, weight: str) -> np.ndarray:
        key = (layer, weight)
        if key not in self.arrays:
            have = sorted(w for (l, w) in self.arrays if l == layer)
            raise ConversionError(f"{self.path}: no weight '{weight}' in layer '{layer}' "
                                  f"(layer has: {have or 'no weights / no such layer'})")
        self._used.add(key)
        return self.arrays[key]

    def assign(self, target: torch.Tensor, layer: str, weight: str, transform=None) -> None:
        """Copy array (layer, weight), optionally transformed, into ``target`` (shape-checked)."""
        array = self.get(layer, weight)
        if transform is not None:
            array = transform(array)
        if tuple(array.shape) != tuple(target.shape):
            raise ConversionError(f"{self.path}: {layer}/{weight} has shape {tuple(array.shape)} after "
                                  f"conversion, the torch tensor has {tuple(target.shape)}")
        with torch.no_grad():
            target.copy_(torch.from_numpy(np.ascontiguousarray(array)).to(target.dtype))
        self._assigned.add(id(target))

    def check_complete(self, module: torch.nn.Module) -> None:
        """Raise if any h5 array was not used or any parameter/buffer of ``module`` was not set."""
        left = sorted(set(self.arrays) - self._used)
        unset = [n for n, t in list(module.named_parameters()) + list(module.named_buffers())
                 if id(t) not in self._assigned]
        if left or unset:
            raise ConversionError(f"Converting {self.path} is incomplete: arrays left over in the h5 file: "
                                  f"{['/'.join(k) for k in left]}; torch tensors never set: {unset}")


def conv1d_kernel(k: np.ndarray) -> np.ndarray:
    """Keras Conv1D kernel (width, in, out) -> torch Conv1d weight (out, in, width)."""
    return np.transpose(k, (2, 1, 0))


def dense_kernel(k: np.ndarray) -> np.ndarray:
    """Keras Dense kernel (in, out) -> torch Linear weight (out, in)."""
    return np.transpose(k, (1, 0))
