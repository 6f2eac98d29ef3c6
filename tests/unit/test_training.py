"""The training engine: exact loss curve, threshold, chunking, schedules, progress, checkpoints."""

import math

import numpy as np
import pytest

from memorization.errors import ConfigError, TrainingDivergedError
from memorization.training import TrainingOptions


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).uniform(0.0, 1.0, size=(4, 12))


def small_mlp(keras, dim=12, width=16, seed=0):
    """A two-layer tanh MLP with fixed initial weights (the same on every call with one seed)."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input(shape=(dim,))
    first = keras.layers.Dense(width, use_bias=False, activation="tanh")
    second = keras.layers.Dense(dim, use_bias=False)
    model = keras.Model(inputs, second(first(inputs)))
    first.set_weights([rng.uniform(-0.3, 0.3, size=(dim, width))])
    second.set_weights([rng.uniform(-0.3, 0.3, size=(width, dim))])
    return model


def fit(keras, images, steps, *, learning_rate=1e-2, lines=None, optimizer=None, **arguments):
    from memorization.training import fit_full_batch

    model = small_mlp(keras)
    optimizer = optimizer or keras.optimizers.Adam(learning_rate=learning_rate)
    log = lines.append if lines is not None else (lambda _: None)
    result = fit_full_batch(model, images, images, optimizer=optimizer, max_steps=steps, log=log, **arguments)
    return model, result


def weights_of(model):
    return [np.asarray(weight) for weight in model.get_weights()]


def mse(model, images):
    return float(np.mean((np.asarray(model.predict(images, verbose=0)) - images) ** 2))


def test_history_is_the_exact_loss_of_the_weights_at_each_step(keras_float64, images):
    model, result = fit(keras_float64, images, 30, options=TrainingOptions(history_every=10))
    assert [row["step"] for row in result.history] == [0, 10, 20, 30]
    initial = small_mlp(keras_float64)
    assert result.history[0]["loss"] == pytest.approx(mse(initial, images), rel=1e-12)
    assert result.final_loss == pytest.approx(mse(model, images), rel=1e-12)
    assert result.history[-1]["loss"] == result.final_loss
    assert result.steps == 30 and result.stopped_at_cap and not result.reached_threshold


def test_how_steps_are_split_into_compiled_calls_does_not_change_the_result(keras_float64, images):
    adaptive, first = fit(keras_float64, images, 50, options=TrainingOptions(history_every=1))
    chunked, second = fit(keras_float64, images, 50, options=TrainingOptions(history_every=1, steps_per_chunk=7))
    for a, b in zip(weights_of(adaptive), weights_of(chunked)):
        np.testing.assert_array_equal(a, b)
    assert [row["loss"] for row in first.history] == [row["loss"] for row in second.history]


def test_loss_threshold_stops_training_on_device(keras_float64, images):
    _, full = fit(keras_float64, images, 400, options=TrainingOptions(history_every=1))
    losses = [row["loss"] for row in full.history]
    threshold = losses[200]
    model, result = fit(keras_float64, images, 400, loss_threshold=threshold)
    # The step that first sees loss < threshold still updates, so the run stops one step later.
    first_below = next(step for step, loss in enumerate(losses) if loss < threshold)
    assert result.steps == first_below + 1 < 400
    assert result.reached_threshold and not result.stopped_at_cap
    assert result.final_loss == pytest.approx(mse(model, images), rel=1e-12) and result.final_loss < threshold


def test_divergence_raises_a_one_line_error_naming_the_run(keras_float64, images):
    with pytest.raises(TrainingDivergedError, match=r"training of exploding diverged at step \d+"):
        fit(keras_float64, images, 200, optimizer=keras_float64.optimizers.SGD(learning_rate=1e3), run_name="exploding")


def test_learning_rate_schedule_is_applied_per_step(keras_float64, images):
    # Steps 0..4 (optimizer iterations <= boundary 4) use 1e-2, then zero freezes the weights.
    schedule = {"name": "piecewise_constant", "boundaries": [4], "values": [1e-2, 0.0]}
    frozen, result = fit(keras_float64, images, 20, learning_rate_schedule=schedule)
    ten, _ = fit(keras_float64, images, 10, learning_rate_schedule=schedule)
    five, _ = fit(keras_float64, images, 5)
    for a, b, c in zip(weights_of(frozen), weights_of(ten), weights_of(five)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-5)  # Keras schedules compute in float32
        assert not np.allclose(a, small_mlp(keras_float64).get_weights()[0 if a.shape[0] == 12 else 1])
    assert result.steps == 20
    with pytest.raises(ConfigError, match="schedule name must be one of"):
        fit(keras_float64, images, 5, learning_rate_schedule={"name": "sawtooth"})


def test_progress_lines_report_steps_loss_rate_and_eta(keras_float64, images):
    lines = []
    fit(keras_float64, images, 200, lines=lines, options=TrainingOptions(progress_seconds=1e-9, steps_per_chunk=50))
    progress = [line for line in lines if line.startswith("step ")]
    assert progress[0].startswith("step 8/200") and "compiling" in progress[0]
    assert any("steps/s" in line and "ETA" in line for line in progress[1:])
    assert progress[-1].startswith("step 200/200")
    quiet = []
    fit(keras_float64, images, 200, lines=quiet, options=TrainingOptions(progress_seconds=3600, steps_per_chunk=50))
    assert len(quiet) == 2  # the first chunk and the end, nothing in between


def test_resumed_run_reaches_the_same_weights_as_an_uninterrupted_one(keras_float64, images, tmp_path):
    lines = []
    every_ten = TrainingOptions(checkpoint_dir=tmp_path, checkpoint_every=10, history_every=10)
    fit(keras_float64, images, 40, lines=lines, options=every_ten)
    checkpoint = tmp_path / "run.state.npz"
    assert checkpoint.exists() and not list(tmp_path.glob(".*.tmp"))
    resumed, result = fit(keras_float64, images, 70, lines=lines, options=every_ten)
    assert result.resumed_from_step == 40 and any("resumed run from checkpoint at step 40" in line for line in lines)
    uninterrupted, reference = fit(keras_float64, images, 70, options=TrainingOptions(history_every=10))
    for a, b in zip(weights_of(resumed), weights_of(uninterrupted)):
        np.testing.assert_array_equal(a, b)
    assert result.final_loss == reference.final_loss
    assert [row["loss"] for row in result.history] == [row["loss"] for row in reference.history]


def test_optimizer_state_and_step_count_are_restored(keras_float64, images, tmp_path):
    from memorization.training import fit_full_batch

    fit(keras_float64, images, 25, options=TrainingOptions(checkpoint_dir=tmp_path, checkpoint_every=5))
    model = small_mlp(keras_float64)
    optimizer = keras_float64.optimizers.Adam(learning_rate=1e-2)
    fit_full_batch(model, images, images, optimizer=optimizer, max_steps=25,
                   options=TrainingOptions(checkpoint_dir=tmp_path), log=lambda _: None)
    assert int(optimizer.iterations.numpy()) == 25  # Adam's bias correction continues, not restarts
    assert any(np.abs(np.asarray(variable.numpy())).sum() > 0 for variable in optimizer.variables[2:])


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "other_settings"])
def test_unusable_checkpoint_is_discarded_with_a_warning_and_training_restarts(keras_float64, images, tmp_path, damage):
    fit(keras_float64, images, 20, options=TrainingOptions(checkpoint_dir=tmp_path, checkpoint_every=10))
    checkpoint = tmp_path / "run.state.npz"
    content = checkpoint.read_bytes()
    if damage == "garbage":
        checkpoint.write_bytes(b"not a checkpoint")
    elif damage == "truncated":
        checkpoint.write_bytes(content[: len(content) // 2])
    elif damage == "flipped":
        # Change one stored weight without touching the zip structure: the digest catches it.
        with np.load(checkpoint) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["v0"] = arrays["v0"].copy()
        arrays["v0"].flat[0] += 1.0
        np.savez(checkpoint, **arrays)
    lines = []
    learning_rate = 2e-2 if damage == "other_settings" else 1e-2
    model, result = fit(keras_float64, images, 30, learning_rate=learning_rate, lines=lines,
                        options=TrainingOptions(checkpoint_dir=tmp_path))
    warnings = [line for line in lines if line.startswith("warning: discarding checkpoint")]
    assert len(warnings) == 1 and "restarts from step 0" in warnings[0]
    assert result.resumed_from_step == 0
    fresh, _ = fit(keras_float64, images, 30, learning_rate=learning_rate)
    for a, b in zip(weights_of(model), weights_of(fresh)):
        np.testing.assert_array_equal(a, b)


def test_job_options_give_every_fit_a_checkpoint_dir(keras_float64, images, tmp_path):
    from memorization.training import checkpoint_dir_for, remove_checkpoints

    directory = checkpoint_dir_for(tmp_path / "run" / "model.keras")
    assert directory == tmp_path / "run" / "checkpoint"
    training = {"checkpoint_every": 5, "checkpoint_seconds": None, "progress_seconds": 30}
    options = TrainingOptions.for_job(tmp_path / "run" / "model.keras", training)
    assert options == TrainingOptions(checkpoint_dir=directory, checkpoint_every=5, progress_seconds=30)
    fit(keras_float64, images, 12, run_name="c9/odd name", options=options)
    assert (directory / "c9_odd_name.state.npz").exists()
    remove_checkpoints(directory)
    assert not directory.exists()
    fit(keras_float64, images, 12)  # outside a job: no checkpoint anywhere
    assert not directory.exists()


def test_job_options_default_null_entries_and_reject_unknown_keys(tmp_path):
    training = {"checkpoint_seconds": None, "progress_seconds": None}
    options = TrainingOptions.for_job(tmp_path / "model.keras", training)
    assert options == TrainingOptions(checkpoint_dir=tmp_path / "checkpoint")
    assert options.progress_seconds == 10.0 and options.checkpoint_seconds is None
    with pytest.raises(ConfigError, match="unknown key"):
        TrainingOptions.for_job(tmp_path / "model.keras", {"history_every": 3})


def test_train_result_summary_is_deterministic(keras_float64, images):
    _, result = fit(keras_float64, images, 10)
    summary = result.summary()
    assert "history" not in summary and summary["backend"] == "tensorflow"
    assert {"steps", "final_loss", "reached_threshold", "stopped_at_cap", "seconds", "resumed_from_step"} <= set(summary)
    assert math.isfinite(result.steps_per_second) and result.steps_per_second > 0
