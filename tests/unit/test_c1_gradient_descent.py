"""The linear autoencoder trained by plain GD reaches W = P_X + W0 (I - P_X); Adam does not."""

from pathlib import Path

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

    images = np.diag([1.0, 0.5])  # gram eigenvalues 1 and 0.25 -> kappa = 4, rate (4 - 1) / (4 + 1)
    schedule = step_schedule(images, {"learning_rate": "auto", "target_distance": 1e-6, "max_steps": 10**6}, "gd")
    assert schedule["condition_number"] == pytest.approx(4.0)
    assert schedule["predicted_rate"] == pytest.approx(0.6)
    # 0.6**27 = 1.02e-6 is still above the target, 0.6**28 = 6.1e-7 is below it.
    assert 0.6**27 > 1e-6 > 0.6**28
    assert schedule["steps_needed"] == schedule["max_steps"] == 28
    # The optimal step 2 / (l_max + l_min) of the curvatures 2 / (n d) * {1, 0.25} = {0.5, 0.125}.
    assert schedule["learning_rate"] == pytest.approx(2 / 0.625)
    capped = step_schedule(images, {"learning_rate": 0.5, "target_distance": 1e-6, "max_steps": 10}, "gd")
    assert capped["max_steps"] == 10 and capped["steps_needed"] == 28 and capped["learning_rate"] == 0.5
    adam = step_schedule(images, {"learning_rate": 1e-3, "max_steps": 40}, "adam")
    assert adam["max_steps"] == 40 and adam["learning_rate"] == 1e-3 and "steps_needed" not in adam


def test_table_run_names_are_the_run_folders_when_the_base_seed_is_not_zero(tmp_path, complete_section):
    """The run column of the C1 table must name the run folders that expand_runs made (keyed by
    base seed + offset); a base seed of 0 would hide a key built from the offset alone."""
    import pandas as pd

    from memorization import files
    from memorization.experiments import c1

    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "test.yaml").read_text())
    section = complete_section("c1", {**config["c1"], "optimizers": ["gd", "adam"], "seeds": [0, 2]})
    runs = c1.expand_runs(section, seed=7)
    paths = []
    for key, settings in runs.items():
        path = tmp_path / "runs" / key / "metrics.json"
        # Every statistic C1's measure step writes that a summary may read.
        metrics = {"distance_to_prediction": 1e-12, "distance_to_projector": 0.5,
                   "off_span_change": 0.0 if settings["optimizer"] == "gd" else 0.1, "reconstruction_mse": 1e-20,
                   "span_residual_test_median": 0.0, "eigenvalues_near_one": 3, "rank_of_span": 3, "steps": 5,
                   "learning_rate": 0.1}
        files.write_json(path, {"claim": "c1", "settings": settings, "metrics": metrics})
        paths.append(str(path))
    outputs = {"table": tmp_path / "c1.csv", "row": tmp_path / "row.csv"}
    c1.summarize({"section": section, "scale": "test"}, {"metrics": paths}, outputs, log=lambda _: None)
    table = pd.read_csv(outputs["table"])
    assert len(runs) == 2 * len(section["inits"]) * len(section["n_train"]) * 2 and set(table.run) == set(runs)
    assert sorted(set(table.seed)) == [7, 9] and all(f"-s{seed}-" in key for key, seed in zip(table.run, table.seed))


def test_one_training_image_converges_in_one_step():
    from memorization.experiments.c1 import step_schedule

    # One image: the gram matrix has one eigenvalue, kappa = 1 and the optimal step fits it at once.
    schedule = step_schedule(np.array([[3.0, 4.0]]), {"learning_rate": "auto", "target_distance": 1e-10,
                                                      "max_steps": 50}, "gd")
    assert schedule["condition_number"] == 1.0 and schedule["predicted_rate"] == 0.0
    assert schedule["steps_needed"] == schedule["max_steps"] == 1
    # The curvature 2 / (n d) * 25 = 25: the step 2 / (2 * 25) = 1 / 25.
    assert schedule["learning_rate"] == pytest.approx(1 / 25)
