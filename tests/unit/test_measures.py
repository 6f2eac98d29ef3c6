"""The measure steps of C4, C8 and C6/C7, C10's basins, C3's local contraction and C2's span prediction on small synthetic models whose answers are known.

Every model here is a map whose attractors are built in: within RMS distance ``radius`` of its
nearest training image x_k the map is z -> x_k + (z - x_k) / 2 (so x_k attracts, and each step
halves the distance to it); farther away it sends bright inputs (mean pixel above 0.45, such as
uniform noise) straight to x_0 and shrinks the others, z -> z / 2 (a spurious attractor at 0), or,
for the basin test, doubles them, z -> 2 z (divergence). The data sets are written as real prepared files and
read back through the steps' own loaders; only the loading of the model is replaced, by a
plain NumPy object that has the ``predict_on_batch`` the iteration helpers call.
"""

import itertools
import json

import numpy as np
import pytest

from memorization import data, files

HALF = 0.5


def rms(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)))


def steps_to_converge(distance: float, tol: float) -> int:
    """Applications of a map that halves the distance to its fixed point until a step is < tol.

    Step k moves the point by distance / 2**k."""
    return next(k for k in itertools.count(1) if distance * HALF**k < tol)


class AttractorMap:
    """A NumPy stand-in for a trained autoencoder with known attractors (module docstring)."""

    compute_dtype = "float64"

    def __init__(self, examples, radius: float, far: str = "shrink"):
        self.examples = np.asarray(examples, dtype=np.float64).reshape(len(examples), -1)
        self.radius = radius
        self.far = far

    def predict_on_batch(self, batch):
        batch = np.asarray(batch, dtype=np.float64)
        rows = batch.reshape(len(batch), -1)
        distances = np.sqrt(((rows[:, None, :] - self.examples[None]) ** 2).mean(axis=2))
        nearest = distances.argmin(axis=1)
        near = distances[np.arange(len(rows)), nearest] < self.radius
        far = HALF * rows if self.far == "shrink" else 2.0 * rows
        if self.far == "shrink":
            far = np.where(rows.mean(axis=1, keepdims=True) > 0.45, self.examples[0], far)
        outputs = np.where(near[:, None], self.examples[nearest] + HALF * (rows - self.examples[nearest]), far)
        # An all-white input stands for a start the net maps to NaN (a diverged forward pass).
        outputs[np.all(rows == 1.0, axis=1)] = np.nan
        return outputs.reshape(batch.shape)


def shifted(image, pixels: int, levels: int):
    """``image`` with its first ``pixels`` pixel values raised by ``levels`` grey levels."""
    copy = image.copy().reshape(-1)
    copy[:pixels] += levels
    return copy.reshape(image.shape)


def write_dataset(path, train, test):
    train, test = np.asarray(train, np.uint8), np.asarray(test, np.uint8)
    files.write_npz(
        path,
        x=np.concatenate([train, test]),
        y=np.zeros(len(train) + len(test), np.uint8),
        split=np.array([data.TRAIN] * len(train) + [data.TEST] * len(test)),
        index=np.concatenate([np.arange(len(train)), np.arange(len(test))]),
    )
    return str(path)


def write_training(path, positions):
    path.write_text(json.dumps({
        "positions": list(positions),
        "result": {"steps": 7, "final_loss": 1.0e-9, "reached_threshold": True},
    }))
    return str(path)


@pytest.fixture
def mnist_like(tmp_path):
    """Three training images (pixel values <= 200, so shifts never clip) and four test images:
    one 0.045 RMS from training image 0, one 0.0098 from image 1, two unrelated ones."""
    rng = np.random.default_rng(11)
    train = rng.integers(0, 201, size=(3, 28, 28))
    test = np.stack([
        shifted(train[0], 64, 40),
        shifted(train[1], 49, 10),
        rng.integers(0, 201, size=(28, 28)),
        rng.integers(0, 201, size=(28, 28)),
    ])
    return write_dataset(tmp_path / "mnist.npz", train, test), train / 255.0, test / 255.0


def c4_settings(**overrides):
    settings = {
        "claim": "c4", "dataset": "mnist", "seed": 5, "float_dtype": "float64", "model": {"n_train": 3},
        "n_test_starts": 4, "n_noise_starts": 6, "n_noisy_train_starts": 5, "noisy_train_sigma": 0.005,
        "max_steps": 60, "tol": 1.0e-6, "eps": 0.02, "gallery_starts": 2,
    }
    return {**settings, **overrides}


# C4 starts from noisy copies of the training images, C9 from noisy copies of the frames; both nets
# of a C9 case see the same starts, as they depend on the seed and the frames only.
STARTING_POINTS = {
    "c4": (c4_settings(noisy_train_sigma=0.0), "noisy_train", "noisy_train_sigma"),
    "c9": ({"seed": 5, "n_test_starts": 4, "n_noise_starts": 6, "n_noisy_frame_starts": 5, "noisy_frame_sigma": 0.0},
           "noisy_frames", "noisy_frame_sigma"),
}


@pytest.mark.parametrize("claim", sorted(STARTING_POINTS))
def test_starting_points_come_from_the_test_split_noise_and_noisy_copies_drawn_by_the_seed(claim, mnist_like):
    import importlib

    module = importlib.import_module(f"memorization.experiments.{claim}")
    settings, copies, sigma = STARTING_POINTS[claim]
    path, train, test = mnist_like
    arrays = data.load_prepared(path, "mnist")
    images = train.reshape(3, -1)
    starts = module.starting_points(settings, arrays, images)
    assert set(starts) == {"noise", "test", copies}
    np.testing.assert_array_equal(starts["test"], test.reshape(4, -1))  # the whole (4-image) test split
    assert starts["test"].dtype == np.float64
    assert starts["noise"].shape == (6, 784) and 0.0 <= starts["noise"].min() and starts["noise"].max() <= 1.0
    # Noisy copies cycle through the images: copy i belongs to image i mod n.
    np.testing.assert_array_equal(starts[copies], images[[0, 1, 2, 0, 1]])
    noisy = module.starting_points({**settings, sigma: 0.1}, arrays, images)
    assert 0.05 < np.std(noisy[copies] - images[[0, 1, 2, 0, 1]]) < 0.2
    # The same seed gives the same starts; another seed other noise and, with fewer test starts
    # than test images, other test images.
    again = module.starting_points({**settings, sigma: 0.1}, arrays, images)
    assert all(np.array_equal(again[name], noisy[name]) for name in noisy)
    other_seed = module.starting_points({**settings, sigma: 0.1, "seed": 6}, arrays, images)
    assert not np.allclose(other_seed["noise"], again["noise"])
    picks = [module.starting_points({**settings, "n_test_starts": 2, "seed": seed}, arrays, images)["test"]
             for seed in (0, 0, 1, 2)]
    np.testing.assert_array_equal(picks[0], picks[1])
    assert any(not np.array_equal(picks[0], other) for other in picks[2:])


@pytest.mark.keras  # as_numpy_map imports Keras
def test_c4_measure_counts_starts_reaching_training_images(mnist_like, tmp_path, monkeypatch):
    import memorization.models.mlp as mlp
    from memorization.experiments import c4

    path, train, test = mnist_like
    monkeypatch.setattr(mlp, "load_model", lambda _: AttractorMap(train, radius=0.05))
    settings = c4_settings()
    inputs = {"data": path, "training": write_training(tmp_path / "training.json", [0, 1, 2]), "model": "unused"}
    outputs = {"metrics": tmp_path / "metrics.json", "examples": tmp_path / "examples.npz"}
    metrics = c4.measure(settings, inputs, outputs, log=lambda _: None)["metrics"]

    near = [rms(test[0], train[0]), rms(test[1], train[1])]
    assert 0.04 < near[0] < 0.05 and 0.009 < near[1] < 0.01
    # Test starts: two reach (images 0 and 1), two shrink to the spurious fixed point 0.
    assert metrics["test_fraction_reaching"] == 0.5 and metrics["test_distinct_reached"] == 2
    assert metrics["test_spurious_starts"] == 2 and metrics["test_distinct_spurious"] == 1
    assert metrics["test_fraction_converged"] == 1.0 and metrics["test_fraction_diverged"] == 0.0
    # One step halves the distance: only the start 0.0098 away ends within eps = 0.02.
    assert metrics["test_one_step_fraction_reaching"] == 0.25
    far_steps = [steps_to_converge(rms(image, 0.0), settings["tol"]) for image in test[2:]]
    expected_steps = [steps_to_converge(distance, settings["tol"]) for distance in near] + far_steps
    assert metrics["test_median_steps"] == np.median(expected_steps)
    # Noise starts are bright: one step sends them onto training image 0, the next finds it fixed.
    assert metrics["noise_fraction_reaching"] == 1.0 and metrics["noise_distinct_reached"] == 1
    assert metrics["noise_one_step_fraction_reaching"] == 1.0 and metrics["noise_spurious_starts"] == 0
    assert metrics["noise_median_steps"] == 2 and metrics["noise_distinct_spurious"] == 0
    assert metrics["noisy_train_fraction_reaching"] == 1.0 and metrics["noisy_train_distinct_reached"] == 3
    # Pooled over the 4 test and 6 noise starts, weighted by their counts: (2 + 6) / 10.
    assert metrics["test_and_noise_fraction_reaching"] == pytest.approx(0.8, abs=1e-15)
    assert metrics["train_steps"] == 7 and metrics["train_reached_threshold"] is True

    record = json.loads(outputs["metrics"].read_text())
    assert record["claim"] == "c4" and record["metrics"] == json.loads(json.dumps(metrics))
    examples = np.load(outputs["examples"])
    steps = c4.gallery_steps(60)
    assert examples["test_snapshots"].shape == (len(steps), 2, 784)
    np.testing.assert_array_equal(examples["test_nearest"], [0, 1])
    np.testing.assert_array_equal(examples["test_steps"], expected_steps[:2])
    np.testing.assert_array_equal(examples["gallery_steps"], steps)
    np.testing.assert_allclose(examples["test_snapshots"][0], test[:2].reshape(2, -1))


@pytest.fixture
def cifar_like(tmp_path):
    """Two colour training images and four test images: 0.0098 RMS from image 0, 0.045 from
    image 1, an unrelated image and an all-white one (which the model maps to NaN)."""
    rng = np.random.default_rng(12)
    train = rng.integers(0, 201, size=(2, 32, 32, 3))
    test = np.stack([
        shifted(train[0], 196, 10),
        shifted(train[1], 256, 40),
        rng.integers(0, 201, size=(32, 32, 3)),
        np.full((32, 32, 3), 255),
    ])
    return write_dataset(tmp_path / "cifar10.npz", train, test), train / 255.0, test / 255.0


@pytest.mark.keras  # as_numpy_map imports Keras
def test_c8_measure_one_pass_iterates_and_pooled_fractions(cifar_like, tmp_path, monkeypatch):
    import memorization.models
    from memorization.experiments import c8

    path, train, test = cifar_like
    monkeypatch.setattr(memorization.models, "load_model", lambda _: AttractorMap(train, radius=0.1))
    settings = {
        "claim": "c8", "dataset": "cifar10", "side": 32, "seed": 3, "n_test_starts": 4, "n_noise_starts": 2,
        "iterations": 60, "tol": 1.0e-6, "eps": 0.02, "gallery_starts": 4,
    }
    inputs = {"data": path, "training": write_training(tmp_path / "training.json", [0, 1]), "model": "unused"}
    outputs = {"metrics": tmp_path / "metrics.json", "examples": tmp_path / "examples.npz"}
    metrics = c8.measure(settings, inputs, outputs, log=lambda _: None)["metrics"]

    near = [rms(test[0], train[0]), rms(test[1], train[1])]
    assert near[0] < settings["eps"] < HALF * near[1]
    assert metrics["train_fixed_point_error_max"] == 0.0
    assert metrics["test_input_near_training"] == 0.25
    # One pass halves the distance: only start 0 ends within eps of a training image or of itself;
    # the NaN output of the white start counts as neither.
    assert metrics["test_one_pass_reaching"] == 0.25 and metrics["test_one_pass_near_input"] == 0.25
    far = min(rms(HALF * test[2], image) for image in train)
    assert metrics["test_one_pass_distance_median"] == pytest.approx(np.median([near[0] / 2, near[1] / 2, far, np.inf]))
    assert metrics["test_fraction_reaching"] == 0.5 and metrics["test_distinct_reached"] == 2
    assert metrics["test_fraction_diverged"] == 0.25 and metrics["test_fraction_converged"] == 0.75
    assert metrics["test_spurious_starts"] == 1
    # Noise starts are bright: one pass sends them onto training image 0, far from where they began.
    assert metrics["noise_fraction_reaching"] == 1.0 and metrics["noise_one_pass_reaching"] == 1.0
    assert metrics["noise_one_pass_near_input"] == 0.0 and metrics["noise_input_near_training"] == 0.0
    # Pooled over the 4 test and 2 noise starts by their counts.
    assert metrics["test_and_noise_fraction_reaching"] == pytest.approx((2 + 2) / 6, abs=1e-15)
    assert metrics["test_and_noise_one_pass_reaching"] == pytest.approx((1 + 2) / 6, abs=1e-15)
    assert metrics["test_and_noise_one_pass_near_input"] == pytest.approx((1 + 0) / 6, abs=1e-15)
    examples = np.load(outputs["examples"])
    assert examples["test_snapshots"].shape == (3, 4, 32 * 32 * 3) and np.all(np.isfinite(examples["test_snapshots"]))
    np.testing.assert_array_equal(examples["test_nearest"], [0, 1, -1, -1])
    np.testing.assert_array_equal(examples["train"], train.reshape(2, -1))


def test_return_probability_and_basin_radius_of_a_known_map(mnist_like):
    """C10's basin helpers: copies within 0.05 of their image return, farther ones double each
    step and diverge, so the radius is the largest grid level below 0.05."""
    from memorization.analysis.basins import basin_radius, return_probability

    _, train, _ = mnist_like
    examples = train.reshape(3, -1)
    model = AttractorMap(train, radius=0.05, far="double")
    levels = np.array([0.0, 0.01, 1.0])
    probability = return_probability(model.predict_on_batch, examples, levels, copies=4, max_steps=60, tol=1.0e-6,
                                      eps=0.01, seed=2)
    np.testing.assert_array_equal(probability, [[1, 1, 1], [1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(basin_radius(levels, probability, 0.9), [0.01, 0.01, 0.01])
    # Shuffled levels give the same radius; one return at a large level after a failure does not count.
    np.testing.assert_array_equal(basin_radius(levels[::-1], probability[::-1], 0.9), [0.01, 0.01, 0.01])
    gappy = np.array([[1.0], [0.5], [1.0]])
    assert basin_radius(levels, gappy, 0.9) == 0.0 and basin_radius(levels, gappy[:, 0], 0.5) == 1.0


def test_fc_local_contraction_of_an_affine_map_with_a_known_jacobian(keras_float64):
    """f(x) = x0 + A (x - x0): J_f = A everywhere, x0 is fixed, x1 is not."""
    from memorization.experiments import fc

    keras = keras_float64
    a = np.array([[0.5, 3.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.25]])  # rho 0.5, non-normal
    x0, x1 = np.array([0.2, 0.4, 0.6]), np.array([0.9, 0.1, 0.3])
    model = keras.Sequential([keras.Input((3,), dtype="float64"), keras.layers.Dense(3, dtype="float64")])
    model.layers[0].set_weights([a.T, x0 - a @ x0])
    local = fc.local_contraction(model, np.stack([x0, x1]), fixed_point_tol=1e-6, radius_margin=1e-3)
    # sigma_max of [[1/2, 3], [0, 1/2]]: sqrt of the top eigenvalue of its Gram matrix
    # [[1/4, 3/2], [3/2, 37/4]], trace 19/2 and determinant 1/16.
    sigma = np.sqrt((9.5 + np.sqrt(9.5**2 - 4 / 16)) / 2)
    np.testing.assert_allclose(local["spectral_radius"], [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(local["top_singular_value"], [sigma, sigma], rtol=1e-12)
    expected_error = rms((a - np.eye(3)) @ (x1 - x0), 0.0)
    np.testing.assert_allclose(local["fixed_point_error"], [0.0, expected_error], atol=1e-15)
    np.testing.assert_array_equal(local["attractor"], [True, False])
    assert local["summary"] == {
        "attractor_fraction": 0.5, "attractors": 1, "median_spectral_radius": pytest.approx(0.5),
        "max_spectral_radius": pytest.approx(0.5), "min_spectral_radius": pytest.approx(0.5),
        "median_top_singular_value": pytest.approx(sigma), "max_fixed_point_error": pytest.approx(expected_error),
    }
    # An expanding direction makes x0 a fixed point that does not attract.
    model.layers[0].set_weights([np.diag([1.5, 0.5, 0.5]).T, x0 - np.diag([1.5, 0.5, 0.5]) @ x0])
    expanding = fc.local_contraction(model, x0[None], fixed_point_tol=1e-6, radius_margin=1e-3)
    assert expanding["spectral_radius"] == pytest.approx([1.5]) and expanding["summary"]["attractors"] == 0
    # rho = 0.9999 is below 1 but within the margin 1e-3 of it: not counted as an attractor.
    marginal = np.diag([0.9999, 0.5, 0.5])
    model.layers[0].set_weights([marginal.T, x0 - marginal @ x0])
    assert fc.local_contraction(model, x0[None], fixed_point_tol=1e-6, radius_margin=1e-3)["summary"]["attractors"] == 0
    assert fc.local_contraction(model, x0[None], fixed_point_tol=1e-6, radius_margin=0.0)["summary"]["attractors"] == 1


def test_c2_span_prediction_matches_the_hand_computed_nonlinear_span():
    from memorization.analysis.span import inverse_nonlinearity
    from memorization.experiments.c2 import forward_nonlinearity, span_prediction

    # Examples (1/2, 1/2, 0) and (1/2, 0, 0): P_X z = (0.3, 0.2, 0) = 0.4 x_1 + 0.2 x_2.
    images = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.0]])
    z = np.array([[0.3, 0.2, 5.0]])
    tanh = span_prediction(z, images, inverse_nonlinearity("tanh"), forward_nonlinearity("tanh", 0.0))
    half = np.arctanh(0.5)
    np.testing.assert_allclose(tanh, [[np.tanh(0.6 * half), np.tanh(0.4 * half), 0.0]], atol=1e-14)
    # With phi the identity the prediction is the orthogonal projection itself.
    linear = span_prediction(z, images, inverse_nonlinearity("linear"), forward_nonlinearity("linear", 0.0))
    np.testing.assert_allclose(linear, [[0.3, 0.2, 0.0]], atol=1e-14)
    # Leaky ReLU with slope 0.1 on (0.4 x_1 - 0.2 x_2 ... ) of examples with a negative entry.
    negative = np.array([[-0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    leaky = span_prediction(np.array([[0.25, 0.1, 1.0]]), negative, inverse_nonlinearity("leaky_relu", 0.1),
                            forward_nonlinearity("leaky_relu", 0.1))
    # P_X z = (0.25, 0.1, 0) = -0.5 x_1 + 0.2 x_2; phi^-1(x_1) = (-5, 0, 0), phi^-1(x_2) = x_2.
    np.testing.assert_allclose(leaky, [[2.5, 0.1, 0.0]], atol=1e-14)


def linear_operator_model(keras, matrix, side):
    """A Keras model on (side, side, 1) images computing the flattened image times ``matrix``."""
    model = keras.Sequential([
        keras.Input((side, side, 1), dtype="float64"),
        keras.layers.Flatten(dtype="float64"),
        keras.layers.Dense(side * side, use_bias=False, dtype="float64"),
        keras.layers.Reshape((side, side, 1), dtype="float64"),
    ])
    model.layers[1].set_weights([matrix.T])
    return model


@pytest.mark.parametrize("depth, covers", [(1, False), (2, True)])
def test_measure_linear_reads_a_known_operator(keras_float64, tmp_path, depth, covers):
    """A = P_x + 0.3 q q^T with q orthogonal to the training image x: eigenvalues 1 (vector x),
    0.3 (vector q) and 0."""
    from memorization.experiments import conv

    side = 3
    rng = np.random.default_rng(4)
    train = rng.integers(0, 256, size=(1, 28, 28))
    path = write_dataset(tmp_path / "mnist.npz", train, rng.integers(0, 256, size=(2, 28, 28)))
    x = conv.grey_images(train, side).reshape(-1)
    unit_x = x / np.linalg.norm(x)
    q = np.zeros(side * side)
    q[0], q[1] = unit_x[1], -unit_x[0]
    q /= np.linalg.norm(q)
    operator = np.outer(unit_x, unit_x) + 0.3 * np.outer(q, q)
    model_path = tmp_path / "model.keras"
    linear_operator_model(keras_float64, operator, side).save(model_path)
    settings = {
        "claim": "c6", "dataset": "mnist", "side": side, "architecture": "stride1", "depth": depth, "seed": 0,
        "float_dtype": "float64", "initializer": "fan_in_uniform", "noise_samples": 40, "n": 1,
    }
    inputs = {"data": path, "training": write_training(tmp_path / "training.json", [0]), "model": str(model_path)}
    outputs = {"metrics": tmp_path / "metrics.json", "examples": tmp_path / "examples.npz"}
    metrics = conv.measure_linear(settings, inputs, outputs, log=lambda _: None, claim="c6")["metrics"]

    assert metrics["is_linear"] is True and metrics["linearity_error"] < 1e-12
    assert metrics["receptive_field_covers"] is covers and metrics["conv_layers"] == depth
    assert metrics["alignment"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["top_eigenvalue_modulus"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["top_eigenvalue_max_distance_to_one"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["next_eigenvalue_modulus"] == pytest.approx(0.3, abs=1e-12)
    assert metrics["next_to_top_ratio"] == pytest.approx(0.3, abs=1e-12)
    assert metrics["fixed_point_residual"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["operator_frobenius_distance_to_projector"] == pytest.approx(0.3, abs=1e-12)
    # A z keeps the x part of noise whole and a tenth of one other direction's energy: its span
    # alignment is far above that of the identity map, whose output is the noise itself.
    assert metrics["identity_noise_alignment_median"] < 0.6 < metrics["noise_alignment_median"] <= 1.0
    examples = np.load(outputs["examples"])
    # The shown eigenvector of eigenvalue 1 is x itself, with the sign of x (not -x).
    np.testing.assert_allclose(examples["eigenvectors"][0], unit_x, atol=1e-12)
    np.testing.assert_allclose(examples["top_basis"][0], unit_x, atol=1e-12)
    np.testing.assert_allclose(examples["train"], x[None], atol=1e-15)


def test_c5_concordance_compares_nets_of_the_same_seed_only():
    import pandas as pd

    from memorization.experiments import c5

    models = pd.DataFrame([
        {"width": 8, "depth": 1, "n": 4, "seed": 0, "median_spectral_radius": 1.0},
        {"width": 16, "depth": 1, "n": 4, "seed": 0, "median_spectral_radius": 0.9},  # bigger, smaller rho: a win
        {"width": 8, "depth": 1, "n": 4, "seed": 1, "median_spectral_radius": 0.5},
        {"width": 16, "depth": 1, "n": 4, "seed": 1, "median_spectral_radius": 1.2},  # bigger, larger rho: a loss
    ])
    # Across seeds both pairs would be losses (1.0 -> 1.2, 0.5 -> 0.9): 1 of 4 instead of 1 of 2.
    assert c5.size_concordance(models) == (0.5, 2)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "leaky_relu", "linear"])
def test_c2_forward_nonlinearities_are_undone_by_the_span_inverses(name):
    from memorization.analysis.span import inverse_nonlinearity
    from memorization.experiments.c2 import forward_nonlinearity

    h = np.linspace(-3.0, 3.0, 13)
    forward = forward_nonlinearity(name, negative_slope=0.1)
    np.testing.assert_allclose(inverse_nonlinearity(name, negative_slope=0.1)(forward(h)), h, atol=1e-12)
    known = {"tanh": np.tanh(1.0), "sigmoid": 0.75, "leaky_relu": -0.2, "linear": -2.0}
    point = {"tanh": 1.0, "sigmoid": np.log(3.0), "leaky_relu": -2.0, "linear": -2.0}[name]
    assert float(forward(np.float64(point))) == pytest.approx(known[name], abs=1e-12)
