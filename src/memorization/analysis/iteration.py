"""Iterating a trained map z -> f(z), and what its iterates end at.

Distances are root-mean-square over coordinates, ||a - b|| / sqrt(d), so tolerances mean the
same for 784 MNIST pixels and 3072 CIFAR values (images in [0, 1]). Iteration can blow up:
a non-finite or huge iterate marks that start as diverged; it never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memorization.errors import MemorizationError


def rms_distance(a, b) -> np.ndarray:
    """Row-wise root-mean-square distance between arrays of shape (B, d)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.sqrt(np.mean((a - b) ** 2, axis=-1))


def as_numpy_map(model, batch_size: int = 256):
    """Wrap a Keras model (or a callable on backend tensors) as a map numpy (B, d) -> numpy (B, d)."""
    import keras

    dtype = getattr(model, "compute_dtype", None) or "float32"
    predict = getattr(model, "predict_on_batch", None)

    def apply(points):
        points = np.asarray(points, dtype=dtype)
        outputs = []
        for start in range(0, len(points), batch_size):
            batch = points[start : start + batch_size]
            if predict is not None:
                outputs.append(np.asarray(predict(batch)))
            else:
                outputs.append(keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(batch))))
        return np.concatenate(outputs, axis=0) if outputs else points.copy()

    return apply


def fixed_point_errors(apply, points) -> np.ndarray:
    """RMS distance ||f(x) - x|| / sqrt(d) for each row x of ``points``; ``apply`` maps numpy to numpy."""
    points = np.asarray(points)
    return rms_distance(apply(points), points)


def attractor_mask(fixed_point_error, radius, fixed_point_tol: float, radius_margin: float = 1e-3) -> np.ndarray:
    """True where a point is (numerically) fixed and locally contractive.

    Fixed: RMS error ||f(x) - x|| / sqrt(d) < ``fixed_point_tol``. Contractive:
    rho(J_f(x)) < 1 - ``radius_margin``; the margin keeps maps with rho = 1 exactly (linear nets,
    bias-free leaky ReLU nets, which are positively homogeneous so J_f(x) x = f(x) = x) from
    counting as attractors through float32 rounding of their eigenvalues.
    """
    fixed_point_error = np.asarray(fixed_point_error, dtype=np.float64)
    radius = np.asarray(radius, dtype=np.float64)
    return (fixed_point_error < fixed_point_tol) & (radius < 1.0 - radius_margin)


def attractor_fraction(fixed_point_error, radius, fixed_point_tol: float, radius_margin: float = 1e-3) -> float:
    """Fraction of points that `attractor_mask` counts as attractors (NaN for no points)."""
    mask = attractor_mask(fixed_point_error, radius, fixed_point_tol, radius_margin)
    return float(mask.mean()) if mask.size else float("nan")


@dataclass
class IterationResult:
    """Where each start ended after iterating f.

    ``final`` is the last finite iterate; ``steps`` counts applications of f; ``converged`` means
    ||f(z) - z|| < tol was reached; ``diverged`` means an iterate was non-finite or beyond the
    divergence bound. ``snapshots`` holds the iterates at ``snapshot_steps`` (step 0 is the start),
    shape (len(snapshot_steps), B, d); a start that stopped early keeps its last iterate.
    """

    final: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    diverged: np.ndarray
    last_step_size: np.ndarray
    snapshot_steps: tuple[int, ...]
    snapshots: np.ndarray


def iterate_to_fixed_point(
    apply,
    starts,
    max_steps: int,
    tol: float,
    divergence_bound: float = 1e6,
    snapshot_steps=(),
) -> IterationResult:
    """Iterate z <- f(z) from each row of ``starts`` for at most ``max_steps`` steps.

    A start stops when the RMS step ||f(z) - z|| / sqrt(d) falls below ``tol`` (converged), or
    when f(z) is non-finite or its RMS size exceeds ``divergence_bound`` (diverged). Starts that
    have stopped are not evaluated again, so the cost shrinks as starts settle.
    """
    if max_steps < 0:
        raise MemorizationError(f"max_steps must be >= 0, got {max_steps}")
    current = np.array(starts, dtype=np.float64)
    if current.ndim != 2:
        raise MemorizationError(f"starts must be a 2-D array (B, d), got shape {current.shape}")
    count = len(current)
    steps = np.zeros(count, dtype=np.int64)
    converged = np.zeros(count, dtype=bool)
    diverged = ~np.all(np.isfinite(current), axis=1)
    last_step = np.full(count, np.nan)
    snapshot_steps = tuple(sorted(int(step) for step in snapshot_steps))
    snapshots = np.zeros((len(snapshot_steps), count, current.shape[1]))
    for slot, step in enumerate(snapshot_steps):
        if step == 0:
            snapshots[slot] = current

    for step in range(1, max_steps + 1):
        active = np.flatnonzero(~converged & ~diverged)
        if active.size == 0:
            break
        with np.errstate(all="ignore"):
            mapped = np.asarray(apply(current[active]), dtype=np.float64)
            size = np.sqrt(np.mean(mapped**2, axis=1))
            step_size = rms_distance(mapped, current[active])
        blown = ~np.all(np.isfinite(mapped), axis=1) | ~(size <= divergence_bound)
        diverged[active[blown]] = True
        kept = active[~blown]
        current[kept] = mapped[~blown]
        steps[kept] = step
        last_step[kept] = step_size[~blown]
        converged[kept[step_size[~blown] < tol]] = True
        for slot, snap in enumerate(snapshot_steps):
            if snap == step:
                snapshots[slot] = current
    # Starts that stopped before a later snapshot keep their last iterate there.
    for slot, snap in enumerate(snapshot_steps):
        stopped = steps < snap
        snapshots[slot][stopped] = current[stopped]
    return IterationResult(current, steps, converged, diverged, last_step, snapshot_steps, snapshots)


def nearest_examples(points, examples) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest row of ``examples`` to each row of ``points`` and its RMS distance."""
    points = np.asarray(points, dtype=np.float64)
    examples = np.asarray(examples, dtype=np.float64)
    # ||p - e||^2 = ||p||^2 - 2 p.e + ||e||^2; ||p||^2 is the same for every example, so the
    # argmin over examples needs only the other two terms.
    index = np.argmin(np.sum(examples**2, axis=1)[None, :] - 2.0 * points @ examples.T, axis=1)
    distance = rms_distance(points, examples[index])
    return index, distance


def _count_distinct(points, eps: float) -> int:
    """Number of groups of points, joining points closer than eps (greedy, order-independent enough)."""
    representatives: list[np.ndarray] = []
    for point in points:
        if not any(rms_distance(point[None], rep[None])[0] < eps for rep in representatives):
            representatives.append(point)
    return len(representatives)


def match_to_examples(result: IterationResult, examples, eps: float) -> dict:
    """Summarize where iterates ended relative to the training examples.

    A start *reaches* a training example when it did not diverge and its final iterate is within
    RMS distance ``eps`` of one. A *spurious fixed point* is a converged final iterate that is
    not within eps of any training example. Returns per-start arrays and scalar summaries.
    """
    finite = ~result.diverged
    index, distance = nearest_examples(result.final, examples)
    distance = np.where(finite, distance, np.inf)
    reached = finite & (distance < eps)
    spurious = result.converged & ~reached
    count = len(reached)
    return {
        "nearest_example": np.where(reached, index, -1),
        "distance_to_nearest": distance,
        "reached": reached,
        "spurious": spurious,
        "fraction_reaching": float(reached.mean()) if count else float("nan"),
        "distinct_reached": int(np.unique(index[reached]).size),
        "fraction_converged": float(result.converged.mean()) if count else float("nan"),
        "fraction_diverged": float(result.diverged.mean()) if count else float("nan"),
        "spurious_starts": int(spurious.sum()),
        "distinct_spurious": _count_distinct(result.final[spurious], eps),
    }
