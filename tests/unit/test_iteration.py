import math

import numpy as np
import pytest

from memorization.analysis import iteration as it

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
