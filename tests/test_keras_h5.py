"""Conversion fails loudly when the h5 file and the torch module do not match one to one."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from conftest import require_weights
from seqzoo.keras_h5 import ConversionError, KerasWeights
from seqzoo.nets.framepool import Framepool, from_keras_h5


@pytest.fixture
def h5copy(tmp_path):
    src = require_weights("Framepool_combined_residual.h5")
    dst = tmp_path / "fp.h5"
    shutil.copy(src, dst)
    return dst


def test_every_array_mapped(h5copy):
    weights = KerasWeights(h5copy)
    assert len(weights.arrays) == 11
    model = from_keras_h5(h5copy)
    np.testing.assert_array_equal(model.conv1.weight.detach().numpy()[:, :, 0],
                                  weights.arrays[("convolution_1", "kernel")][0].T)


def test_leftover_array_is_an_error(h5copy):
    with h5py.File(h5copy, "r+") as fh:
        layer = fh["model_weights"]["fully_connected_0"]
        layer.create_dataset("fully_connected_0_2/extra:0", data=np.zeros(3, np.float32))
        names = list(layer.attrs["weight_names"]) + [b"fully_connected_0_2/extra:0"]
        layer.attrs["weight_names"] = names
    with pytest.raises(ConversionError, match=r"left over in the h5 file: \['fully_connected_0/extra'\]"):
        from_keras_h5(h5copy)


def test_missing_array_is_an_error(h5copy):
    with h5py.File(h5copy, "r+") as fh:
        layer = fh["model_weights"]["convolution_2"]
        layer.attrs["weight_names"] = [n for n in layer.attrs["weight_names"] if b"bias" not in n]
    with pytest.raises(ConversionError, match="no weight 'bias' in layer 'convolution_2'"):
        from_keras_h5(h5copy)


def test_unset_torch_parameter_is_an_error(h5copy):
    weights = KerasWeights(h5copy)
    model = Framepool()
    weights.assign(model.conv0.weight, "convolution_0", "kernel", lambda k: k.transpose(2, 1, 0))
    with pytest.raises(ConversionError, match="torch tensors never set: .*conv0.bias"):
        weights.check_complete(model)


def test_truncated_file(tmp_path, h5copy):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(h5copy.read_bytes()[:100_000])
    with pytest.raises(ConversionError, match="Cannot read Keras h5 file .*cut.h5"):
        from_keras_h5(cut)
