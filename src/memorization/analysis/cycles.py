"""Sequences stored as limit cycles of a trained map f (C9).

A map trained on pairs (x_t, x_{t+1 mod T}) stores the sequence x_1, ..., x_T as a *cycle* when
f(x_t) = x_{t+1} for every t; the cycle is a fixed point of the T-fold composition f^T, and it
attracts when the spectral radius of f^T's Jacobian at x_1, the product
J_f(x_T) ... J_f(x_2) J_f(x_1), is below 1. That product can contract even where single factors
expand, which is why a cycle can be stable where single frames would not be fixed-point
attractors. Distances are RMS per coordinate, as in `memorization.analysis.iteration`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memorization.analysis.iteration import rms_distance
from memorization.errors import MemorizationError


def successors(frames) -> np.ndarray:
    """x_{t+1 mod T} for each frame x_t: the targets of a sequence encoder."""
    frames = np.asarray(frames)
    return np.roll(frames, -1, axis=0)


def cycle_errors(apply, frames) -> np.ndarray:
    """RMS error ||f(x_t) - x_{t+1 mod T}|| / sqrt(d) for each frame; ``apply`` maps numpy to numpy."""
    frames = np.asarray(frames, dtype=np.float64)
    return rms_distance(apply(frames), successors(frames))


def cycle_jacobian_product(jacobians) -> np.ndarray:
    """J_{T-1} ... J_1 J_0 from the stack (T, d, d) of Jacobians at x_0, ..., x_{T-1} in cycle
    order: the Jacobian of f^T at x_0 when f maps each frame onto the next."""
    jacobians = np.asarray(jacobians, dtype=np.float64)
    if jacobians.ndim != 3 or jacobians.shape[1] != jacobians.shape[2] or len(jacobians) == 0:
        raise MemorizationError(f"need a non-empty stack of square Jacobians (T, d, d), got shape {jacobians.shape}")
    product = jacobians[0]
    for jacobian in jacobians[1:]:
        product = jacobian @ product
    return product


def cycle_spectral_radius(jacobians) -> float:
    """Spectral radius of the cycle's Jacobian product (the same for every starting frame, since
    AB and BA share their nonzero eigenvalues)."""
    from memorization.analysis.linalg import spectral_radius

    return float(spectral_radius(cycle_jacobian_product(jacobians)))


@dataclass
class Orbit:
    """Where iterating f from each start ended up.

    ``tail`` (T, B, d) holds the last T consecutive iterates of each start, ``tail[j + 1] =
    f(tail[j])``; ``steps`` counts the applications of f up to the last of them; ``settled``
    means ||f^T(z) - z|| / sqrt(d) fell below the tolerance (the orbit is periodic with period
    T, or a divisor of it, to that tolerance); ``diverged`` means an iterate was non-finite or
    beyond the divergence bound (the tail then holds the last finite iterates). ``snapshots``
    (S, B, d) holds the iterates at ``snapshot_steps``; a settled start is continued periodically.
    """

    tail: np.ndarray
    steps: np.ndarray
    settled: np.ndarray
    diverged: np.ndarray
    snapshot_steps: tuple[int, ...]
    snapshots: np.ndarray


def iterate_orbit(apply, starts, max_steps: int, period: int, tol: float = 0.0, divergence_bound: float = 1e6,
                  snapshot_steps=()) -> Orbit:
    """Iterate z <- f(z) from each row of ``starts`` for at most ``max_steps`` steps, keeping the
    last ``period`` iterates.

    A start stops once it has been iterated at least ``period`` steps and the RMS distance
    between its iterate and the one ``period`` steps earlier is below ``tol`` (settled), or when
    an iterate is non-finite or its RMS size exceeds ``divergence_bound`` (diverged). Stopped
    starts are not evaluated again. Never raises on blow-up.
    """
    if period < 1 or max_steps < period:
        raise MemorizationError(f"need period >= 1 and max_steps >= period, got {period} and {max_steps}")
    current = np.array(starts, dtype=np.float64)
    if current.ndim != 2:
        raise MemorizationError(f"starts must be a 2-D array (B, d), got shape {current.shape}")
    count = len(current)
    history = np.zeros((period, *current.shape))  # iterate n of each start sits in slot n % period
    history[0] = current
    steps = np.zeros(count, dtype=np.int64)
    settled = np.zeros(count, dtype=bool)
    diverged = ~np.all(np.isfinite(current), axis=1)
    snapshot_steps = tuple(sorted(int(step) for step in snapshot_steps))
    snapshots = np.zeros((len(snapshot_steps), *current.shape))
    for slot, snap in enumerate(snapshot_steps):
        if snap == 0:
            snapshots[slot] = current
    for step in range(1, max_steps + 1):
        active = np.flatnonzero(~settled & ~diverged)
        if active.size == 0:
            break
        with np.errstate(all="ignore"):
            mapped = np.asarray(apply(current[active]), dtype=np.float64)
            size = np.sqrt(np.mean(mapped**2, axis=1))
        blown = ~np.all(np.isfinite(mapped), axis=1) | ~(size <= divergence_bound)
        diverged[active[blown]] = True
        kept = active[~blown]
        current[kept] = mapped[~blown]
        steps[kept] = step
        if step >= period:
            # history[step % period] still holds iterate step - period.
            returned = rms_distance(current[kept], history[step % period][kept]) < tol
            settled[kept[returned]] = True
        history[step % period][kept] = current[kept]
        for slot, snap in enumerate(snapshot_steps):
            if snap == step:
                snapshots[slot] = current
    # Iterate n of a start that stopped at step s (n <= s) is in slot n % period when n > s - period.
    offsets = (steps - period + 1)[None, :] + np.arange(period)[:, None]  # (T, B) iterate numbers of the tail
    rows = np.arange(count)[None, :]
    tail = history[np.maximum(offsets, 0) % period, rows]
    columns = np.arange(count)
    for slot, snap in enumerate(snapshot_steps):
        # Past its last step a settled start repeats its tail; any other stopped start keeps its last iterate.
        later = snap > steps
        periodic = tail[(snap - offsets[0]) % period, columns]
        snapshots[slot][later] = np.where(settled[later, None], periodic[later], current[later])
    return Orbit(tail, steps, settled, diverged, snapshot_steps, snapshots)


def lock_onto_cycle(tail, frames, eps: float, diverged=None, tail_start=None) -> dict:
    """Which orbits have locked onto the cycle x_0 -> x_1 -> ... -> x_{T-1} -> x_0.

    ``tail`` (T, B, d) holds T consecutive iterates of each start. A start is *locked* with phase
    p when its j-th tail iterate is within RMS distance ``eps`` of x_{(p + j) mod T} for every
    j: it visits every frame, in order. The *phase* of a locked start is the frame its iterates
    f^(kT)(z) approach, i.e. p - tail_start mod T where ``tail_start`` (per start, default 0) is
    the iterate number of the first tail iterate (`Orbit.steps` - T + 1). Returns per-start
    ``locked`` and ``phase`` (-1 when not locked), ``nearest`` (the frame nearest the first tail
    iterate), the fraction locked and the number of locked starts per phase.
    """
    from memorization.analysis.iteration import nearest_examples

    tail = np.asarray(tail, dtype=np.float64)
    frames = np.asarray(frames, dtype=np.float64)
    period = len(frames)
    if tail.shape[0] != period:
        raise MemorizationError(f"the tail holds {tail.shape[0]} iterates but the cycle has {period} frames")
    count = tail.shape[1]
    diverged = np.zeros(count, dtype=bool) if diverged is None else np.asarray(diverged, dtype=bool)
    nearest, _ = nearest_examples(tail[0], frames)
    locked = ~diverged
    for j in range(period):
        target = frames[(nearest + j) % period]
        with np.errstate(all="ignore"):
            locked &= rms_distance(tail[j], target) < eps
    start = np.zeros(count, dtype=np.int64) if tail_start is None else np.asarray(tail_start, dtype=np.int64)
    phase = np.where(locked, (nearest - start) % period, -1)
    return {
        "locked": locked,
        "phase": phase,
        "nearest": nearest,
        "fraction_locked": float(locked.mean()) if count else float("nan"),
        "phase_counts": np.bincount(phase[locked], minlength=period),
        "fraction_diverged": float(diverged.mean()) if count else float("nan"),
    }
