"""Small linear-algebra facts the claims are stated in: projectors, spectra."""

from __future__ import annotations

import numpy as np


def span_projector(examples: np.ndarray, rtol: float | None = None) -> np.ndarray:
    """Orthogonal projector P_X onto the span of the examples, given one example per row.

    Built from an SVD rather than ``X X^+`` written out, so that nearly dependent examples
    do not blow up rounding errors; singular values below ``rtol * s_max`` count as zero.
    """
    examples = np.asarray(examples, dtype=np.float64)
    _, singular_values, right = np.linalg.svd(examples, full_matrices=False)
    if rtol is None:
        rtol = max(examples.shape) * np.finfo(np.float64).eps
    rank = int((singular_values > rtol * singular_values.max()).sum()) if singular_values.size else 0
    basis = right[:rank]
    return basis.T @ basis


def spectral_radius(matrix: np.ndarray) -> float:
    """Largest absolute eigenvalue."""
    return float(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=np.float64))).max())


def top_singular_value(matrix: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(matrix, dtype=np.float64), ord=2))


def relative_frobenius_distance(matrix: np.ndarray, reference: np.ndarray, scale: np.ndarray | None = None) -> float:
    """||matrix - reference||_F / ||scale||_F (scale defaults to reference)."""
    scale = reference if scale is None else scale
    return float(np.linalg.norm(matrix - reference) / np.linalg.norm(scale))


def residual_outside_span(vectors: np.ndarray, projector: np.ndarray) -> np.ndarray:
    """||(I - P) v|| / ||v|| for each row v; NaN where v is zero."""
    vectors = np.asarray(vectors, dtype=np.float64)
    outside = vectors - vectors @ projector.T
    norms = np.linalg.norm(vectors, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.linalg.norm(outside, axis=1) / norms


def gd_convergence_rate(gram_eigenvalues: np.ndarray) -> tuple[float, float]:
    """Optimal fixed step for gradient descent on a quadratic with these curvatures.

    Returns (step, rate): the step 2 / (l_max + l_min) contracts the error on the span by
    the factor (kappa - 1) / (kappa + 1) per step, kappa = l_max / l_min.
    """
    positive = gram_eigenvalues[gram_eigenvalues > gram_eigenvalues.max() * 1e-12]
    l_max, l_min = float(positive.max()), float(positive.min())
    return 2.0 / (l_max + l_min), (l_max - l_min) / (l_max + l_min)
