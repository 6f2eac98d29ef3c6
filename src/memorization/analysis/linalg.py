"""Small linear-algebra facts the claims are stated in: projectors, spectra."""

from __future__ import annotations

import numpy as np

from memorization.analysis.span import span_basis
from memorization.errors import MemorizationError


def span_projector(examples: np.ndarray, rtol: float | None = None) -> np.ndarray:
    """Orthogonal projector P_X onto the span of the examples, given one example per row.

    B^T B for the orthonormal basis B of `memorization.analysis.span.span_basis` (an SVD rather
    than ``X X^+`` written out, so nearly dependent examples do not blow up rounding errors), so
    the projector and every projection of points share one rank rule: singular values below
    ``rtol * s_max`` count as zero.
    """
    basis = span_basis(examples, rtol)
    return basis.T @ basis


def spectral_radius(matrices) -> np.ndarray | float:
    """Largest |eigenvalue| of a square matrix (a float), or of each matrix in a stack (..., d, d)."""
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.ndim < 2 or matrices.shape[-1] != matrices.shape[-2]:
        raise MemorizationError(f"spectral_radius needs square matrices, got shape {matrices.shape}")
    radius = np.max(np.abs(np.linalg.eigvals(matrices)), axis=-1)
    return float(radius) if radius.ndim == 0 else radius


def top_singular_value(matrices) -> np.ndarray | float:
    """Largest singular value (operator 2-norm) of a matrix (a float) or of each matrix in a stack."""
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.ndim < 2:
        raise MemorizationError(f"top_singular_value needs matrices, got shape {matrices.shape}")
    value = np.linalg.norm(matrices, ord=2, axis=(-2, -1))
    return float(value) if np.ndim(value) == 0 else value


def relative_frobenius_distance(matrix: np.ndarray, reference: np.ndarray, scale: np.ndarray | None = None) -> float:
    """||matrix - reference||_F / ||scale||_F (scale defaults to reference)."""
    scale = reference if scale is None else scale
    return float(np.linalg.norm(matrix - reference) / np.linalg.norm(scale))


def gd_convergence_rate(gram_eigenvalues: np.ndarray) -> tuple[float, float]:
    """Optimal fixed step for gradient descent on a quadratic with these curvatures.

    Returns (step, rate): the step 2 / (l_max + l_min) contracts the error on the span by
    the factor (kappa - 1) / (kappa + 1) per step, kappa = l_max / l_min.
    """
    positive = gram_eigenvalues[gram_eigenvalues > gram_eigenvalues.max() * 1e-12]
    l_max, l_min = float(positive.max()), float(positive.min())
    return 2.0 / (l_max + l_min), (l_max - l_min) / (l_max + l_min)
