"""Basins of attraction around the training examples (C10).

A noisy copy x_i + N(0, s^2 I) *returns* when iterating f from it ends within RMS distance eps
of x_i itself (not of another example). The basin radius of x_i is the largest noise level s of
the grid such that at that level and at every smaller one at least ``level`` of the copies
return: a basin is a neighbourhood of x_i, so a lucky return at a large s after failures at
smaller ones is not counted. The noise is not clipped to the image range.
"""

from __future__ import annotations

import numpy as np

from memorization.analysis.iteration import iterate_to_fixed_point, rms_distance
from memorization.errors import MemorizationError


def return_probability(
    apply,
    examples,
    noise_levels,
    copies: int,
    max_steps: int,
    tol: float,
    eps: float,
    seed: int = 0,
) -> np.ndarray:
    """Fraction of ``copies`` noisy copies of each example that return to it, per noise level.

    Returns an array (len(noise_levels), n). All copies of all examples at one level are iterated
    as one batch.
    """
    examples = np.asarray(examples, dtype=np.float64)
    noise_levels = np.asarray(noise_levels, dtype=np.float64)
    if examples.ndim != 2 or copies < 1:
        raise MemorizationError(f"need examples (n, d) and copies >= 1, got {examples.shape} and {copies}")
    if np.any(noise_levels < 0):
        raise MemorizationError("noise levels must be >= 0")
    rng = np.random.default_rng(seed)
    count = len(examples)
    owners = np.repeat(np.arange(count), copies)
    probability = np.zeros((len(noise_levels), count))
    for row, level in enumerate(noise_levels):
        starts = examples[owners] + level * rng.standard_normal((len(owners), examples.shape[1]))
        result = iterate_to_fixed_point(apply, starts, max_steps=max_steps, tol=tol)
        returned = ~result.diverged & (rms_distance(result.final, examples[owners]) < eps)
        probability[row] = returned.reshape(count, copies).mean(axis=1)
    return probability


def basin_radius(noise_levels, probability, level: float = 0.9) -> np.ndarray | float:
    """Largest noise level up to which every level of the grid has return probability >= level.

    ``probability`` is (len(noise_levels),) or (len(noise_levels), n); the grid is sorted first.
    An example that fails already at the smallest level gets radius 0.
    """
    noise_levels = np.asarray(noise_levels, dtype=np.float64)
    probability = np.asarray(probability, dtype=np.float64)
    if probability.shape[0] != noise_levels.shape[0]:
        raise MemorizationError(
            f"probability has {probability.shape[0]} rows but there are {noise_levels.shape[0]} noise levels"
        )
    order = np.argsort(noise_levels)
    noise_levels = noise_levels[order]
    probability = probability[order]
    passing = np.cumprod(probability >= level, axis=0).astype(bool)
    grid = noise_levels.reshape((-1,) + (1,) * (probability.ndim - 1))
    radius = np.max(np.where(passing, grid, 0.0), axis=0)
    return float(radius) if np.ndim(radius) == 0 else radius
