"""Single-layer linear autoencoder f(x) = W x (claim C1)."""

from __future__ import annotations

import keras
import numpy as np


def linear_autoencoder(dim: int, initial_kernel: np.ndarray | None = None) -> keras.Model:
    """f(x) = W x with no bias. Keras stores the kernel K with f(x) = x K, so W = K^T.

    ``initial_kernel`` (d x d, in Keras's layout) sets W0; None means W0 = 0.
    """
    inputs = keras.Input(shape=(dim,), name="image")
    outputs = keras.layers.Dense(dim, use_bias=False, kernel_initializer="zeros", name="W")(inputs)
    model = keras.Model(inputs, outputs, name="linear_autoencoder")
    if initial_kernel is not None:
        model.get_layer("W").set_weights([initial_kernel])
    return model


def weight_matrix(model: keras.Model) -> np.ndarray:
    """W in the paper's convention f(x) = W x."""
    return np.asarray(model.get_layer("W").get_weights()[0], dtype=np.float64).T
