import numpy as np
import pytest

from memorization.errors import MemorizationError

from memorization.analysis.linalg import (
    gd_convergence_rate,
    relative_frobenius_distance,
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
    # The shear [[1, 1], [0, 1]] has both eigenvalues 1; its Gram matrix [[1, 1], [1, 2]] has
    # eigenvalues (3 +- sqrt 5) / 2, so its top singular value is the golden ratio.
    shear = np.array([[1.0, 1.0], [0.0, 1.0]])
    golden = (1 + np.sqrt(5)) / 2
    assert spectral_radius(shear) == pytest.approx(1.0, abs=1e-7)  # a defective eigenvalue: sqrt(eps) error
    assert top_singular_value(shear) == pytest.approx(golden, rel=1e-14)
    assert top_singular_value(np.array([[0.0, 2.0], [0.0, 0.0]])) == pytest.approx(2.0)  # nilpotent: rho = 0
    assert isinstance(spectral_radius(shear), float) and isinstance(top_singular_value(shear), float)


def test_spectra_of_a_stack_are_per_matrix():
    stack = np.stack([np.diag([0.5, -2.0]), np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0, -0.8], [0.8, 0.0]])])
    np.testing.assert_allclose(spectral_radius(stack), [2.0, 1.0, 0.8], atol=1e-7)
    np.testing.assert_allclose(top_singular_value(stack), [2.0, (1 + np.sqrt(5)) / 2, 0.8], rtol=1e-14)
    with pytest.raises(MemorizationError, match=r"square matrices, got shape \(2, 3\)"):
        spectral_radius(np.zeros((2, 3)))
    with pytest.raises(MemorizationError, match=r"needs matrices, got shape \(3,\)"):
        top_singular_value(np.zeros(3))


def test_one_implementation_of_each_concept():
    """The spectral radius, the top singular value, the span projector and the memorization test
    of an operator are each defined once in the package; other modules import that definition."""
    import ast
    from pathlib import Path

    from memorization.analysis import jacobian, linalg

    package = Path(linalg.__file__).parents[1]
    definitions = {}
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.FunctionDef):
                definitions.setdefault(node.name, []).append(source.relative_to(package).as_posix())
    for name in ("spectral_radius", "top_singular_value", "span_projector", "span_basis", "is_memorized"):
        assert len(definitions.get(name, [])) == 1, (name, definitions.get(name))
    assert jacobian.spectral_radius is linalg.spectral_radius
    assert jacobian.top_singular_value is linalg.top_singular_value


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


def test_non_square_stacks_are_refused_before_any_eigenvalue():
    with pytest.raises(MemorizationError, match=r"got shape \(2, 3, 2\)"):
        spectral_radius(np.zeros((2, 3, 2)))
    with pytest.raises(MemorizationError, match=r"got shape \(4,\)"):
        spectral_radius(np.zeros(4))


def test_relative_distance_with_its_own_scale():
    assert relative_frobenius_distance(np.eye(2) * 1.1, np.eye(2), scale=2 * np.eye(2)) == pytest.approx(0.05)


def test_gd_rate_keeps_only_curvatures_above_1e_12_of_the_largest():
    # Above 1e-12 of the largest a curvature counts (kappa 5e11); at or below it, it is the null
    # space, which gradient descent never moves, and is dropped.
    _, rate = gd_convergence_rate(np.array([1.0, 2e-12, 1e-13, 0.0]))
    assert rate == pytest.approx((1 - 2e-12) / (1 + 2e-12), abs=1e-15)
    step, rate = gd_convergence_rate(np.array([2.0, 2e-12, 0.0]))
    assert rate == 0.0 and step == pytest.approx(0.5)


def test_one_matrix_gives_a_python_float_and_a_stack_an_array():
    # The claims' tables and JSON records take floats; a 0-d array would print and serialise differently.
    rotation = np.array([[0.0, -2.0], [2.0, 0.0]])
    for function in (spectral_radius, top_singular_value):
        single = function(rotation)
        assert type(single) is float and single == pytest.approx(2.0)
        stacked = function(np.stack([rotation, np.eye(2)]))
        assert isinstance(stacked, np.ndarray) and stacked.shape == (2,)
        np.testing.assert_allclose(stacked, [2.0, 1.0])
