import numpy as np
import pytest

from memorization.analysis import span
from memorization.analysis.linalg import span_projector
from memorization.errors import MemorizationError

EXAMPLES = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])  # span = the first two axes


def test_basis_and_projection_of_known_span():
    basis = span.span_basis(EXAMPLES)
    assert basis.shape == (2, 3)
    np.testing.assert_allclose(basis.T @ basis, np.diag([1.0, 1.0, 0.0]), atol=1e-14)
    np.testing.assert_allclose(span.project_onto_span([[3.0, -2.0, 5.0]], EXAMPLES), [[3.0, -2.0, 0.0]], atol=1e-14)


def test_projection_agrees_with_the_projector_matrix():
    rng = np.random.default_rng(0)
    examples = rng.uniform(size=(4, 20))
    points = rng.normal(size=(6, 20))
    np.testing.assert_allclose(span.project_onto_span(points, examples), points @ span_projector(examples).T, atol=1e-12)


def test_dependent_examples_have_numerical_rank():
    examples = np.array([[1.0, 2.0, 0.0, 0.0], [2.0, 4.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    assert span.span_basis(examples).shape[0] == 2


def test_span_residual_known_values():
    points = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 4.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(span.span_residual(points, EXAMPLES), [0.0, 1.0, 1 / np.sqrt(2), 0.0], atol=1e-14)


def test_projection_gap_is_zero_when_the_row_space_is_in_the_span():
    rng = np.random.default_rng(1)
    examples = rng.uniform(size=(3, 8))
    inside = rng.normal(size=(8, 3)) @ examples  # W = M X: rows in span{x_i}
    outside = inside + 0.1 * rng.normal(size=(8, 8))
    points = rng.uniform(size=(5, 8))
    gap_inside = span.projection_gap(lambda z: np.tanh(z @ inside.T), points, examples)
    gap_outside = span.projection_gap(lambda z: np.tanh(z @ outside.T), points, examples)
    np.testing.assert_allclose(gap_inside, 0.0, atol=1e-13)
    assert np.all(gap_outside > 1e-3)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "leaky_relu", "linear"])
def test_inverse_nonlinearities_invert(name):
    forward = {
        "tanh": np.tanh,
        "sigmoid": lambda h: 1 / (1 + np.exp(-h)),
        "leaky_relu": lambda h: np.where(h >= 0, h, 0.01 * h),
        "linear": lambda h: h,
    }[name]
    values = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(span.inverse_nonlinearity(name)(forward(values)), values, atol=1e-12)


def test_inverse_of_unknown_nonlinearity_raises():
    with pytest.raises(MemorizationError):
        span.inverse_nonlinearity("relu")


def test_nonlinear_span_residual_zero_for_phi_of_combinations():
    rng = np.random.default_rng(2)
    examples = rng.uniform(0.1, 0.9, size=(3, 10))
    coefficients = rng.normal(0.0, 0.3, size=(4, 3))
    outputs = np.tanh(coefficients @ np.arctanh(examples))
    residual = span.nonlinear_span_residual(outputs, examples, np.arctanh)
    np.testing.assert_allclose(residual, 0.0, atol=1e-12)


def test_nonlinear_span_residual_of_an_orthogonal_output_is_one():
    examples = np.array([[0.5, 0.0, 0.0]])
    outputs = np.tanh(np.array([[0.0, 0.3, 0.0], [0.2, 0.0, 0.2]]))
    residual = span.nonlinear_span_residual(outputs, examples, np.arctanh)
    np.testing.assert_allclose(residual, [1.0, 1 / np.sqrt(2)], atol=1e-12)


def test_nonlinear_span_residual_reports_outputs_outside_phis_range_as_nan():
    residual = span.nonlinear_span_residual(np.array([[1.5, 0.0], [0.1, 0.0]]), np.array([[0.5, 0.0]]), np.arctanh)
    assert np.isnan(residual[0]) and residual[1] == pytest.approx(0.0)
    with pytest.raises(MemorizationError):
        span.nonlinear_span_residual(np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.arctanh)


def test_gradient_descent_from_zero_keeps_single_layer_in_the_nonlinear_span(keras_float64):
    """C2's mechanism end to end on a tiny problem: phi(Wx) trained by GD from W = 0."""
    keras = keras_float64
    from memorization.models.mlp import build_single_layer
    from memorization.training import TrainingOptions, fit_full_batch

    rng = np.random.default_rng(3)
    examples = rng.uniform(0.2, 0.8, size=(2, 6))
    model = build_single_layer(6, nonlinearity="tanh", initializer="zeros", dtype="float64")
    fit_full_batch(model, examples, examples, optimizer=keras.optimizers.SGD(learning_rate=2.0),
                   max_steps=3000, options=TrainingOptions(steps_per_chunk=1000), log=lambda message: None)
    apply = lambda z: keras.ops.convert_to_numpy(model(z))  # noqa: E731
    assert np.max(np.abs(apply(examples) - examples)) < 1e-3
    points = rng.uniform(size=(5, 6))
    np.testing.assert_allclose(span.projection_gap(apply, points, examples), 0.0, atol=1e-12)
    residual = span.nonlinear_span_residual(apply(points), examples, np.arctanh)
    assert np.all(residual < 1e-2)
    assert np.all(span.span_residual(apply(points), examples) > 1e-3)  # outputs leave the linear span


# Nearly dependent examples: singular values about 1.4 and 1e-6, so rank 2 by default and rank 1
# when singular values below 1e-3 of the largest count as zero.
NEARLY_DEPENDENT = np.array([[1.0, 0.0, 0.0], [1.0, 1e-6, 0.0]])


def test_rtol_decides_the_rank_everywhere_the_span_is_used():
    assert span.span_basis(NEARLY_DEPENDENT).shape == (2, 3)
    assert span.span_basis(NEARLY_DEPENDENT, rtol=1e-3).shape == (1, 3)
    assert np.trace(span_projector(NEARLY_DEPENDENT, rtol=1e-3)) == pytest.approx(1.0)
    point = np.array([[0.0, 1.0, 0.0]])  # in the rank-2 span, orthogonal to the rank-1 one (up to 1e-6)
    np.testing.assert_allclose(span.project_onto_span(point, NEARLY_DEPENDENT, rtol=1e-3), [[0.0, 0.0, 0.0]],
                               atol=1e-6)
    assert span.span_residual(point, NEARLY_DEPENDENT) == pytest.approx([0.0], abs=1e-12)
    assert span.span_residual(point, NEARLY_DEPENDENT, rtol=1e-3) == pytest.approx([1.0], abs=1e-6)
    # f(z) = z: the gap ||f(z) - f(P z)|| / ||f(z)|| is the residual of z itself.
    assert span.projection_gap(lambda z: z, point, NEARLY_DEPENDENT, rtol=1e-3) == pytest.approx([1.0], abs=1e-6)
    assert span.projection_gap(lambda z: z, point, NEARLY_DEPENDENT) == pytest.approx([0.0], abs=1e-12)
    linear = span.inverse_nonlinearity("linear")
    assert span.nonlinear_span_residual(point, NEARLY_DEPENDENT, linear, rtol=1e-3) == pytest.approx([1.0], abs=1e-6)
    assert span.nonlinear_span_residual(point, NEARLY_DEPENDENT, linear) == pytest.approx([0.0], abs=1e-12)


def test_degenerate_example_sets():
    np.testing.assert_allclose(np.abs(span.span_basis([[5.0]])), [[1.0]])  # one example, one pixel
    assert span.span_basis(np.zeros((0, 3))).shape == (0, 3)  # no examples: the empty span
    assert span.span_basis(np.zeros((2, 3))).shape == (0, 3)  # zero examples span nothing
    np.testing.assert_array_equal(span_projector(np.zeros((2, 3))), np.zeros((3, 3)))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda bad: span.span_basis(bad), "examples"),
        (lambda bad: span.project_onto_span(bad, EXAMPLES), "points"),
        (lambda bad: span.span_residual(bad, EXAMPLES), "points"),
        (lambda bad: span.relative_norm(bad, np.ones((1, 3))), "difference"),
        (lambda bad: span.relative_norm(np.ones((1, 3)), bad), "reference"),
        (lambda bad: span.projection_gap(lambda z: z, bad, EXAMPLES), "points"),
        (lambda bad: span.nonlinear_span_residual(bad, EXAMPLES, np.arctanh), "outputs"),
        (lambda bad: span.nonlinear_span_residual(np.zeros((1, 3)), bad, np.arctanh), "examples"),
    ],
)
def test_arrays_that_are_not_rows_are_named_in_the_error(call, name):
    with pytest.raises(MemorizationError) as error:
        call(np.zeros(3))
    assert str(error.value) == f"{name} must be a 2-D array of rows (n, d), got shape (3,)"


def test_zero_rows_give_no_floating_point_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (0/0, log 0) would fail the test
        np.testing.assert_array_equal(span.relative_norm(np.zeros((1, 2)), np.zeros((1, 2))), [0.0])
        assert span.relative_norm(np.ones((1, 2)), np.zeros((1, 2)))[0] == np.inf
        residual = span.nonlinear_span_residual(np.array([[1.0, 0.0]]), np.array([[0.5, 0.0]]), np.arctanh)
        assert np.isnan(residual[0])


def test_leaky_relu_inverse_at_zero_and_unknown_names():
    inverse = span.inverse_nonlinearity("leaky_relu", negative_slope=0.5)
    np.testing.assert_array_equal(inverse(np.array([-1.0, 0.0, 2.0])), [-2.0, 0.0, 2.0])
    assert span.inverse_nonlinearity("linear")(np.array([1, 2])).dtype == np.float64
    with pytest.raises(MemorizationError) as error:
        span.inverse_nonlinearity("relu")
    assert str(error.value) == "no inverse for nonlinearity 'relu'; use tanh, sigmoid, leaky_relu or linear"
    with pytest.raises(MemorizationError) as error:
        span.nonlinear_span_residual(np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.arctanh)
    assert str(error.value) == (
        "phi^-1 of a training example is not finite: rescale the images into phi's open range")
