import numpy as np
import pytest

from memorization.analysis.linalg import (
    gd_convergence_rate,
    relative_frobenius_distance,
    residual_outside_span,
    span_projector,
    spectral_radius,
    top_singular_value,
)


def test_projector_matches_closed_form_for_independent_examples():
    rng = np.random.default_rng(0)
    examples = rng.normal(size=(3, 7))  # rows are examples
    closed_form = examples.T @ np.linalg.inv(examples @ examples.T) @ examples
    projector = span_projector(examples)
    np.testing.assert_allclose(projector, closed_form, atol=1e-12)
    np.testing.assert_allclose(projector @ projector, projector, atol=1e-12)
    np.testing.assert_allclose(projector, projector.T, atol=1e-12)
    assert np.trace(projector) == pytest.approx(3)


def test_projector_of_dependent_examples_has_their_rank():
    first = np.array([1.0, 0.0, 0.0, 0.0])
    second = np.array([0.0, 2.0, 0.0, 0.0])
    projector = span_projector(np.stack([first, second, first + second]))
    np.testing.assert_allclose(projector, np.diag([1.0, 1.0, 0.0, 0.0]), atol=1e-12)


def test_residual_outside_span_is_zero_inside_and_one_orthogonal():
    projector = span_projector(np.array([[1.0, 1.0, 0.0]]))
    residuals = residual_outside_span(np.array([[2.0, 2.0, 0.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]]), projector)
    np.testing.assert_allclose(residuals, [0.0, 1.0, np.sqrt(0.5)], atol=1e-12)


@pytest.mark.parametrize(
    "matrix, radius",
    [
        (np.diag([0.5, -2.0, 1.0]), 2.0),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), 1.0),  # rotation: complex eigenvalues +-i
        (np.array([[0.0, 1.0], [0.0, 0.0]]), 0.0),  # nilpotent
        (np.array([[2.0, 1.0], [1.0, 2.0]]), 3.0),
    ],
)
def test_spectral_radius_of_known_matrices(matrix, radius):
    assert spectral_radius(matrix) == pytest.approx(radius, abs=1e-12)


def test_top_singular_value_differs_from_spectral_radius_for_non_normal_matrix():
    matrix = np.array([[0.5, 10.0], [0.0, 0.5]])
    assert spectral_radius(matrix) == pytest.approx(0.5)
    assert top_singular_value(matrix) == pytest.approx(np.linalg.svd(matrix, compute_uv=False)[0])
    assert top_singular_value(matrix) > 10


def test_relative_distance():
    assert relative_frobenius_distance(np.eye(2) * 1.1, np.eye(2)) == pytest.approx(0.1)


def test_gd_rate_for_known_curvatures():
    step, rate = gd_convergence_rate(np.array([1.0, 3.0]))
    assert step == pytest.approx(0.5)
    assert rate == pytest.approx(0.5)
    # Iterating the error map of gradient descent reproduces the rate exactly.
    error = np.array([1.0, 1.0])
    for _ in range(10):
        error = error * (1 - step * np.array([1.0, 3.0]))
    assert np.abs(error).max() == pytest.approx(rate**10)
