"""Limit cycles (C9): the cycle's Jacobian product and the locking detector on hand-built maps
with a known attracting or repelling cycle, and the intervals reported over seeds."""

import numpy as np
import pytest

from memorization.analysis import cycles
from memorization.analysis.intervals import binomial_interval, bootstrap_mean_interval
from memorization.errors import MemorizationError

T, D = 3, 5
FRAMES = np.eye(T, D)  # x_t = e_t: RMS distance between frames sqrt(2 / D) ~ 0.63
ROTATION = np.linalg.qr(np.random.default_rng(0).normal(size=(D, D)))[0]  # orthogonal: |eigenvalues| = 1


def cycle_map(scale: float, beta: float = 60.0):
    """f(z) = sum_t w_t(z) (x_{t+1} + scale Q (z - x_t)), w = softmax(-beta ||z - x_t||^2).

    Near x_t the weights are one-hot to within exp(-beta * 2), so f(x_t) = x_{t+1} and
    J_f(x_t) = scale Q: the cycle attracts for scale < 1 and repels for scale > 1, and the
    cycle's product (scale Q)^T has spectral radius scale^T.
    """

    def weights(z, ops):
        distances = ops.sum((z[:, None, :] - FRAMES[None]) ** 2, axis=-1)
        return ops.softmax(-beta * distances, axis=-1)

    def numpy_map(z):
        z = np.asarray(z, dtype=np.float64)
        w = np.exp(-beta * np.sum((z[:, None, :] - FRAMES[None]) ** 2, axis=-1))
        w /= np.sum(w, axis=1, keepdims=True)
        branches = cycles.successors(FRAMES)[None] + scale * (z[:, None, :] - FRAMES[None]) @ ROTATION.T
        return np.einsum("bt,btd->bd", w, branches)

    def keras_map(z):
        from keras import ops

        w = weights(z, ops)
        branches = ops.convert_to_tensor(cycles.successors(FRAMES))[None] + scale * ops.matmul(
            z[:, None, :] - ops.convert_to_tensor(FRAMES)[None], ops.convert_to_tensor(ROTATION.T)
        )
        return ops.einsum("bt,btd->bd", w, branches)

    return numpy_map, keras_map


def test_jacobian_product_multiplies_in_cycle_order():
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(3, 4, 4))
    np.testing.assert_allclose(cycles.cycle_jacobian_product(np.stack([a, b, c])), c @ b @ a)
    with pytest.raises(MemorizationError):
        cycles.cycle_jacobian_product(np.zeros((2, 3, 4)))


def test_cycle_contracts_where_single_steps_expand():
    # rho 2 at each frame, but the product diag(0.2, 0.2) contracts.
    jacobians = np.stack([np.diag([2.0, 0.1]), np.diag([0.1, 2.0])])
    from memorization.analysis.jacobian import spectral_radius

    assert np.allclose(spectral_radius(jacobians), 2.0)
    assert cycles.cycle_spectral_radius(jacobians) == pytest.approx(0.2)


@pytest.mark.parametrize("scale", [0.5, 1.6])
def test_cycle_jacobians_of_a_hand_built_map(keras_float64, scale):
    from memorization.analysis.jacobian import input_jacobians, spectral_radius

    numpy_map, keras_map = cycle_map(scale)
    assert np.max(cycles.cycle_errors(numpy_map, FRAMES)) < 1e-12
    jacobians = input_jacobians(keras_map, FRAMES)
    np.testing.assert_allclose(jacobians, np.broadcast_to(scale * ROTATION, (T, D, D)), atol=1e-12)
    np.testing.assert_allclose(spectral_radius(jacobians), scale, rtol=1e-9)
    assert cycles.cycle_spectral_radius(jacobians) == pytest.approx(scale**T, rel=1e-9)


def test_attracting_cycle_locks_noisy_starts_in_their_phase():
    numpy_map, _ = cycle_map(0.5)
    rng = np.random.default_rng(2)
    owners = np.arange(12) % T
    starts = FRAMES[owners] + 0.05 * rng.standard_normal((12, D))
    orbit = cycles.iterate_orbit(numpy_map, starts, max_steps=200, period=T, tol=1e-10, snapshot_steps=(0, 1, 500))
    assert orbit.settled.all() and not orbit.diverged.any()
    np.testing.assert_allclose(orbit.snapshots[0], starts)
    np.testing.assert_allclose(orbit.snapshots[1], numpy_map(starts))
    for j in range(T - 1):  # the tail is consecutive iterates
        np.testing.assert_allclose(orbit.tail[j + 1], numpy_map(orbit.tail[j]), atol=1e-9)
    lock = cycles.lock_onto_cycle(orbit.tail, FRAMES, eps=0.05, diverged=orbit.diverged, tail_start=orbit.steps - T + 1)
    assert lock["fraction_locked"] == 1.0
    # A start near x_p is at x_p after every multiple of T steps: phase p.
    np.testing.assert_array_equal(lock["phase"], owners)
    np.testing.assert_array_equal(lock["phase_counts"], np.bincount(owners, minlength=T))
    # Past its last step a settled start repeats its tail: at step 500 it is near x_{(p + 500) mod T}.
    nearest = np.argmin(np.sum((orbit.snapshots[2][:, None] - FRAMES[None]) ** 2, axis=-1), axis=1)
    np.testing.assert_array_equal(nearest, (owners + 500) % T)


def test_repelling_cycle_locks_nothing_but_its_own_frames():
    numpy_map, _ = cycle_map(1.6)
    rng = np.random.default_rng(3)
    starts = FRAMES[np.arange(9) % T] + 0.05 * rng.standard_normal((9, D))
    orbit = cycles.iterate_orbit(numpy_map, starts, max_steps=60, period=T, tol=1e-10)
    lock = cycles.lock_onto_cycle(orbit.tail, FRAMES, eps=0.05, diverged=orbit.diverged)
    assert lock["fraction_locked"] == 0.0 and (lock["phase"] == -1).all()
    # The frames themselves are an (unstable) cycle: started exactly on it, the orbit stays.
    exact = cycles.iterate_orbit(numpy_map, FRAMES, max_steps=6, period=T, tol=1e-10)
    assert cycles.lock_onto_cycle(exact.tail, FRAMES, eps=0.05)["fraction_locked"] == 1.0


def test_wrong_order_or_fixed_points_do_not_lock():
    reverse = np.stack([FRAMES[0], FRAMES[2], FRAMES[1]])[:, None]  # visits every frame, backwards
    stuck = np.repeat(FRAMES[1][None, None], T, axis=0)  # sits at one frame
    tail = np.concatenate([reverse, stuck, FRAMES[[1, 2, 0]][:, None]], axis=1)
    lock = cycles.lock_onto_cycle(tail, FRAMES, eps=0.05)
    np.testing.assert_array_equal(lock["locked"], [False, False, True])
    np.testing.assert_array_equal(lock["phase"], [-1, -1, 1])


def test_diverging_orbits_are_marked_not_raised():
    orbit = cycles.iterate_orbit(lambda z: 10.0 * z + 1.0, np.ones((2, D)), max_steps=20, period=T, tol=1e-9)
    assert orbit.diverged.all()
    assert cycles.lock_onto_cycle(orbit.tail, FRAMES, 0.05, orbit.diverged)["fraction_locked"] == 0.0
    with pytest.raises(MemorizationError):
        cycles.iterate_orbit(lambda z: z, np.ones((2, D)), max_steps=2, period=T)


def test_intervals():
    low, high = binomial_interval(3, 10)
    assert low == pytest.approx(0.0667395, abs=1e-6) and high == pytest.approx(0.6524529, abs=1e-6)  # Clopper-Pearson
    assert binomial_interval(0, 10)[0] == 0.0 and binomial_interval(10, 10)[1] == 1.0
    assert np.isnan(binomial_interval(0, 0)[0])
    low, high = bootstrap_mean_interval([0.1, 0.2, 0.0])
    assert 0.0 <= low < 0.1 < high <= 0.2 + 1e-12
    assert bootstrap_mean_interval([0.4]) == (0.4, 0.4)
