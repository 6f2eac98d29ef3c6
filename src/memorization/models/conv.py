"""Convolutional autoencoders for the convolutional claims (C6, C7, C8).

Three builders, all mapping images (side, side, channels) to images of the same shape:

- `build_linear_conv`: ``depth`` 1-channel 3x3 convolutions, stride 1, 'same' zero padding,
  no bias, no nonlinearity (C6). Each layer is a banded matrix, so an output pixel depends
  only on inputs within ``depth`` pixels of it.
- `build_downsampling_conv`: ``stages`` stride-2 3x3 convolutions, then ``stages`` blocks of
  2x upsampling + 3x3 convolution, then a 3x3 convolution back to the image channels (C7).
  Linear unless ``nonlinearity`` is given.
- `build_nonlinear_conv`: the same shape with leaky ReLU after every hidden convolution and a
  linear output convolution (C8).

Only keras and keras.ops are used, so the builders work on TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

import keras

from memorization.errors import ConfigError

INITIALIZERS = ("fan_in_uniform", "glorot_uniform", "he_normal", "ones")
DTYPES = ("float32", "float64")
UPSAMPLINGS = ("nearest", "bilinear")
NONLINEARITIES = ("linear", "leaky_relu")
KERNEL_SIZE = 3


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")


def _check_positive_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def conv_initializer(name: str, seed: int | None):
    """Initializer for a conv kernel of shape (3, 3, c_in, c_out).

    ``fan_in_uniform`` is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 9 c_in, PyTorch's
    default for nn.Conv2d. Its variance gain per layer is 1/3, so a deep 1-channel net starts
    close to the zero map, the small-initialisation regime in which deep linear nets are biased
    towards low-rank operators. ``glorot_uniform`` (Keras's default) keeps the signal's scale
    through the layers. ``ones`` makes every operator entry that can be non-zero positive: it
    measures a net's receptive field, never used for training.
    """
    _check_choice("initializer", name, INITIALIZERS)
    if name == "fan_in_uniform":
        return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)
    if name == "glorot_uniform":
        return keras.initializers.GlorotUniform(seed=seed)
    if name == "he_normal":
        return keras.initializers.HeNormal(seed=seed)
    return keras.initializers.Ones()


def _check_common(side: int, channels_in: int, dtype: str, initializer: str) -> None:
    _check_positive_int("side", side)
    _check_positive_int("image channels", channels_in)
    _check_choice("dtype", dtype, DTYPES)
    _check_choice("initializer", initializer, INITIALIZERS)


class _LayerSeeds:
    """A seeded Keras initializer repeats its draw on every call, so each layer gets its own seed."""

    def __init__(self, seed: int | None):
        self.seed = seed
        self.count = 0

    def next(self) -> int | None:
        self.count += 1
        return None if self.seed is None else self.seed * 1000 + self.count


def _conv(filters: int, strides: int, initializer: str, seeds: _LayerSeeds, dtype: str, name: str, use_bias: bool = False):
    return keras.layers.Conv2D(
        filters,
        KERNEL_SIZE,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=conv_initializer(initializer, seeds.next()),
        bias_initializer="zeros",
        dtype=dtype,
        name=name,
    )


def build_linear_conv(
    side: int,
    depth: int,
    *,
    channels_in: int = 1,
    initializer: str = "fan_in_uniform",
    seed: int | None = 0,
    dtype: str = "float64",
) -> keras.Model:
    """``depth`` 3x3 stride-1 convolutions with as many channels as the image, no bias (C6)."""
    _check_common(side, channels_in, dtype, initializer)
    _check_positive_int("depth", depth)
    seeds = _LayerSeeds(seed)
    inputs = keras.Input(shape=(side, side, channels_in), dtype=dtype, name="image")
    hidden = inputs
    for layer in range(1, depth + 1):
        hidden = _conv(channels_in, 1, initializer, seeds, dtype, f"conv_{layer}")(hidden)
    return keras.Model(inputs, hidden, name=f"linear_conv_s{side}_d{depth}")


def encoder_sides(side: int, stages: int) -> list[int]:
    """Feature-map sides after each stride-2 'same' convolution: ceil(side / 2) per stage."""
    sides = [side]
    for _ in range(stages):
        sides.append(-(-sides[-1] // 2))
    return sides


def _crop_to(hidden, target: int, dtype: str, name: str):
    # 2x upsampling of ceil(n/2) overshoots an odd n by one row and column; dropping the last
    # one keeps the decoder's sides equal to the encoder's, so any image side works.
    excess = hidden.shape[1] - target
    if excess == 0:
        return hidden
    return keras.layers.Cropping2D(((0, excess), (0, excess)), dtype=dtype, name=name)(hidden)


def _activation(nonlinearity: str, negative_slope: float, dtype: str, name: str):
    if nonlinearity == "linear":
        return None
    return keras.layers.LeakyReLU(negative_slope=negative_slope, dtype=dtype, name=name)


def build_downsampling_conv(
    side: int,
    stages: int,
    channels: int,
    *,
    channels_in: int = 1,
    upsampling: str = "nearest",
    nonlinearity: str = "linear",
    negative_slope: float = 0.01,
    use_bias: bool = False,
    initializer: str = "fan_in_uniform",
    seed: int | None = 0,
    dtype: str = "float64",
) -> keras.Model:
    """Encoder of ``stages`` stride-2 3x3 convs, decoder of ``stages`` (2x upsampling + 3x3 conv).

    All hidden convolutions have ``channels`` channels; a final 3x3 convolution, always linear,
    maps back to ``channels_in``. With ``stages`` = ceil(log2(side)) the bottleneck is 1 x 1.
    The net has 2 * stages + 1 convolutions.
    """
    _check_common(side, channels_in, dtype, initializer)
    _check_positive_int("stages", stages)
    _check_positive_int("channels", channels)
    _check_choice("upsampling", upsampling, UPSAMPLINGS)
    _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity != "linear" and not 0.0 <= negative_slope < 1.0:
        raise ConfigError(f"negative_slope must lie in [0, 1), got {negative_slope}")
    sides = encoder_sides(side, stages)
    seeds = _LayerSeeds(seed)
    inputs = keras.Input(shape=(side, side, channels_in), dtype=dtype, name="image")
    hidden = inputs
    for stage in range(1, stages + 1):
        hidden = _conv(channels, 2, initializer, seeds, dtype, f"down_{stage}", use_bias)(hidden)
        activation = _activation(nonlinearity, negative_slope, dtype, f"down_{stage}_act")
        if activation is not None:
            hidden = activation(hidden)
    for stage in range(1, stages + 1):
        hidden = keras.layers.UpSampling2D(2, interpolation=upsampling, dtype=dtype, name=f"up_{stage}_resize")(hidden)
        hidden = _crop_to(hidden, sides[stages - stage], dtype, f"up_{stage}_crop")
        hidden = _conv(channels, 1, initializer, seeds, dtype, f"up_{stage}", use_bias)(hidden)
        activation = _activation(nonlinearity, negative_slope, dtype, f"up_{stage}_act")
        if activation is not None:
            hidden = activation(hidden)
    outputs = _conv(channels_in, 1, initializer, seeds, dtype, "output", use_bias)(hidden)
    kind = "linear" if nonlinearity == "linear" else nonlinearity
    return keras.Model(inputs, outputs, name=f"{kind}_downsampling_conv_s{side}_k{stages}_c{channels}")


def build_nonlinear_conv(
    side: int,
    stages: int,
    channels: int,
    *,
    channels_in: int = 3,
    upsampling: str = "bilinear",
    negative_slope: float = 0.01,
    use_bias: bool = False,
    initializer: str = "fan_in_uniform",
    seed: int | None = 0,
    dtype: str = "float32",
) -> keras.Model:
    """The C8 autoencoder: leaky ReLU after every hidden convolution, linear output convolution."""
    return build_downsampling_conv(
        side,
        stages,
        channels,
        channels_in=channels_in,
        upsampling=upsampling,
        nonlinearity="leaky_relu",
        negative_slope=negative_slope,
        use_bias=use_bias,
        initializer=initializer,
        seed=seed,
        dtype=dtype,
    )


def conv_layer_count(model: keras.Model) -> int:
    """Number of convolutions in a model: the depth plotted for every conv architecture."""
    return sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
