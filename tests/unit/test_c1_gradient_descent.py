"""The linear autoencoder trained by plain GD reaches W = P_X + W0 (I - P_X); Adam does not."""

import numpy as np
import pytest

from memorization.analysis.linalg import span_projector


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(3)
    return rng.uniform(0, 1, size=(2, 6))  # n = 2 examples in d = 6


def train(keras, images, w0, optimizer_name, steps=None):
    from memorization.experiments.c1 import step_schedule
    from memorization.models.linear import linear_autoencoder, weight_matrix
    from memorization.training import fit_full_batch

    settings = {"learning_rate": "auto", "target_distance": 1e-12, "max_steps": 5000}
    if optimizer_name == "adam":
        settings = {"learning_rate": 1e-2, "max_steps": steps}
    schedule = step_schedule(images, settings, optimizer_name)
    model = linear_autoencoder(images.shape[1], initial_kernel=w0.T)
    optimizer = (
        keras.optimizers.SGD(learning_rate=schedule["learning_rate"])
        if optimizer_name == "gd"
        else keras.optimizers.Adam(learning_rate=schedule["learning_rate"])
    )
    result = fit_full_batch(model, images, images, optimizer=optimizer, max_steps=schedule["max_steps"], log=lambda _: None)
    return weight_matrix(model), result, schedule


@pytest.mark.parametrize("init", ["zeros", "random"])
def test_gd_fixed_point_is_projector_plus_untouched_initial_part(keras_float64, tiny_data, init):
    dim = tiny_data.shape[1]
    w0 = np.zeros((dim, dim)) if init == "zeros" else np.random.default_rng(1).normal(0, 0.1, (dim, dim))
    weights, result, schedule = train(keras_float64, tiny_data, w0, "gd")
    projector = span_projector(tiny_data)
    complement = np.eye(dim) - projector
    np.testing.assert_allclose(weights, projector + w0 @ complement, atol=1e-10)
    # GD only adds matrices G X^T: the part outside the span keeps its initial value exactly.
    np.testing.assert_allclose(weights @ complement, w0 @ complement, atol=1e-13)
    assert result.steps == schedule["max_steps"] >= 1


def test_adam_leaves_the_span(keras_float64, tiny_data):
    dim = tiny_data.shape[1]
    weights, _, _ = train(keras_float64, tiny_data, np.zeros((dim, dim)), "adam", steps=200)
    complement = np.eye(dim) - span_projector(tiny_data)
    assert np.linalg.norm(weights @ complement) > 1e-3


def test_step_schedule_predicts_steps_from_condition_number():
    from memorization.experiments.c1 import step_schedule

    images = np.diag([1.0, 0.5])  # gram eigenvalues 1 and 0.25 -> kappa = 4
    schedule = step_schedule(images, {"learning_rate": "auto", "target_distance": 1e-6, "max_steps": 10**6}, "gd")
    assert schedule["condition_number"] == pytest.approx(4.0)
    assert schedule["predicted_rate"] == pytest.approx(0.6)
    assert schedule["max_steps"] == int(np.ceil(np.log(1e-6) / np.log(0.6)))
