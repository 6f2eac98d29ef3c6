"""Builders of the convolutional autoencoders (C6, C7, C8)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import pytest

from memorization.analysis import operator as op
from memorization.errors import ConfigError
from memorization.models import conv


def kernels(model):
    return [layer.get_weights()[0] for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def test_linear_conv_shape_depth_and_parameters():
    model = conv.build_linear_conv(8, 5)
    assert model.input_shape == (None, 8, 8, 1)
    assert model.output_shape == (None, 8, 8, 1)
    assert conv.conv_layer_count(model) == 5
    assert model.count_params() == 5 * 9  # 1 channel, 3x3, no bias
    assert all(layer.dtype == "float64" for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert model.layers[-1].activation is keras.activations.linear


@pytest.mark.parametrize("side, stages, bottleneck", [(4, 2, 1), (8, 2, 2), (6, 3, 1), (12, 2, 3), (5, 1, 3)])
def test_downsampling_conv_shapes_for_any_side(side, stages, bottleneck):
    model = conv.build_downsampling_conv(side, stages, 3)
    assert model.output_shape == (None, side, side, 1)
    assert conv.conv_layer_count(model) == 2 * stages + 1
    assert model.get_layer(f"down_{stages}").output.shape[1:3] == (bottleneck, bottleneck)
    assert conv.encoder_sides(side, stages)[-1] == bottleneck
    # 1 -> C, (stages - 1) x C -> C, stages x C -> C, C -> 1 channel; 3x3 kernels, no bias
    expected = 9 * (3 + (stages - 1) * 9 + stages * 9 + 3)
    assert model.count_params() == expected


def test_downsampling_conv_decoder_with_cropping_is_linear():
    model = conv.build_downsampling_conv(6, 3, 2, seed=1)
    assert op.check_linearity(op.model_function(model), (6, 6, 1)).is_linear


def test_nonlinear_conv_shapes_activation_and_linear_output():
    model = conv.build_nonlinear_conv(32, 5, 8, seed=0)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 32, 32, 3)
    assert model.get_layer("down_5").output.shape[1:3] == (1, 1)
    leaky = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 10
    assert model.layers[-1].name == "output"
    assert isinstance(model.layers[-1], keras.layers.Conv2D)
    assert model.get_layer("up_1_resize").interpolation == "bilinear"
    # Large inputs: a leaky ReLU net is positively homogeneous without bias, f(2z) = 2 f(z) ...
    z = np.random.default_rng(0).standard_normal((2, 32, 32, 3)).astype("float32")
    apply = op.model_function(model)
    np.testing.assert_allclose(apply(2 * z), 2 * apply(z), rtol=1e-4, atol=1e-6)
    # ... but not odd: f(-z) != -f(z).
    assert np.abs(apply(-z) + apply(z)).max() > 1e-3 * np.abs(apply(z)).max()


def test_fan_in_uniform_bound_and_layer_seeds():
    model = conv.build_downsampling_conv(8, 2, 16, seed=7)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel = layer.get_weights()[0]
            bound = 1.0 / np.sqrt(9 * kernel.shape[2])
            assert np.abs(kernel).max() <= bound
            assert np.abs(kernel).max() > 0.8 * bound  # uniform, not a narrower law
    first, second = kernels(conv.build_linear_conv(4, 3, seed=7))[:2]
    assert not np.allclose(first, second)  # each layer draws its own weights


def test_same_seed_same_weights_and_other_seed_other_weights():
    same = [conv.build_linear_conv(6, 3, seed=2) for _ in range(2)]
    other = conv.build_linear_conv(6, 3, seed=3)
    for a, b, c in zip(kernels(same[0]), kernels(same[1]), kernels(other)):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_glorot_initializer_keeps_the_signal_scale():
    glorot = kernels(conv.build_linear_conv(4, 2, initializer="glorot_uniform", seed=0))[0]
    fan_in = kernels(conv.build_linear_conv(4, 2, initializer="fan_in_uniform", seed=0))[0]
    assert np.abs(glorot).max() <= np.sqrt(6.0 / 18.0)
    assert np.abs(glorot).max() > 1.0 / 3.0  # wider than the fan-in law's bound 1/3
    assert np.abs(fan_in).max() <= 1.0 / 3.0


def test_float32_models():
    model = conv.build_linear_conv(4, 2, dtype="float32")
    assert kernels(model)[0].dtype == np.float32


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv.build_linear_conv(0, 3), "side"),
        (lambda: conv.build_linear_conv(4, 0), "depth"),
        (lambda: conv.build_linear_conv(4, 2.5), "depth"),
        (lambda: conv.build_linear_conv(4, 2, dtype="float16"), "dtype"),
        (lambda: conv.build_linear_conv(4, 2, initializer="zeros"), "initializer"),
        (lambda: conv.build_downsampling_conv(8, 0, 4), "stages"),
        (lambda: conv.build_downsampling_conv(8, 2, 0), "channels"),
        (lambda: conv.build_downsampling_conv(8, 2, 4, upsampling="cubic"), "upsampling"),
        (lambda: conv.build_nonlinear_conv(8, 2, 4, negative_slope=1.5), "negative_slope"),
    ],
)
def test_bad_settings_raise_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_saved_model_loads_back_with_the_same_outputs(tmp_path):
    model = conv.build_downsampling_conv(6, 2, 2, seed=4)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    image = np.random.default_rng(0).random((1, 6, 6, 1))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(image)), keras.ops.convert_to_numpy(model(image)), rtol=0, atol=1e-14
    )
