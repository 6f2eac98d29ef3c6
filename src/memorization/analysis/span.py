"""Projections onto the span of the training examples, and the C2 (nonlinear span) statistics.

Convention: data sets are arrays of ROWS, X of shape (n, d), one flattened image per row, as
everywhere in this package. span{x_i} is the row space of X. The d x d projector P_X (the paper's
X X^+ with X's columns the examples) is `memorization.analysis.linalg.span_projector`; here points
are projected through an orthonormal basis instead, which never forms a d x d matrix.
"""

from __future__ import annotations

import numpy as np

from memorization.errors import MemorizationError


def _rows(array, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise MemorizationError(f"{name} must be a 2-D array of rows (n, d), got shape {array.shape}")
    return array


def span_basis(examples, rtol: float | None = None) -> np.ndarray:
    """Orthonormal basis (k, d) of span{rows of examples}; k is the numerical rank.

    Singular values below ``rtol * s_max`` count as zero (default max(n, d) * machine epsilon).
    The d x d projector `linalg.span_projector` is built from this basis, so both share the rule.
    """
    examples = _rows(examples, "examples")
    if examples.size == 0:
        return np.zeros((0, examples.shape[1]))
    _, singular, vt = np.linalg.svd(examples, full_matrices=False)
    if rtol is None:
        rtol = max(examples.shape) * np.finfo(np.float64).eps
    rank = int(np.sum(singular > rtol * singular[0])) if singular[0] > 0 else 0
    return vt[:rank]


def project_onto_span(points, examples, rtol: float | None = None) -> np.ndarray:
    """P_X z for each row z of ``points``, without forming the d x d projector."""
    points = _rows(points, "points")
    basis = span_basis(examples, rtol)
    return (points @ basis.T) @ basis


def relative_norm(difference, reference) -> np.ndarray:
    """Row-wise ||difference|| / ||reference||, 0 where both are 0."""
    difference = _rows(difference, "difference")
    reference = _rows(reference, "reference")
    top = np.linalg.norm(difference, axis=1)
    bottom = np.linalg.norm(reference, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(top == 0.0, 0.0, top / bottom)


def span_residual(points, examples, rtol: float | None = None) -> np.ndarray:
    """||(I - P_X) z|| / ||z|| for each row z: 0 inside the span, 1 orthogonal to it."""
    points = _rows(points, "points")
    return relative_norm(points - project_onto_span(points, examples, rtol), points)


def projection_gap(apply, points, examples, rtol: float | None = None) -> np.ndarray:
    """||f(z) - f(P_X z)|| / ||f(z)|| for each row z; 0 when f only sees the span of X."""
    points = _rows(points, "points")
    outputs = np.asarray(apply(points), dtype=np.float64)
    projected = np.asarray(apply(project_onto_span(points, examples, rtol)), dtype=np.float64)
    return relative_norm(outputs - projected, outputs)


def inverse_nonlinearity(name: str, negative_slope: float = 0.01):
    """phi^-1 for the invertible single-layer nonlinearities, as a numpy function.

    tanh and sigmoid are inverted only on their open ranges (-1, 1) and (0, 1); outside them the
    result is +-inf or nan, which the statistics below report instead of hiding.
    """
    if name == "tanh":
        return np.arctanh
    if name == "sigmoid":
        return lambda y: np.log(y) - np.log1p(-y)
    if name == "leaky_relu":
        return lambda y: np.where(y >= 0.0, y, y / negative_slope)
    if name == "linear":
        return lambda y: np.asarray(y, dtype=np.float64)
    raise MemorizationError(f"no inverse for nonlinearity {name!r}; use tanh, sigmoid, leaky_relu or linear")


def nonlinear_span_residual(outputs, examples, inverse, rtol: float | None = None) -> np.ndarray:
    """Residual of phi^-1(f(z)) outside span{phi^-1(x_i)}, relative to ||phi^-1(f(z))||.

    For f(x) = phi(W x) trained from W = 0 to interpolation, W z = W P_X z is a combination of
    W x_i = phi^-1(x_i), so this is 0 up to the training error.
    """
    outputs = _rows(outputs, "outputs")
    examples = _rows(examples, "examples")
    with np.errstate(all="ignore"):
        pre_outputs = np.asarray(inverse(outputs), dtype=np.float64)
        pre_examples = np.asarray(inverse(examples), dtype=np.float64)
    if not np.all(np.isfinite(pre_examples)):
        raise MemorizationError(
            "phi^-1 of a training example is not finite: rescale the images into phi's open range"
        )
    finite = np.all(np.isfinite(pre_outputs), axis=1)
    residual = np.full(len(outputs), np.nan)
    if finite.any():
        kept = pre_outputs[finite]
        residual[finite] = span_residual(kept, pre_examples, rtol)
    return residual
