"""C1: a single-layer linear autoencoder trained by gradient descent projects onto the span.

Gradient descent on f(x) = W x only ever adds matrices of the form G X^T to W, so
W(I - P_X) keeps its initial value: the limit is W = P_X + W0 (I - P_X). Adam rescales each
coordinate of the gradient and leaves that subspace, which is the contrast.

Verdict: per seed, the largest relative distance of a GD run's W to P_X + W0 (I - P_X); its mean
over seeds and bootstrap interval must lie wholly below the threshold. Condition (the contrast):
per seed, the smallest off-span change ||(W - W0)(I - P_X)||_F / ||P_X||_F of an Adam run, mean
over seeds, must lie wholly above the same threshold. Every GD run must fit its training images
(RMS reconstruction error below ``fit_tol``).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd

from memorization import claims, data, files
from memorization.analysis.intervals import seed_mean
from memorization.config import settings_digest
from memorization.analysis.linalg import (
    gd_convergence_rate,
    relative_frobenius_distance,
    span_projector,
)
from memorization.analysis.span import span_residual

CLAIM = "c1"
STATEMENT = (
    "A single-layer linear autoencoder trained by gradient descent converges to "
    "W = P_X + W0 (I - P_X): it projects onto the span of the training examples; Adam does not keep W0 (I - P_X)"
)
EXAMPLES_SHOWN = 4
NOISE_SHOWN = 2


def run_key(settings: dict) -> str:
    """Readable prefix, then the digest of every run setting (all of them shape the trained model)."""
    return (
        f"linear-w0{settings['init']}-{settings['optimizer']}-n{settings['n']}-s{settings['seed']}"
        f"-{settings_digest(settings)}"
    )


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    runs = {}
    for n, init, optimizer, run_seed in itertools.product(
        section["n_train"], section["inits"], section["optimizers"], section["seeds"]
    ):
        settings = {
            "claim": CLAIM,
            "dataset": section["dataset"],
            "n": n,
            "init": init,
            "init_scale": section["init_scale"],
            "optimizer": optimizer,
            "optimizer_settings": section[optimizer],
            "seed": seed + run_seed,
            "float_dtype": section["float_dtype"],
            "n_test_images": section["n_test_images"],
            "n_noise": section["n_noise"],
        }
        runs[run_key(settings)] = settings
    return runs


def training_images(arrays: dict, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    positions = data.select_indices(arrays, settings["n"], settings["seed"])
    return positions, data.to_unit_interval_rows(arrays["x"][positions], settings["float_dtype"])


def initial_weights(settings: dict, dim: int) -> np.ndarray:
    """W0 in the paper's layout (f(x) = W x), regenerated from the seed wherever it is needed."""
    if settings["init"] == "zeros":
        return np.zeros((dim, dim))
    rng = np.random.default_rng([settings["seed"], 1])
    return rng.normal(0.0, settings["init_scale"], size=(dim, dim))


def step_schedule(images: np.ndarray, optimizer_settings: dict, optimizer: str) -> dict:
    """Learning rate and step count for plain GD from the curvature of the loss.

    With the Keras MSE loss (mean over n * d entries) the curvature along the span is
    2 / (n d) times the eigenvalues of X X^T; the optimal fixed step then contracts the error
    by (kappa - 1) / (kappa + 1) per step, which fixes the steps needed to reach the target.
    """
    n, dim = images.shape
    gram_eigenvalues = np.linalg.eigvalsh(images.astype(np.float64) @ images.T.astype(np.float64))
    step, rate = gd_convergence_rate(gram_eigenvalues * 2.0 / (n * dim))
    kappa = (1 + rate) / (1 - rate)
    schedule = {"condition_number": kappa, "predicted_rate": rate}
    cap = optimizer_settings["max_steps"]
    if optimizer == "gd":
        chosen = optimizer_settings["learning_rate"]
        schedule["learning_rate"] = step if chosen == "auto" else float(chosen)
        if rate > 0:
            needed = math.ceil(math.log(optimizer_settings["target_distance"]) / math.log(rate))
        else:
            needed = 1
        schedule["steps_needed"] = needed
        schedule["max_steps"] = min(cap, max(needed, 1))
    else:
        schedule["learning_rate"] = float(optimizer_settings["learning_rate"])
        schedule["max_steps"] = cap
    return schedule


def train(settings: dict, inputs: dict, outputs: dict, log, options=None) -> dict:
    import keras

    from memorization.models.linear import linear_autoencoder
    from memorization.training import fit_full_batch, save_training_run

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    positions, images = training_images(arrays, settings)
    dim = images.shape[1]
    w0 = initial_weights(settings, dim)
    schedule = step_schedule(images, settings["optimizer_settings"], settings["optimizer"])
    log(f"schedule: {schedule}")

    model = linear_autoencoder(dim, initial_kernel=w0.T)
    if settings["optimizer"] == "gd":
        optimizer = keras.optimizers.SGD(learning_rate=schedule["learning_rate"], momentum=0.0)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=schedule["learning_rate"])
    result = fit_full_batch(
        model,
        images,
        images,
        optimizer=optimizer,
        max_steps=schedule["max_steps"],
        loss_threshold=settings["optimizer_settings"]["loss_threshold"],
        run_name=run_key(settings),
        log=log,
        options=options,
    )
    summary = save_training_run(
        model, result, outputs, schedule=schedule, positions=positions.tolist(),
        official_indices=arrays["index"][positions].tolist(),
    )
    return {"training": summary["result"], "official_indices": summary["official_indices"]}


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:

    from memorization.models import load_model

    from memorization.models.linear import weight_matrix

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    with open(inputs["training"]) as stream:
        training = json.load(stream)
    positions = np.asarray(training["positions"])
    images = data.to_unit_interval_rows(arrays["x"][positions], "float64")
    model = load_model(inputs["model"])
    weights = weight_matrix(model)
    w0 = initial_weights(settings, images.shape[1])

    projector = span_projector(images)
    complement = np.eye(len(projector)) - projector
    predicted = projector + w0 @ complement

    test_positions = data.select_indices(arrays, settings["n_test_images"], settings["seed"], split=data.TEST)
    test_images = data.to_unit_interval_rows(arrays["x"][test_positions], "float64")
    noise = np.random.default_rng([settings["seed"], 2]).uniform(0.0, 1.0, size=(settings["n_noise"], images.shape[1]))

    def apply(points):
        return np.asarray(model.predict(points.astype(settings["float_dtype"]), verbose=0), dtype=np.float64)

    test_outputs, noise_outputs = apply(test_images), apply(noise)
    # the same rank rule as the projector (span_basis), so the residual is 0 on the span it defines
    test_residuals = span_residual(test_outputs, images)
    noise_residuals = span_residual(noise_outputs, images)
    eigenvalues = np.sort(np.abs(np.linalg.eigvals(weights)))[::-1]
    metrics = {
        "distance_to_prediction": relative_frobenius_distance(weights, predicted, projector),
        "distance_to_projector": relative_frobenius_distance(weights, projector),
        "off_span_change": float(np.linalg.norm((weights - w0) @ complement) / np.linalg.norm(projector)),
        "span_residual_test_median": float(np.median(test_residuals)),
        "span_residual_test_max": float(np.max(test_residuals)),
        "span_residual_noise_median": float(np.median(noise_residuals)),
        "span_residual_noise_max": float(np.max(noise_residuals)),
        "eigenvalues_near_one": int((np.abs(eigenvalues - 1.0) < 1e-3).sum()),
        "rank_of_span": int(round(np.trace(projector))),
        "reconstruction_mse": float(np.mean((apply(images) - images) ** 2)),
        "steps": training["result"]["steps"],
        "learning_rate": training["schedule"]["learning_rate"],
    }
    log(f"metrics: {metrics}")
    record = {"claim": CLAIM, "settings": settings, "metrics": metrics, "top_eigenvalues": eigenvalues[: settings["n"] + 20]}
    files.write_json(outputs["metrics"], record)
    files.write_npz(
        outputs["examples"],
        train=images[:EXAMPLES_SHOWN],
        test=test_images[:EXAMPLES_SHOWN],
        test_output=test_outputs[:EXAMPLES_SHOWN],
        test_projection=test_images[:EXAMPLES_SHOWN] @ projector.T,
        noise=noise[:NOISE_SHOWN],
        noise_output=noise_outputs[:NOISE_SHOWN],
        noise_projection=noise[:NOISE_SHOWN] @ projector.T,
        eigenvalues=eigenvalues[: settings["n"] + 20],
    )
    return {"metrics": metrics}


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]

    def run_columns(run: dict) -> dict:
        return {"run": run_key(run),
                **{name: run[name] for name in ("n", "init", "optimizer", "seed")}}

    table = claims.tidy_metrics(claims.read_records(inputs["metrics"]), run_columns)
    runs = claims.runs_wide(table, ["run", "n", "init", "optimizer", "seed"])
    runs["fitted"] = runs["reconstruction_mse"].astype(float) ** 0.5 < section["fit_tol"]
    fitted_rows = runs[["run", "n", "init", "optimizer", "seed"]].assign(statistic="fitted",
                                                                         value=runs["fitted"].astype(float))
    files.write_csv(outputs["table"], pd.concat([table, fitted_rows], ignore_index=True))
    gd, adam = runs[runs.optimizer == "gd"], runs[runs.optimizer == "adam"]
    # NaN never hides: a NaN distance of any run makes its seed's maximum NaN.
    distance = gd.groupby("seed")["distance_to_prediction"].apply(lambda values: values.astype(float).max(skipna=False))
    off_span = adam.groupby("seed")["off_span_change"].apply(lambda values: values.astype(float).min(skipna=False))
    value, low, high = seed_mean(distance)
    adam_value, adam_low, adam_high = seed_mean(off_span)
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison="<",
        statistic=(
            f"max over GD runs of ||W - (P_X + W0(I - P_X))||_F / ||P_X||_F, mean over "
            f"{claims.seeds(len(distance))} (per seed "
            f"{[float(f'{v:.3g}') for v in distance]}; interval: seed bootstrap; {int(gd['fitted'].sum())} of "
            f"{len(gd)} GD runs fitted, RMS error < {section['fit_tol']})"
        ),
        value=value, interval=(low, high), n_seeds=len(distance),
        fitted=bool(len(gd)) and bool(gd["fitted"].all()),
        conditions=[claims.Condition("Adam contrast: min over Adam runs of ||(W - W0)(I - P_X)||_F / ||P_X||_F",
                                     adam_value, section["claim_threshold"], ">", adam_low, adam_high)],
    )
