import math

import numpy as np
import pytest

from memorization.errors import ConfigError


@pytest.fixture(scope="module")
def mlp(keras_float64):
    from memorization.models import mlp

    return mlp


def kernels(model):
    from keras import ops

    return [ops.convert_to_numpy(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]


def as_numpy(keras, tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_shapes_and_layer_count(mlp):
    model = mlp.build_mlp(12, width=7, depth=3, use_bias=True)
    assert model.output_shape == (None, 12)
    shapes = [w.shape for w in kernels(model)]
    assert shapes == [(12, 7), (7, 7), (7, 7), (7, 12)]
    assert len(model.trainable_weights) == 8  # 4 kernels + 4 biases


def test_no_bias_means_only_kernels(mlp):
    model = mlp.build_mlp(5, width=4, depth=2, use_bias=False)
    assert len(model.trainable_weights) == 3


def test_fan_in_uniform_bound_is_one_over_sqrt_fan_in(mlp):
    model = mlp.build_mlp(400, width=300, depth=2, use_bias=True, initializer="fan_in_uniform", seed=3)
    for layer in [layer for layer in model.layers if hasattr(layer, "kernel")]:
        kernel = as_numpy(mlp.keras, layer.kernel)
        bound = 1.0 / math.sqrt(kernel.shape[0])
        assert np.abs(kernel).max() <= bound
        assert np.abs(kernel).max() > 0.99 * bound
        # U(-b, b) has variance b^2 / 3.
        assert kernel.var() == pytest.approx(bound**2 / 3, rel=0.02)
        bias = as_numpy(mlp.keras, layer.bias)
        assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0.9 * bound


def test_layers_get_different_draws_and_seeds_reproduce(mlp):
    first = kernels(mlp.build_mlp(6, width=6, depth=2, seed=1))
    again = kernels(mlp.build_mlp(6, width=6, depth=2, seed=1))
    other = kernels(mlp.build_mlp(6, width=6, depth=2, seed=2))
    assert not np.allclose(first[1], first[2])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])


def test_glorot_and_zeros(mlp):
    glorot = kernels(mlp.build_mlp(300, width=200, depth=1, initializer="glorot_uniform"))[0]
    limit = math.sqrt(6.0 / (300 + 200))
    assert np.abs(glorot).max() <= limit and np.abs(glorot).max() > 0.99 * limit
    zeros = mlp.build_mlp(5, width=4, depth=1, initializer="zeros", use_bias=True)
    assert all(np.all(as_numpy(mlp.keras, w) == 0) for w in zeros.weights)


def test_linear_mlp_is_the_product_of_its_kernels(mlp):
    model = mlp.build_mlp(5, width=8, depth=3, nonlinearity="linear", seed=4)
    product = np.linalg.multi_dot(kernels(model))
    points = np.random.default_rng(0).normal(size=(3, 5))
    np.testing.assert_allclose(as_numpy(mlp.keras, model(points)), points @ product, atol=1e-12)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("cos_minus_id", lambda h: np.cos(h) - h),
        ("leaky_relu", lambda h: np.where(h >= 0, h, 0.01 * h)),
        ("selu", lambda h: 1.0507009873554805 * np.where(h > 0, h, 1.6732632423543772 * np.expm1(h))),
    ],
)
def test_one_hidden_layer_forward_pass(mlp, name, expected):
    model = mlp.build_mlp(4, width=6, depth=1, nonlinearity=name, use_bias=True, seed=5)
    k1, k2 = kernels(model)
    b1, b2 = (as_numpy(mlp.keras, layer.bias) for layer in model.layers if hasattr(layer, "bias"))
    points = np.random.default_rng(1).normal(size=(5, 4))
    want = expected(points @ k1 + b1) @ k2 + b2
    # Keras keeps the leaky slope 0.01 as a float32 constant: a relative error of ~1e-9.
    rtol = 1e-7 if name == "leaky_relu" else 1e-10
    np.testing.assert_allclose(as_numpy(mlp.keras, model(points)), want, rtol=rtol, atol=1e-12)


def test_single_layer_from_zeros_outputs_phi_of_zero(mlp):
    model = mlp.build_single_layer(6, nonlinearity="sigmoid")
    out = as_numpy(mlp.keras, model(np.ones((2, 6))))
    np.testing.assert_allclose(out, 0.5)
    assert [w.shape for w in model.weights] == [(6, 6)]


def test_saved_model_loads_back_with_the_same_outputs(mlp, tmp_path):
    model = mlp.build_mlp(5, width=4, depth=2, nonlinearity="cos_minus_id", seed=6)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = mlp.load_model(path)
    points = np.random.default_rng(2).normal(size=(3, 5))
    np.testing.assert_allclose(as_numpy(mlp.keras, loaded(points)), as_numpy(mlp.keras, model(points)))


def test_float64_models_compute_in_float64(mlp):
    model = mlp.build_mlp(3, width=3, depth=1, dtype="float64")
    assert all(str(w.dtype) == "float64" for w in model.weights)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nonlinearity": "relu"},
        {"initializer": "he_normal"},
        {"width": 0},
        {"depth": 1.5},
        {"dtype": "float16"},
        {"negative_slope": 1.0},
    ],
)
def test_bad_settings_raise_config_error(mlp, kwargs):
    settings = {"width": 4, "depth": 2, **kwargs}
    with pytest.raises(ConfigError):
        mlp.build_mlp(5, **settings)
