"""Fully connected autoencoders: the single-layer map phi(Wx) (C2) and the deep MLP (C3-C5, C10).

Both map flattened images R^d -> R^d. Only keras and keras.ops are used, so the same builders
work on TensorFlow, JAX and PyTorch. Every custom piece is registered for serialization, so a
saved ``model.keras`` loads back without extra arguments.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from memorization.errors import ConfigError

NONLINEARITIES = ("cos_minus_id", "selu", "leaky_relu", "linear")
# C2 needs an invertible phi so that phi^-1(f(z)) can be compared with span{phi^-1(x_i)}.
SINGLE_LAYER_NONLINEARITIES = ("tanh", "sigmoid", "leaky_relu", "linear")
INITIALIZERS = ("fan_in_uniform", "glorot_uniform", "zeros")
DTYPES = ("float32", "float64")


def _elementwise(name: str, x):
    # Keras 3.15's ops.cos / ops.tanh return float32 for float64 input on JAX and PyTorch (its
    # type promotion caps floats at 32 bits there); the backends' own functions keep float64.
    backend = keras.backend.backend()
    if backend == "jax":
        import jax.numpy as jnp

        return getattr(jnp, name)(x)
    if backend == "torch":
        import torch

        return getattr(torch, name)(x)
    return getattr(ops, name)(x)


@keras.saving.register_keras_serializable(package="memorization")
def cos_minus_id(x):
    """cos(x) - x, the nonlinearity of the PNAS follow-up's deep autoencoders."""
    return _elementwise("cos", x) - x


@keras.saving.register_keras_serializable(package="memorization")
def dtype_preserving_tanh(x):
    """tanh that stays in float64 on every backend (see `_elementwise`)."""
    return _elementwise("tanh", x)


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")


def kernel_initializer(name: str, seed: int | None):
    """Initializer for a Dense kernel of shape (fan_in, fan_out).

    ``fan_in_uniform`` is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for nn.Linear:
    a variance-scaling uniform law with limit sqrt(3 * scale / fan_in) and scale = 1/3.
    """
    _check_choice("initializer", name, INITIALIZERS)
    if name == "fan_in_uniform":
        return keras.initializers.VarianceScaling(
            scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed
        )
    if name == "glorot_uniform":
        return keras.initializers.GlorotUniform(seed=seed)
    return keras.initializers.Zeros()


def bias_initializer(name: str, fan_in: int, seed: int | None):
    """PyTorch draws biases from the kernel's fan-in bound too; Keras (glorot) starts them at 0."""
    if name == "fan_in_uniform":
        bound = 1.0 / math.sqrt(fan_in)
        return keras.initializers.RandomUniform(-bound, bound, seed=seed)
    return keras.initializers.Zeros()


def activation_layer(nonlinearity: str, negative_slope: float, dtype: str, name: str):
    """The layer applying ``nonlinearity`` elementwise, or None for the identity."""
    if nonlinearity == "linear":
        return None
    if nonlinearity == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, dtype=dtype, name=name)
    function = {"cos_minus_id": cos_minus_id, "tanh": dtype_preserving_tanh}.get(nonlinearity, nonlinearity)
    return keras.layers.Activation(function, dtype=dtype, name=name)


def _check_common(input_dim: int, dtype: str, negative_slope: float) -> None:
    """``dtype`` None means Keras's floatx, which `runtime.configure` sets."""
    if not isinstance(input_dim, int) or input_dim < 1:
        raise ConfigError(f"input_dim must be a positive integer, got {input_dim!r}")
    _check_choice("dtype", dtype, DTYPES)
    if not 0.0 < negative_slope < 1.0:
        raise ConfigError(f"negative_slope must lie in (0, 1) for an invertible leaky ReLU, got {negative_slope}")


def build_mlp(
    input_dim: int,
    width: int,
    depth: int,
    nonlinearity: str = "cos_minus_id",
    use_bias: bool = False,
    initializer: str = "fan_in_uniform",
    seed: int = 0,
    dtype: str | None = None,
    negative_slope: float = 0.01,
) -> keras.Model:
    """Deep autoencoder d -> width x depth -> d.

    ``depth`` hidden Dense layers of ``width`` units, each followed by ``nonlinearity``, then a
    linear Dense layer back to d (depth + 1 weight matrices in all). With ``linear`` the whole
    map is a product of matrices: the contrast for C3.
    """
    dtype = dtype or keras.config.floatx()
    _check_common(input_dim, dtype, negative_slope)
    _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    _check_choice("initializer", initializer, INITIALIZERS)
    for label, value in (("width", width), ("depth", depth)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{label} must be a positive integer, got {value!r}")

    inputs = keras.Input(shape=(input_dim,), dtype=dtype, name="image")
    hidden = inputs
    fan_in = input_dim
    # A seeded Keras initializer repeats its draw on every call, so each layer gets its own seed.
    for layer in range(1, depth + 2):
        is_output = layer == depth + 1
        units = input_dim if is_output else width
        hidden = keras.layers.Dense(
            units,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer(initializer, seed=seed * 1000 + 2 * layer),
            bias_initializer=bias_initializer(initializer, fan_in, seed=seed * 1000 + 2 * layer + 1),
            dtype=dtype,
            name="output" if is_output else f"dense_{layer}",
        )(hidden)
        if not is_output:
            activation = activation_layer(nonlinearity, negative_slope, dtype, f"{nonlinearity}_{layer}")
            if activation is not None:
                hidden = activation(hidden)
        fan_in = units
    name = f"mlp_{nonlinearity}_w{width}_d{depth}"
    return keras.Model(inputs, hidden, name=name)


def build_single_layer(
    input_dim: int,
    nonlinearity: str = "tanh",
    initializer: str = "zeros",
    seed: int = 0,
    dtype: str | None = None,
    negative_slope: float = 0.01,
) -> keras.Model:
    """Single-layer autoencoder f(x) = phi(W x), no bias (C2).

    Gradient descent from W = 0 only adds outer products r_i x_i^T to W, so the row space of
    W stays in span{x_i}: the property C2 measures.
    """
    dtype = dtype or keras.config.floatx()
    _check_common(input_dim, dtype, negative_slope)
    _check_choice("nonlinearity", nonlinearity, SINGLE_LAYER_NONLINEARITIES)
    _check_choice("initializer", initializer, INITIALIZERS)
    inputs = keras.Input(shape=(input_dim,), dtype=dtype, name="image")
    outputs = keras.layers.Dense(
        input_dim,
        use_bias=False,
        kernel_initializer=kernel_initializer(initializer, seed=seed),
        dtype=dtype,
        name="weights",
    )(inputs)
    activation = activation_layer(nonlinearity, negative_slope, dtype, nonlinearity)
    if activation is not None:
        outputs = activation(outputs)
    return keras.Model(inputs, outputs, name=f"single_layer_{nonlinearity}")


def load_model(path) -> keras.Model:
    """Load a saved autoencoder; importing this module registered its custom activations.

    Errors are one line naming the file (see `memorization.models.load_model`)."""
    from memorization.models import load_model as load

    return load(path)
