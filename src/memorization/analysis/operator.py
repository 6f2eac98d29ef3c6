"""The end-to-end matrix of a linear network and the memorization statistics read off it (C6, C7).

A linear autoencoder f on images of shape (h, w, c) is the matrix A (d x d, d = h w c) with
f(z) = A z for the row-major flattening z of an image. Column j of A is f(e_j) for the j-th
basis image e_j. Memorization of training images X = [x_1 .. x_n] means that the top n
eigenvectors of A lie in span X (for n = 1: the top eigenvector is the image itself). All
functions here are pure: a callable or arrays in, numbers out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from memorization.analysis.span import span_basis
from memorization.errors import ConfigError

ImageFunction = Callable[[np.ndarray], np.ndarray]


def model_function(model, batch_size: int = 256) -> ImageFunction:
    """Numpy view of a Keras model: a batch of images in the model's dtype in, float64 out."""
    import keras

    dtype = keras.backend.standardize_dtype(model.inputs[0].dtype)

    def apply(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=dtype)
        outputs = [
            keras.ops.convert_to_numpy(model(images[start : start + batch_size], training=False))
            for start in range(0, len(images), batch_size)
        ]
        return np.concatenate(outputs).astype(np.float64)

    return apply


def _check_shape(image_shape) -> tuple[int, ...]:
    shape = tuple(int(size) for size in image_shape)
    if not shape or any(size < 1 for size in shape):
        raise ConfigError(f"image_shape must be a tuple of positive sizes, got {image_shape!r}")
    return shape


def extract_operator(apply: ImageFunction, image_shape) -> np.ndarray:
    """The d x d matrix A of a linear map, column j = f(e_j) flattened (row-major, like x.ravel())."""
    shape = _check_shape(image_shape)
    d = math.prod(shape)
    basis = np.eye(d).reshape((d, *shape))
    outputs = np.asarray(apply(basis), dtype=np.float64).reshape(d, -1)
    if outputs.shape[1] != d:
        raise ConfigError(f"the map sends images of shape {shape} to {outputs.shape[1]} values, not {d}")
    return outputs.T.copy()


@dataclass(frozen=True)
class LinearityCheck:
    max_relative_error: float
    tolerance: float

    @property
    def is_linear(self) -> bool:
        return self.max_relative_error <= self.tolerance


def default_linearity_tolerance(dtype) -> float:
    """1e4 machine epsilons: rounding through a few dozen layers, far below any nonlinearity."""
    return 1e4 * float(np.finfo(np.dtype(dtype)).eps)


def check_linearity(
    apply: ImageFunction,
    image_shape,
    *,
    dtype="float64",
    trials: int = 4,
    tolerance: float | None = None,
    seed: int = 0,
) -> LinearityCheck:
    """Compare f(a u + b v) with a f(u) + b f(v) for random images u, v and random scalars a, b.

    a and b are drawn with random signs and a + b != 1, so affine maps (a bias), positively
    homogeneous maps (ReLU-like nets) and every other nonlinear map fail. The error is relative
    to the size of both sides.
    """
    shape = _check_shape(image_shape)
    if trials < 1:
        raise ConfigError(f"trials must be >= 1, got {trials}")
    tolerance = default_linearity_tolerance(dtype) if tolerance is None else float(tolerance)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((trials, *shape))
    v = rng.standard_normal((trials, *shape))
    a = rng.uniform(0.5, 2.0, trials) * rng.choice([-1.0, 1.0], trials)
    b = rng.uniform(0.5, 2.0, trials) * rng.choice([-1.0, 1.0], trials)
    scale = (slice(None),) + (None,) * len(shape)
    # Rounding the inputs to the model's dtype first makes both sides see the same numbers.
    u, v = (array.astype(dtype).astype(np.float64) for array in (u, v))
    mixed = (a[scale] * u + b[scale] * v).astype(dtype)
    outputs = np.asarray(apply(np.concatenate([mixed, u.astype(dtype), v.astype(dtype)])), dtype=np.float64)
    f_mixed, f_u, f_v = outputs[:trials], outputs[trials : 2 * trials], outputs[2 * trials :]
    combined = a[scale] * f_u + b[scale] * f_v
    difference = np.linalg.norm((f_mixed - combined).reshape(trials, -1), axis=1)
    size = np.linalg.norm(f_mixed.reshape(trials, -1), axis=1) + np.linalg.norm(combined.reshape(trials, -1), axis=1)
    relative = np.where(size > 0, difference / np.where(size > 0, size, 1.0), 0.0)
    return LinearityCheck(max_relative_error=float(relative.max()), tolerance=tolerance)


@dataclass(frozen=True)
class EigenDecomposition:
    """Eigenvalues sorted by decreasing modulus; ``vectors[:, i]`` belongs to ``values[i]``."""

    values: np.ndarray
    vectors: np.ndarray


def eigen_decomposition(matrix: np.ndarray) -> EigenDecomposition:
    """Eigenpairs of a square (generally non-symmetric) matrix, largest |eigenvalue| first.

    Eigenvectors are unit length (as `np.linalg.eig` returns them); the arrays are real when every
    eigenvalue is, and a complex pair keeps its complex vectors.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ConfigError(f"an operator must be a square matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ConfigError("the operator has non-finite entries: the network diverged")
    values, vectors = np.linalg.eig(matrix)
    order = np.lexsort((-values.real, -np.abs(values)))
    return EigenDecomposition(values=values[order], vectors=vectors[:, order])


def _as_columns(images: np.ndarray) -> np.ndarray:
    """Training images (n, ...) as the columns of a d x n matrix."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2:
        raise ConfigError(f"images must be an array (n, ...) of n >= 1 images, got shape {images.shape}")
    return images.reshape(len(images), -1).T


def span_alignment(vectors: np.ndarray, images: np.ndarray) -> np.ndarray:
    """||P_X v|| / ||v|| for each column v of ``vectors``: the cosine of its angle to span X.

    For one image this is |cos(v, x)|. Complex vectors are handled (real and imaginary parts
    are projected alike).
    """
    columns = _as_columns(images)
    vectors = np.asarray(vectors)
    if vectors.ndim == 1:
        vectors = vectors[:, None]
    if vectors.shape[0] != columns.shape[0]:
        raise ConfigError(f"vectors have {vectors.shape[0]} entries but images have {columns.shape[0]} pixels")
    basis = span_basis(columns.T).T  # d x rank, orthonormal columns
    projected = basis @ (basis.T @ vectors)
    norms = np.linalg.norm(vectors, axis=0)
    alignment = np.linalg.norm(projected, axis=0) / np.where(norms > 0, norms, 1.0)
    return np.clip(alignment, 0.0, 1.0)


@dataclass(frozen=True)
class OperatorSummary:
    """Memorization statistics of a linear operator A trained on n images."""

    top_eigenvalues: np.ndarray  # the n + 1 largest by modulus (complex where A has a complex pair)
    alignments: np.ndarray  # span alignment of each of the top n eigenvectors
    next_eigenvalue_modulus: float  # |lambda_{n+1}|: 0 for a clean rank-n projector
    fixed_point_residual: float  # max_i ||A x_i - x_i|| / ||x_i||: 0 when A interpolates

    @property
    def min_alignment(self) -> float:
        return float(self.alignments.min())


def summarize_operator(matrix: np.ndarray, images: np.ndarray) -> OperatorSummary:
    """Eigen-decompose A and measure how well its top n eigenvectors lie in span of the n images."""
    columns = _as_columns(images)
    n = columns.shape[1]
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (columns.shape[0], columns.shape[0]):
        raise ConfigError(f"operator of shape {matrix.shape} does not act on images of {columns.shape[0]} pixels")
    eigen = eigen_decomposition(matrix)
    top = eigen.vectors[:, :n]
    alignments = span_alignment(top, columns.T)
    residual = np.linalg.norm(matrix @ columns - columns, axis=0) / np.linalg.norm(columns, axis=0)
    following = float(np.abs(eigen.values[n])) if len(eigen.values) > n else 0.0
    return OperatorSummary(
        top_eigenvalues=eigen.values[: n + 1],
        alignments=alignments,
        next_eigenvalue_modulus=following,
        fixed_point_residual=float(residual.max()),
    )


def is_memorized(alignment, alignment_threshold: float, linear=True):
    """Memorization: every one of the top n eigenvectors lies in span X up to the threshold, and
    the net is linear (only then is its operator the map it computes).

    ``alignment`` is an `OperatorSummary` (its smallest alignment is used) or the smallest
    alignment of each of several runs; ``linear`` is one flag or one per run. Returns a bool, or
    an array of them for several runs; a NaN alignment never memorizes.
    """
    if not 0.0 < alignment_threshold <= 1.0:
        raise ConfigError(f"alignment_threshold must lie in (0, 1], got {alignment_threshold}")
    smallest = alignment.min_alignment if isinstance(alignment, OperatorSummary) else np.asarray(alignment, float)
    memorized = (smallest > alignment_threshold) & np.asarray(linear, dtype=bool)
    return bool(memorized) if np.ndim(memorized) == 0 else memorized


def noise_alignment(matrix: np.ndarray, images: np.ndarray, *, samples: int = 100, seed: int = 0) -> np.ndarray:
    """span alignment of A z for standard normal z, one value per sample.

    Zero-mean noise makes the identity-map baseline ~sqrt(n / d), not the large cosine that
    positive noise and positive images share; a memorizing operator gives ~1.
    """
    columns = _as_columns(images)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((columns.shape[0], samples))
    return span_alignment(np.asarray(matrix, dtype=np.float64) @ noise, columns.T)


def stride1_receptive_field_depth(side: int, kernel_size: int = 3) -> int:
    """Smallest depth of stride-1 k x k convolutions whose output pixels all see the whole image.

    Each layer widens the receptive field by (k - 1) / 2 pixels per side; the opposite corner of a
    side-s image is s - 1 pixels away, so depth ceil((s - 1) / ((k - 1) / 2)) (s - 1 for 3x3).
    Below it A has structural zeros and cannot be the dense projector x x^T / ||x||^2.
    """
    if side < 1 or kernel_size < 3 or kernel_size % 2 == 0:
        raise ConfigError(f"need side >= 1 and an odd kernel_size >= 3, got {side}, {kernel_size}")
    return max(1, math.ceil((side - 1) / ((kernel_size - 1) // 2)))


def covers_image(matrix: np.ndarray) -> bool:
    """True when every output pixel depends on every input pixel (no structural zero in A).

    Meant for an operator built with all-ones kernels, where no entry cancels by chance.
    """
    return bool(np.all(np.abs(np.asarray(matrix)) > 0))


def minimal_memorizing_depth(depths: Iterable[int], memorized: Iterable[bool], *, stable: bool = False) -> int | None:
    """L*: the smallest depth whose net memorized, or None when no tested depth did.

    With ``stable`` the depth must also be followed by memorization at every larger tested
    depth, which discounts an isolated lucky run.
    """
    pairs = sorted(zip(depths, memorized, strict=True))
    if not pairs:
        raise ConfigError("minimal_memorizing_depth needs at least one (depth, memorized) result")
    sorted_depths = [depth for depth, _ in pairs]
    if len(set(sorted_depths)) != len(sorted_depths):
        raise ConfigError(f"each depth must appear once, got {sorted_depths}")
    if not stable:
        return next((depth for depth, flag in pairs if flag), None)
    for start, (depth, _) in enumerate(pairs):
        if all(flag for _, flag in pairs[start:]):
            return depth
    return None


def minimal_memorizing_depths(results, *, group_by=("side", "seed"), depth="depth", memorized="memorized", stable=False):
    """L* for each group of a table of runs: a DataFrame with the group columns and ``l_star``.

    ``l_star`` is NaN where no tested depth memorized, and ``max_depth_tested`` says how far
    the sweep went, so "not reached" is never mistaken for a number.
    """
    import pandas as pd

    frame = pd.DataFrame(results)
    missing = [column for column in (*group_by, depth, memorized) if column not in frame.columns]
    if missing:
        raise ConfigError(f"results lack the column(s) {', '.join(missing)}")
    rows = []
    for key, group in frame.groupby(list(group_by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        l_star = minimal_memorizing_depth(group[depth].tolist(), group[memorized].astype(bool).tolist(), stable=stable)
        rows.append(
            {
                **dict(zip(group_by, key)),
                "l_star": float("nan") if l_star is None else l_star,
                "max_depth_tested": int(group[depth].max()),
            }
        )
    return pd.DataFrame(rows)
