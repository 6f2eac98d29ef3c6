"""Operator extraction, linearity check, eigen statistics and L* (C6, C7)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

from memorization.analysis import operator as op
from memorization.errors import ConfigError
from memorization.models import conv


def hand_built_conv_matrix(kernel: np.ndarray, side: int) -> np.ndarray:
    """Matrix of a 1-channel 3x3 'same' cross-correlation with zero padding, row-major pixels."""
    matrix = np.zeros((side * side, side * side))
    for row in range(side):
        for col in range(side):
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    r, c = row + dr, col + dc
                    if 0 <= r < side and 0 <= c < side:
                        matrix[row * side + col, r * side + c] = kernel[dr + 1, dc + 1]
    return matrix


def linear_net_with_kernels(side, kernels):
    model = conv.build_linear_conv(side, len(kernels), seed=0)
    conv_layers = [layer for layer in model.layers if "conv" in layer.name]
    for layer, kernel in zip(conv_layers, kernels):
        layer.set_weights([kernel.reshape(3, 3, 1, 1)])
    return model


@pytest.mark.parametrize("side", [1, 2, 3, 5])
def test_operator_of_one_conv_equals_hand_built_matrix(side):
    kernel = np.arange(1.0, 10.0).reshape(3, 3) - 4.5  # asymmetric: catches a flipped kernel
    model = linear_net_with_kernels(side, [kernel])
    matrix = op.extract_operator(op.model_function(model), (side, side, 1))
    np.testing.assert_allclose(matrix, hand_built_conv_matrix(kernel, side), rtol=0, atol=1e-13)


def test_operator_of_three_convs_is_the_product_of_their_matrices():
    rng = np.random.default_rng(1)
    kernels = [rng.standard_normal((3, 3)) for _ in range(3)]
    side = 4
    model = linear_net_with_kernels(side, kernels)
    matrix = op.extract_operator(op.model_function(model), (side, side, 1))
    expected = np.eye(side * side)
    for kernel in kernels:  # the first layer acts first, so it is the rightmost factor
        expected = hand_built_conv_matrix(kernel, side) @ expected
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-12)
    image = rng.random((1, side, side, 1))
    np.testing.assert_allclose(matrix @ image.ravel(), op.model_function(model)(image).ravel(), atol=1e-12)


def test_operator_of_a_plain_function_and_its_flattening_order():
    weights = np.random.default_rng(2).standard_normal((12, 12))

    def apply(images):
        return (images.reshape(len(images), -1) @ weights.T).reshape(images.shape)

    np.testing.assert_allclose(op.extract_operator(apply, (2, 2, 3)), weights, atol=1e-14)
    with pytest.raises(ConfigError, match="sends images"):
        op.extract_operator(lambda images: images[:, :1], (2, 2))


@pytest.mark.parametrize(
    "build",
    [
        lambda: conv.build_linear_conv(5, 4, seed=3),
        lambda: conv.build_downsampling_conv(6, 2, 3, seed=3),
    ],
)
def test_linearity_check_passes_on_linear_nets(build):
    model = build()
    check = op.check_linearity(op.model_function(model), model.input_shape[1:])
    assert check.is_linear
    assert check.max_relative_error < 1e-13


def test_linearity_check_fails_on_a_nonlinear_net():
    model = conv.build_nonlinear_conv(8, 2, 4, channels_in=1, seed=0, dtype="float64")
    check = op.check_linearity(op.model_function(model), (8, 8, 1))
    assert not check.is_linear
    assert check.max_relative_error > 1e-3


def test_linearity_check_fails_on_an_affine_map_and_on_a_relu():
    shape = (3, 3)
    assert not op.check_linearity(lambda z: 2.0 * z + 0.1, shape).is_linear
    assert not op.check_linearity(lambda z: np.maximum(z, 0.0), shape).is_linear
    assert op.check_linearity(lambda z: -3.0 * z, shape).is_linear


def test_linearity_tolerance_follows_the_dtype():
    float32_model = conv.build_linear_conv(4, 3, dtype="float32")
    check = op.check_linearity(op.model_function(float32_model), (4, 4, 1), dtype="float32")
    assert check.is_linear
    assert check.tolerance == pytest.approx(1e4 * np.finfo(np.float32).eps)


def test_eigen_decomposition_sorts_by_modulus_and_keeps_complex_pairs():
    rotation = np.array([[0.0, -2.0], [2.0, 0.0]])
    matrix = np.zeros((3, 3))
    matrix[:2, :2] = rotation
    matrix[2, 2] = 1.0
    eigen = op.eigen_decomposition(matrix)
    np.testing.assert_allclose(np.abs(eigen.values), [2.0, 2.0, 1.0])
    np.testing.assert_allclose(matrix @ eigen.vectors, eigen.vectors * eigen.values, atol=1e-12)
    diagonal = op.eigen_decomposition(np.diag([0.5, -3.0, 1.0]))
    np.testing.assert_allclose(diagonal.values, [-3.0, 1.0, 0.5])
    assert np.isrealobj(diagonal.values)


def test_rank_one_projector_memorizes_and_identity_does_not():
    rng = np.random.default_rng(4)
    image = rng.random((1, 4, 4, 1))
    x = image.ravel()
    projector = np.outer(x, x) / (x @ x)
    summary = op.summarize_operator(projector, image)
    np.testing.assert_allclose(summary.alignments, [1.0], atol=1e-12)
    assert summary.top_eigenvalues[0] == pytest.approx(1.0)
    assert summary.next_eigenvalue_modulus == pytest.approx(0.0, abs=1e-12)
    assert summary.fixed_point_residual == pytest.approx(0.0, abs=1e-12)
    assert op.is_memorized(summary, 0.99)
    # A convolution-like operator that fits x exactly but is not a projector onto x.
    perturbed = projector + 0.5 * (np.eye(16) - projector) @ np.diag(np.linspace(1.5, 2.5, 16)) @ (np.eye(16) - projector)
    assert not op.is_memorized(op.summarize_operator(perturbed, image), 0.99)
    noisy = op.noise_alignment(projector, image, samples=20)
    np.testing.assert_allclose(noisy, 1.0, atol=1e-12)
    identity_baseline = op.noise_alignment(np.eye(16), image, samples=200, seed=1)
    assert identity_baseline.mean() < 0.5  # ~ sqrt(1/16) for zero-mean noise


def test_span_alignment_of_several_images():
    rng = np.random.default_rng(5)
    images = rng.random((3, 5, 5))
    columns = images.reshape(3, -1).T
    inside = columns @ rng.standard_normal(3)
    orthogonal = rng.standard_normal(25)
    orthogonal -= columns @ np.linalg.lstsq(columns, orthogonal, rcond=None)[0]
    mixed = inside / np.linalg.norm(inside) + orthogonal / np.linalg.norm(orthogonal)
    alignment = op.span_alignment(np.stack([inside, orthogonal, mixed], axis=1), images)
    np.testing.assert_allclose(alignment, [1.0, 0.0, np.sqrt(0.5)], atol=1e-12)
    projector = columns @ np.linalg.pinv(columns)
    summary = op.summarize_operator(projector, images)
    assert summary.alignments.shape == (3,)
    np.testing.assert_allclose(summary.alignments, 1.0, atol=1e-10)
    assert summary.next_eigenvalue_modulus < 1e-10


def test_minimal_memorizing_depth_on_a_tiny_case():
    assert op.minimal_memorizing_depth([4, 1, 3, 2], [True, False, True, False]) == 3
    assert op.minimal_memorizing_depth([1, 2, 3], [False, False, False]) is None
    assert op.minimal_memorizing_depth([1, 2, 3, 4], [False, True, False, True]) == 2
    assert op.minimal_memorizing_depth([1, 2, 3, 4], [False, True, False, True], stable=True) == 4
    with pytest.raises(ConfigError, match="once"):
        op.minimal_memorizing_depth([1, 1], [True, False])


def test_minimal_memorizing_depth_from_operators_of_a_tiny_sweep():
    """A hand-made sweep: A_L = P + c (I - P), c = 1.5 below depth 3 - offset and 0.5 from there on."""
    image = np.arange(1.0, 5.0).reshape(1, 2, 2)
    x = image.ravel()
    projector = np.outer(x, x) / (x @ x)
    rows = []
    for seed, offset in ((0, 0), (1, 1)):
        for depth in range(1, 6):
            leak = 1.5 if depth + offset < 3 else 0.5
            matrix = projector + leak * (np.eye(4) - projector)
            summary = op.summarize_operator(matrix, image)
            rows.append({"side": 2, "seed": seed, "depth": depth, "memorized": op.is_memorized(summary, 0.99)})
    table = op.minimal_memorizing_depths(rows)
    assert table["l_star"].tolist() == [3, 2]
    assert table["max_depth_tested"].tolist() == [5, 5]
    never = op.minimal_memorizing_depths([{"side": 4, "seed": 0, "depth": 1, "memorized": False}])
    assert np.isnan(never["l_star"].iloc[0])


@pytest.mark.parametrize("side", [1, 2, 3, 4, 6])
def test_receptive_field_depth_matches_the_support_of_the_operator(side):
    """With all-ones kernels, A has no zero entry exactly from depth side - 1 on."""
    expected = op.stride1_receptive_field_depth(side)
    assert expected == max(1, side - 1)
    for depth in range(1, side + 2):
        model = conv.build_linear_conv(side, depth, initializer="ones")
        matrix = op.extract_operator(op.model_function(model), (side, side, 1))
        assert op.covers_image(matrix) == (depth >= expected)


def test_is_memorized_is_strict_needs_linearity_and_checks_its_threshold():
    image = np.arange(1.0, 5.0).reshape(1, 2, 2)
    x = image.ravel()
    summary = op.summarize_operator(np.outer(x, x) / (x @ x), image)
    assert op.is_memorized(summary, 1.0) is False  # alignment 1 is not above 1
    assert op.is_memorized(summary, 0.99) is True and op.is_memorized(summary, 0.99, linear=False) is False
    many = op.is_memorized(np.array([0.995, 0.995, 0.99, 0.98, np.nan]), 0.99, linear=[True, False, True, True, True])
    np.testing.assert_array_equal(many, [True, False, False, False, False])
    for threshold in (0.0, 1.5, -0.2):
        with pytest.raises(ConfigError, match=r"alignment_threshold must lie in \(0, 1\]"):
            op.is_memorized(summary, threshold)


def test_the_workflow_memorization_table_uses_the_tested_rule():
    """experiments/conv.memorization_table (C6, C7) decides through operator.is_memorized."""
    import pandas as pd

    from memorization.experiments import conv as conv_experiment

    runs = {"a": (0.995, 1.0), "b": (0.995, 0.0), "c": (0.99, 1.0), "d": (0.5, 1.0)}
    rows = [
        {"run": run, "architecture": "stride1", "side": 4, "depth": depth, "stages": None, "channels": None, "n": 1,
         "seed": 0, "statistic": statistic, "value": value}
        for depth, (run, (alignment, linear)) in enumerate(runs.items(), start=1)
        for statistic, value in (("alignment", alignment), ("is_linear", linear))
    ]
    table = conv_experiment.memorization_table(pd.DataFrame(rows), 0.99)
    assert table.set_index("run")["memorized"].to_dict() == {"a": True, "b": False, "c": False, "d": False}
    assert table.set_index("run")["depth"].to_dict() == {"a": 1, "b": 2, "c": 3, "d": 4}
    with pytest.raises(ConfigError, match="alignment_threshold"):
        conv_experiment.memorization_table(pd.DataFrame(rows), 0.0)


class Recorder:
    """A map on images that remembers the batch it was given (to recompute the check by hand)."""

    def __init__(self, function):
        self.function, self.batches = function, []

    def __call__(self, images):
        self.batches.append(np.array(images))
        return self.function(np.asarray(images, dtype=np.float64))


def test_linearity_error_is_the_largest_relative_defect_over_the_trials():
    """Recomputed from the inputs the check handed to the map: a, b from mixed = a u + b v."""
    square = Recorder(lambda z: 1e-3 * z + 1e-4 * z**2)  # small outputs: sizes below 1 matter
    check = op.check_linearity(square, (2, 3), trials=3, seed=7)
    (batch,) = square.batches
    mixed, u, v = batch[:3].reshape(3, -1), batch[3:6].reshape(3, -1), batch[6:].reshape(3, -1)
    f = square.function
    expected = []
    for m, x, y in zip(mixed, u, v):
        (a, b), *_ = np.linalg.lstsq(np.stack([x, y], axis=1), m, rcond=None)
        combined = a * f(x) + b * f(y)
        expected.append(np.linalg.norm(f(m) - combined) / (np.linalg.norm(f(m)) + np.linalg.norm(combined)))
    assert check.max_relative_error == pytest.approx(max(expected), rel=1e-9)
    assert len(set(np.round(expected, 12))) == 3  # the trials differ, so the maximum is over distinct defects
    assert not check.is_linear
    # The same seed draws the same trials; the default seed is 0.
    assert op.check_linearity(square, (2, 3), trials=3, seed=7) == check
    assert op.check_linearity(square, (2, 3)) == op.check_linearity(square, (2, 3), seed=0)
    assert op.check_linearity(square, (2, 3), seed=1) != op.check_linearity(square, (2, 3), seed=0)


def test_linearity_check_options_and_edge_cases():
    almost = lambda z: z + 1e-6 * z**2  # noqa: E731
    assert not op.check_linearity(almost, (4,)).is_linear
    assert op.check_linearity(almost, (4,), tolerance=1e-3).is_linear  # an explicit tolerance is used
    assert op.check_linearity(almost, (4,), tolerance=1e-3).tolerance == 1e-3
    zero = op.check_linearity(lambda z: 0.0 * z, (3,))
    assert zero.max_relative_error == 0.0 and zero.is_linear  # the zero map is linear
    assert op.check_linearity(lambda z: -z, (3,), trials=1).is_linear
    with pytest.raises(ConfigError) as error:
        op.check_linearity(lambda z: z, (3,), trials=0)
    assert str(error.value) == "trials must be >= 1, got 0"
    # The map sees images in the dtype it was given: u, v and their combination alike.
    recorder = Recorder(lambda z: 2.0 * z)
    assert op.check_linearity(recorder, (2, 2), dtype="float32").is_linear
    assert recorder.batches[0].dtype == np.float32 and recorder.batches[0].shape == (12, 2, 2)


@pytest.mark.parametrize("shape", [(0, 3), (), (2, -1)])
def test_image_shapes_must_be_positive(shape):
    with pytest.raises(ConfigError) as error:
        op.extract_operator(lambda z: z, shape)
    assert str(error.value) == f"image_shape must be a tuple of positive sizes, got {shape!r}"


def test_eigen_decomposition_breaks_modulus_ties_by_real_part_and_normalises():
    eigen = op.eigen_decomposition(np.diag([-1.0, 0.5, 1.0]) @ np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(eigen.values, [1.0, -1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(eigen.vectors, axis=0), 1.0, rtol=1e-14)
    with pytest.raises(ConfigError) as error:
        op.eigen_decomposition(np.zeros((2, 3)))
    assert str(error.value) == "an operator must be a square matrix, got shape (2, 3)"
    with pytest.raises(ConfigError, match=r"got shape \(2, 2, 2\)"):
        op.eigen_decomposition(np.zeros((2, 2, 2)))
    with pytest.raises(ConfigError) as error:
        op.eigen_decomposition(np.array([[1.0, np.nan], [0.0, 1.0]]))
    assert str(error.value) == "the operator has non-finite entries: the network diverged"


def test_span_alignment_edge_cases_and_errors():
    images = np.array([[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(op.span_alignment(np.array([3.0, 4.0, 0.0]), images), [0.6])  # one 1-D vector
    np.testing.assert_array_equal(op.span_alignment(np.zeros((3, 1)), images), [0.0])  # a zero vector
    rng = np.random.default_rng(3)
    examples = rng.random((4, 50))
    inside = examples.T @ rng.standard_normal((4, 300))  # in the span: alignment 1 up to rounding, never above
    alignment = op.span_alignment(inside, examples)
    assert np.all(alignment <= 1.0) and np.all(alignment > 1 - 1e-12)
    with pytest.raises(ConfigError) as error:
        op.span_alignment(np.ones((2, 1)), images)
    assert str(error.value) == "vectors have 2 entries but images have 3 pixels"
    with pytest.raises(ConfigError) as error:
        op.span_alignment(np.ones((3, 1)), np.ones(3))
    assert str(error.value) == "images must be an array (n, ...) of n >= 1 images, got shape (3,)"


def test_operator_summary_of_hand_built_operators():
    # Two images of norm 2 in 3 pixels; A halves them and keeps a third direction at 0.3.
    images = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    matrix = np.diag([0.5, 0.5, 0.3])
    summary = op.summarize_operator(matrix, images)
    assert summary.fixed_point_residual == pytest.approx(0.5)  # ||A x - x|| / ||x|| = ||-1|| / 2
    assert summary.next_eigenvalue_modulus == pytest.approx(0.3)
    assert len(summary.top_eigenvalues) == 3 and summary.min_alignment == pytest.approx(1.0)
    # One image fixed, the other off by its whole length: the worst image counts.
    assert op.summarize_operator(np.diag([1.0, 0.0, 0.0]), images).fixed_point_residual == pytest.approx(1.0)
    # The n + 1 largest eigenvalues are reported, however many pixels there are.
    assert len(op.summarize_operator(np.eye(4), np.eye(1, 4)).top_eigenvalues) == 2
    # As many images as pixels: there is no (n + 1)-th eigenvalue.
    full = op.summarize_operator(np.eye(2), np.array([[1.0, 0.0], [0.0, 3.0]]))
    assert full.next_eigenvalue_modulus == 0.0 and len(full.top_eigenvalues) == 2
    with pytest.raises(ConfigError) as error:
        op.summarize_operator(np.eye(2), images)
    assert str(error.value) == "operator of shape (2, 2) does not act on images of 3 pixels"


def test_noise_alignment_is_seeded_and_is_memorized_takes_flags_as_numbers():
    images = np.array([[1.0, 1.0, 0.0, 0.0]])
    matrix = np.diag([1.0, 1.0, 0.5, 0.5])
    same = op.noise_alignment(matrix, images, samples=5, seed=3)
    np.testing.assert_array_equal(same, op.noise_alignment(matrix, images, samples=5, seed=3))
    assert not np.array_equal(same, op.noise_alignment(matrix, images, samples=5, seed=4))
    np.testing.assert_array_equal(op.noise_alignment(matrix, images, samples=5),
                                  op.noise_alignment(matrix, images, samples=5, seed=0))
    assert op.noise_alignment(matrix, images).shape == (100,)  # 100 samples by default
    flags = op.is_memorized(np.array([0.999, 0.999]), 0.99, linear=np.array([1.0, 0.0]))
    np.testing.assert_array_equal(flags, [True, False])


def test_receptive_field_depth_of_larger_kernels_and_bad_arguments():
    # A k x k kernel widens the field by (k - 1) / 2 pixels per side: ceil((s - 1) / ((k - 1) / 2)).
    assert op.stride1_receptive_field_depth(8, kernel_size=5) == 4  # ceil(7 / 2)
    assert op.stride1_receptive_field_depth(10, kernel_size=7) == 3  # ceil(9 / 3)
    for side, kernel in ((0, 3), (4, 1), (4, 4)):
        with pytest.raises(ConfigError) as error:
            op.stride1_receptive_field_depth(side, kernel)
        assert str(error.value) == f"need side >= 1 and an odd kernel_size >= 3, got {side}, {kernel}"


def test_l_star_tables_check_their_input():
    with pytest.raises(ConfigError) as error:
        op.minimal_memorizing_depth([], [])
    assert str(error.value) == "minimal_memorizing_depth needs at least one (depth, memorized) result"
    with pytest.raises(ValueError):
        op.minimal_memorizing_depth([1, 2], [True])  # one flag per depth
    with pytest.raises(ConfigError) as error:
        op.minimal_memorizing_depths([{"side": 4, "depth": 1}])
    assert str(error.value) == "results lack the column(s) seed, memorized"
    # Groups come out sorted; a single grouping column works; memorized may be 0/1 numbers.
    rows = [{"side": side, "depth": depth, "memorized": float(depth >= side - 1)}
            for side in (6, 3) for depth in (1, 2, 3, 4, 5)]
    table = op.minimal_memorizing_depths(rows, group_by=("side",))
    assert table.to_dict("list") == {"side": [3, 6], "l_star": [2, 5], "max_depth_tested": [5, 5]}
    rows = [{"side": 4, "seed": 0, "depth": depth, "memorized": flag} for depth, flag in ((1, True), (2, False), (3, True))]
    assert op.minimal_memorizing_depths(rows, stable=True)["l_star"].tolist() == [3]
    assert op.minimal_memorizing_depths(rows)["l_star"].tolist() == [1]
