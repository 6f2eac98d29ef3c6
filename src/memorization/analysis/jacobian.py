"""Exact input-output Jacobians through the active backend's autodiff, and their spectra.

`input_jacobians` works on TensorFlow, JAX and PyTorch. It differentiates the sum over the batch
of the outputs with respect to the batch of inputs: for a map that treats every row on its own
(any MLP or autoencoder without batch statistics), d(sum_b f(x_b))/d x_b = J_f(x_b), so one
reverse-mode Jacobian of a (d_out,)-valued function gives every point's Jacobian at once.
"""

from __future__ import annotations

import numpy as np

from memorization.errors import MemorizationError
# The spectra of the Jacobians are computed by the one implementation in `linalg`; importing
# them from here keeps the callers' `from memorization.analysis.jacobian import ...` working.
from memorization.analysis.linalg import spectral_radius, top_singular_value  # noqa: F401


def _model_dtype(model, points: np.ndarray) -> str:
    dtype = getattr(model, "compute_dtype", None) or getattr(model, "dtype", None)
    if isinstance(dtype, str) and dtype.startswith("float"):
        return dtype
    return str(points.dtype) if np.issubdtype(points.dtype, np.floating) else "float32"


def _batch_jacobian(model, batch, backend: str) -> np.ndarray:
    """Jacobian of every row's output with respect to that row's input: (B, d_out, d_in)."""
    import keras

    inputs = keras.ops.convert_to_tensor(batch)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = model(inputs)
        return tape.batch_jacobian(outputs, inputs).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        summed = jax.jacrev(lambda rows: jnp.sum(model(rows), axis=0))(inputs)
        return np.transpose(np.asarray(summed), (1, 0, 2))
    if backend == "torch":
        import torch

        summed = torch.autograd.functional.jacobian(
            lambda rows: torch.sum(model(rows), dim=0), inputs, vectorize=True
        )
        return np.transpose(summed.detach().cpu().numpy(), (1, 0, 2))
    raise MemorizationError(f"no Jacobian implementation for the Keras backend {backend!r}")


def input_jacobians(model, points, batch_size: int = 16) -> np.ndarray:
    """Jacobians J_f(x) of ``model`` at each row of ``points``: array (B, d_out, d_in).

    ``model`` is a Keras model or any callable on backend tensors of shape (B, d_in) whose rows
    do not interact. Points are cast to the model's float dtype; the result is float64.
    """
    import keras

    points = np.asarray(points)
    if points.ndim != 2:
        raise MemorizationError(f"points must be a 2-D array (B, d), got shape {points.shape}")
    backend = keras.backend.backend()
    dtype = _model_dtype(model, points)
    blocks = []
    for start in range(0, len(points), batch_size):
        batch = points[start : start + batch_size].astype(dtype)
        blocks.append(_batch_jacobian(model, batch, backend).astype(np.float64))
    if not blocks:
        return np.zeros((0, 0, points.shape[1]))
    return np.concatenate(blocks, axis=0)
