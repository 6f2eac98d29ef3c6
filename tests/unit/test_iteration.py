import contextlib
import math
import warnings

import numpy as np
import pytest

from memorization.analysis import iteration as it
from memorization.errors import MemorizationError

DIM = 4
A = np.full(DIM, 0.2)
B = np.full(DIM, 0.8)
SPURIOUS = np.array([0.2, 0.8, 0.2, 0.8])


def contraction_towards(point, factor=0.5):
    return lambda z: point + factor * (z - point)


def three_well_map(z):
    """Contracts by half towards the nearest of A, B and SPURIOUS: three attracting fixed points."""
    wells = np.stack([A, B, SPURIOUS])
    nearest, _ = it.nearest_examples(z, wells)
    return z + 0.5 * (wells[nearest] - z)


def test_contraction_converges_in_the_predicted_number_of_steps():
    start = np.zeros((1, DIM))
    tol = 1e-6
    result = it.iterate_to_fixed_point(contraction_towards(A), start, max_steps=100, tol=tol)
    # After k steps the RMS step f(z)-z is 0.5^k * 0.2 (initial RMS distance 0.2 halves each step).
    expected_steps = math.ceil(math.log(0.2 / tol) / math.log(2))
    assert result.converged.all() and not result.diverged.any()
    assert result.steps[0] == expected_steps
    assert it.rms_distance(result.final, A[None])[0] == pytest.approx(0.2 * 0.5**expected_steps)


def test_step_cap_is_respected_and_not_called_converged():
    result = it.iterate_to_fixed_point(contraction_towards(A), np.zeros((2, DIM)), max_steps=3, tol=1e-12)
    assert not result.converged.any()
    assert (result.steps == 3).all()
    np.testing.assert_allclose(result.final, np.tile(A - 0.2 * 0.125, (2, 1)))


def test_spurious_fixed_point_is_counted_as_spurious():
    rng = np.random.default_rng(0)
    starts = np.concatenate(
        [A + 0.05 * rng.standard_normal((3, DIM)), B + 0.05 * rng.standard_normal((2, DIM)),
         SPURIOUS + 0.05 * rng.standard_normal((4, DIM))]
    )
    result = it.iterate_to_fixed_point(three_well_map, starts, max_steps=200, tol=1e-9)
    summary = it.match_to_examples(result, np.stack([A, B]), eps=0.01)
    assert summary["fraction_reaching"] == pytest.approx(5 / 9)
    assert summary["distinct_reached"] == 2
    assert summary["spurious_starts"] == 4
    assert summary["distinct_spurious"] == 1
    np.testing.assert_array_equal(summary["nearest_example"], [0, 0, 0, 1, 1, -1, -1, -1, -1])
    assert summary["fraction_converged"] == 1.0


def test_divergence_and_nan_are_flagged_without_raising():
    def explode(z):
        out = 3.0 * z
        out[z[:, 0] < 0] = np.nan
        return out

    starts = np.array([[1.0] * DIM, [-1.0] * DIM, [0.0] * DIM])
    result = it.iterate_to_fixed_point(explode, starts, max_steps=50, tol=1e-9, divergence_bound=1e3)
    np.testing.assert_array_equal(result.diverged, [True, True, False])
    np.testing.assert_array_equal(result.converged, [False, False, True])
    assert np.all(np.isfinite(result.final))
    # 3^6 = 729 < 1e3 < 3^7: the seventh step is the first beyond the bound.
    assert result.steps[0] == 6
    summary = it.match_to_examples(result, np.zeros((1, DIM)), eps=0.01)
    assert summary["fraction_diverged"] == pytest.approx(2 / 3)
    np.testing.assert_array_equal(summary["reached"], [False, False, True])


def test_snapshots_record_the_trajectory():
    start = np.zeros((2, DIM))
    result = it.iterate_to_fixed_point(contraction_towards(A), start, max_steps=4, tol=0.0, snapshot_steps=(0, 1, 2, 10))
    np.testing.assert_allclose(result.snapshots[0], 0.0)
    np.testing.assert_allclose(result.snapshots[1], np.tile(A * 0.5, (2, 1)))
    np.testing.assert_allclose(result.snapshots[2], np.tile(A * 0.75, (2, 1)))
    np.testing.assert_allclose(result.snapshots[3], result.final)  # stopped at 4 < 10


def test_attractor_fraction_needs_fixed_and_contractive():
    errors = np.array([0.0, 0.0, 0.5, 0.0])
    radius = np.array([0.5, 1.5, 0.5, 0.99])
    np.testing.assert_array_equal(it.attractor_mask(errors, radius, 0.1), [True, False, False, True])
    assert it.attractor_fraction(errors, radius, 0.1) == 0.5
    # rho = 1 up to rounding (a linear or positively homogeneous net) is not an attractor.
    assert not it.attractor_mask([0.0], [0.99999994], 0.1)[0]
    assert it.attractor_mask([0.0], [0.99999994], 0.1, radius_margin=0.0)[0]


def test_fixed_point_errors_and_nearest_examples():
    points = np.stack([A, B])
    errors = it.fixed_point_errors(contraction_towards(A), points)
    np.testing.assert_allclose(errors, [0.0, 0.3])
    index, distance = it.nearest_examples(np.stack([B + 0.01, A]), points)
    np.testing.assert_array_equal(index, [1, 0])
    np.testing.assert_allclose(distance, [0.01, 0.0], atol=1e-12)


def test_numpy_map_of_a_keras_model_iterates_to_its_fixed_point(keras_float64):
    keras = keras_float64
    inputs = keras.Input(shape=(DIM,))
    layer = keras.layers.Dense(DIM, kernel_initializer=keras.initializers.Identity(gain=0.5),
                               bias_initializer=keras.initializers.Constant(0.1))
    model = keras.Model(inputs, layer(inputs))
    apply = it.as_numpy_map(model, batch_size=2)
    result = it.iterate_to_fixed_point(apply, np.ones((3, DIM)), max_steps=200, tol=1e-10)
    assert result.converged.all()
    np.testing.assert_allclose(result.final, 0.2, atol=1e-9)  # z = 0.5 z + 0.1


@contextlib.contextmanager
def no_warnings():
    """A NumPy RuntimeWarning (the mean of nothing, 0/0) inside fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_rms_distance_of_single_vectors_and_rows():
    assert it.rms_distance([3.0, 4.0], [0.0, 0.0]) == pytest.approx(np.sqrt(12.5))
    np.testing.assert_allclose(it.rms_distance([[1, 1], [0, 2]], [[0, 0], [0, 0]]), [1.0, np.sqrt(2.0)])


def test_attractor_thresholds_are_strict():
    # An error equal to the tolerance is not fixed; a radius equal to 1 - margin is not contractive.
    np.testing.assert_array_equal(
        it.attractor_mask([0.5, 0.25, 0.25], [0.5, 0.75, 0.5], fixed_point_tol=0.5, radius_margin=0.25),
        [False, False, True])
    assert it.attractor_fraction([0.1, 0.1], [0.5, 0.8], fixed_point_tol=0.5, radius_margin=0.25) == 0.5
    with no_warnings():
        assert math.isnan(it.attractor_fraction([], [], fixed_point_tol=0.5))


def test_iteration_boundaries_zero_steps_and_integer_starts():
    halve = lambda z: z / 2  # noqa: E731
    result = it.iterate_to_fixed_point(halve, [[4, 8]], max_steps=0, tol=1e-9, snapshot_steps=(0,))
    np.testing.assert_array_equal(result.final, [[4.0, 8.0]])  # no step taken
    assert result.steps.tolist() == [0] and np.isnan(result.last_step_size[0]) and result.snapshot_steps == (0,)
    result = it.iterate_to_fixed_point(halve, [[4, 8]], max_steps=2, tol=1e-9, snapshot_steps=(0, 1))
    np.testing.assert_array_equal(result.final, [[1.0, 2.0]])  # integer starts are iterated as floats
    assert result.steps.dtype.kind == "i" and result.steps.tolist() == [2]
    np.testing.assert_array_equal(result.snapshots, [[[4.0, 8.0]], [[2.0, 4.0]]])
    np.testing.assert_allclose(result.last_step_size, [np.sqrt((1.0 + 4.0) / 2)])  # RMS of the last move (1, 2)
    with pytest.raises(MemorizationError) as error:
        it.iterate_to_fixed_point(halve, [[1.0]], max_steps=-1, tol=0.1)
    assert str(error.value) == "max_steps must be >= 0, got -1"
    with pytest.raises(MemorizationError) as error:
        it.iterate_to_fixed_point(halve, [1.0], max_steps=1, tol=0.1)
    assert str(error.value) == "starts must be a 2-D array (B, d), got shape (1,)"


def test_divergence_bound_and_tolerance_are_strict():
    # An iterate of RMS size exactly 1e6 is still finite and kept; one just above it diverged.
    at_bound = it.iterate_to_fixed_point(lambda z: np.full_like(z, 1e6), [[0.0, 0.0]], max_steps=1, tol=0.0)
    assert not at_bound.diverged[0]
    above = it.iterate_to_fixed_point(lambda z: np.full_like(z, 1.0000005e6), [[0.0, 0.0]], max_steps=1, tol=0.0)
    assert above.diverged[0] and above.steps[0] == 0
    # A step of RMS size exactly tol has not converged.
    shift = it.iterate_to_fixed_point(lambda z: z - 0.5, [[0.0, 0.0]], max_steps=3, tol=0.5)
    assert not shift.converged[0] and shift.steps[0] == 3


def test_nearest_examples_by_true_distance():
    examples = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    index, distance = it.nearest_examples([[0.4, 0.0], [1.2, 0.0], [1.9, 0.0]], examples)
    assert index.tolist() == [1, 0, 2]
    np.testing.assert_allclose(distance, np.array([0.4, 0.2, 0.1]) / np.sqrt(2))


def test_matching_is_strict_at_eps_and_keeps_every_field():
    # In one dimension the RMS distance is |a - b| exactly: final iterates 0.5 and 0 next to the
    # example 1 with eps = 0.5: the first is exactly eps away (not reached), the second farther.
    result = it.iterate_to_fixed_point(lambda z: z, [[0.5], [0.0]], max_steps=1, tol=0.1)
    summary = it.match_to_examples(result, [[1.0]], 0.5)
    assert summary["reached"].tolist() == [False, False] and summary["spurious"].tolist() == [True, True]
    np.testing.assert_array_equal(summary["distance_to_nearest"], [0.5, 1.0])
    # Two spurious points exactly eps apart are two, not one.
    assert summary["distinct_spurious"] == 2 and summary["spurious_starts"] == 2
    nothing = it.iterate_to_fixed_point(lambda z: z, np.zeros((0, 2)), max_steps=1, tol=0.1)
    with no_warnings():
        empty = it.match_to_examples(nothing, [[1.0, 0.0]], 0.5)
    assert all(math.isnan(empty[key]) for key in ("fraction_reaching", "fraction_converged", "fraction_diverged"))


def test_blow_up_is_marked_without_floating_point_warnings():
    """Iteration never raises nor warns when a map overflows: the start is marked diverged."""
    from memorization.analysis import cycles

    explode = lambda z: z * 1e200  # noqa: E731 (1e200 squared overflows)
    with no_warnings():
        result = it.iterate_to_fixed_point(explode, [[1e200, 1.0]], max_steps=3, tol=1e-9)
        orbit = cycles.iterate_orbit(explode, [[1e200, 1.0]], max_steps=3, period=1)
    assert result.diverged.tolist() == [True] and orbit.diverged.tolist() == [True]
