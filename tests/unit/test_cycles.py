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


# The cyclic shift e_0 -> e_1 -> e_2 -> e_0 of the first T coordinates; the others are halved.
SHIFT = np.zeros((D, D))
SHIFT[[1, 2, 0], [0, 1, 2]] = 1.0
SHIFT[3:, 3:] = 0.5 * np.eye(D - T)


def shift_map(z):
    return np.asarray(z, dtype=np.float64) @ SHIFT.T


def test_cycle_errors_of_an_exact_and_of_a_perturbed_cycle():
    np.testing.assert_array_equal(cycles.cycle_errors(shift_map, FRAMES), np.zeros(T))
    off = np.zeros(D)
    off[4] = 0.1
    np.testing.assert_allclose(cycles.cycle_errors(lambda z: shift_map(z) + off, FRAMES), np.full(T, 0.1 / np.sqrt(D)))
    assert cycles.cycle_errors(shift_map, FRAMES.astype(int)).dtype == np.float64


def test_cycle_jacobian_product_needs_a_non_empty_square_stack():
    np.testing.assert_array_equal(cycles.cycle_jacobian_product(np.array([[[2.0]]])), [[2.0]])  # T = 1
    for shape in ((0, 2, 2), (2, 2, 3), (2, 2)):
        with pytest.raises(MemorizationError) as error:
            cycles.cycle_jacobian_product(np.zeros(shape))
        assert str(error.value) == f"need a non-empty stack of square Jacobians (T, d, d), got shape {shape}"


def test_orbit_on_an_exact_cycle_settles_after_one_period():
    orbit = cycles.iterate_orbit(shift_map, FRAMES[:1].astype(int), max_steps=10, period=T, tol=1e-12,
                                 snapshot_steps=(0, 5))
    assert orbit.settled.tolist() == [True] and orbit.steps.tolist() == [T]  # settled at step T, then stopped
    np.testing.assert_array_equal(orbit.tail[:, 0], FRAMES[[1, 2, 0]])  # iterates 1, 2, 3
    assert orbit.snapshot_steps == (0, 5)
    np.testing.assert_array_equal(orbit.snapshots[1, 0], FRAMES[5 % T])  # continued periodically
    # With tol 0, the default, nothing settles ("below" is strict): the orbit runs to the step cap.
    capped = cycles.iterate_orbit(shift_map, FRAMES[:1], max_steps=7, period=T)
    assert capped.steps.tolist() == [7] and not capped.settled[0]
    np.testing.assert_array_equal(capped.tail[:, 0], FRAMES[[5 % T, 6 % T, 7 % T]])  # iterates 5, 6, 7
    fixed = cycles.iterate_orbit(lambda z: 0.5 * z, np.ones((1, 2)), max_steps=1, period=1)  # period 1, one step
    np.testing.assert_array_equal(fixed.tail, [[[0.5, 0.5]]])


def test_orbit_divergence_is_per_start_and_keeps_the_last_finite_iterates():
    def map_(z):
        """(1, 1) -> NaN at once; (+-3, .) -> its negative (a 2-cycle); anything else doubles
        and flips sign (grows, through negative values, but stays below the bound for 6 steps)."""
        z = np.asarray(z, dtype=np.float64)
        out = np.where(np.abs(z[:, :1]) == 3.0, -z, -2.0 * z)
        out[np.all(z == 1.0, axis=1)] = np.nan
        return out

    starts = np.array([[1.0, 1.0], [1.0, -1.0], [3.0, 4.0]])
    orbit = cycles.iterate_orbit(map_, starts, max_steps=6, period=2, tol=1e-12, snapshot_steps=(0, 9))
    assert orbit.diverged.tolist() == [True, False, False]
    np.testing.assert_array_equal(orbit.tail[:, 0], [starts[0], starts[0]])  # only the start was finite
    np.testing.assert_array_equal(orbit.snapshots[1, 0], starts[0])  # a stopped, unsettled start keeps its last iterate
    assert orbit.steps.tolist() == [0, 6, 2] and orbit.settled.tolist() == [False, False, True]
    big = cycles.iterate_orbit(lambda z: np.full_like(z, 1e6), np.zeros((2, 2)), max_steps=1, period=1)
    assert not big.diverged.any()  # an RMS size of exactly the bound (1e6 by default) is still finite
    bigger = cycles.iterate_orbit(lambda z: np.full_like(z, 1.0000005e6), np.zeros((2, 2)), max_steps=1, period=1)
    assert bigger.diverged.all()
    with pytest.raises(MemorizationError) as error:
        cycles.iterate_orbit(map_, starts, max_steps=1, period=0)
    assert str(error.value) == "need period >= 1 and max_steps >= period, got 0 and 1"
    with pytest.raises(MemorizationError) as error:
        cycles.iterate_orbit(map_, np.ones(3), max_steps=2, period=2)
    assert str(error.value) == "starts must be a 2-D array (B, d), got shape (3,)"


def test_locking_fields_thresholds_and_diverged_flags():
    far = np.full(D, 9.0)
    tail = np.stack([np.stack([FRAMES[0], FRAMES[1], FRAMES[2]]),  # locked, phase 0
                     np.stack([FRAMES[0], far, FRAMES[2]]),  # leaves the cycle in between: not locked
                     np.stack([FRAMES[1], FRAMES[2], FRAMES[0]])], axis=1)  # locked, phase 1
    lock = cycles.lock_onto_cycle(tail, FRAMES, eps=0.05, diverged=[0, 0, 1])
    assert lock["locked"].tolist() == [True, False, False]  # a diverged start never locks
    assert lock["nearest"].tolist() == [0, 0, 1] and lock["phase"].tolist() == [0, -1, -1]
    assert lock["fraction_diverged"] == pytest.approx(1 / 3) and lock["phase_counts"].tolist() == [1, 0, 0]
    # Exactly eps away is not within eps.
    shifted = tail[:, :1] + 0.05 * np.sqrt(D) * np.eye(D)[4]
    assert cycles.lock_onto_cycle(shifted, FRAMES, eps=0.05)["locked"].tolist() == [False]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from the mean of nothing
        none = cycles.lock_onto_cycle(np.zeros((T, 0, D)), FRAMES, eps=0.05)
    assert np.isnan(none["fraction_locked"]) and np.isnan(none["fraction_diverged"])
    assert none["phase_counts"].tolist() == [0, 0, 0]
    with pytest.raises(MemorizationError) as error:
        cycles.lock_onto_cycle(tail[:2], FRAMES, eps=0.05)
    assert str(error.value) == "the tail holds 2 iterates but the cycle has 3 frames"


def test_interval_closed_forms_and_the_bootstrap_width():
    # Clopper-Pearson with no successes or no failures: 1 - (alpha / 2)^(1 / n) and (alpha / 2)^(1 / n).
    for n in (1, 4, 20):
        assert binomial_interval(0, n) == (0.0, pytest.approx(1 - 0.025 ** (1 / n), abs=1e-12))
        assert binomial_interval(n, n) == (pytest.approx(0.025 ** (1 / n), abs=1e-12), 1.0)
    from memorization.analysis.intervals import _binomial_cdf

    assert _binomial_cdf(2, 5, 0.0) == 1.0 and _binomial_cdf(5, 5, 1.0) == 1.0 and _binomial_cdf(4, 5, 1.0) == 0.0
    assert all(_binomial_cdf(n, n, p) <= 1.0 for n in (7, 30, 101) for p in (0.1, 0.3, 0.7))
    # The bootstrap of the mean of 0, 1, ..., 9: close to the normal interval 4.5 +- 1.96 * 0.908.
    # (Monte Carlo error of a 2.5% quantile of 10 000 resamples: about 0.025.)
    low, high = bootstrap_mean_interval(np.arange(10.0))
    assert low == pytest.approx(4.5 - 1.96 * np.sqrt(8.25 / 10), abs=0.07)
    assert high == pytest.approx(4.5 + 1.96 * np.sqrt(8.25 / 10), abs=0.07)
    # Seeded, by default with seed 0 and 10 000 resamples (values off any grid, so draws show).
    values = np.sqrt(np.arange(10.0))
    assert bootstrap_mean_interval(values, seed=3) == bootstrap_mean_interval(values, seed=3)
    assert bootstrap_mean_interval(values) == bootstrap_mean_interval(values, seed=0, resamples=10_000)
    assert bootstrap_mean_interval(values, seed=1) != bootstrap_mean_interval(values, seed=0)
    assert all(np.isnan(bootstrap_mean_interval([])))
