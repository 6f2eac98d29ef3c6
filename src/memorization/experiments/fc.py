"""Deep fully connected autoencoders shared by C3, C4, C5 and C10.

Each of those claims names, for every run, the model it measures (``model_key`` and a ``model``
block of settings). Models with the same settings have the same key, so the workflow trains each
one once, under ``models/<model key>/``, and every claim that measures it reads it from there.
This module is also the experiment ``fc`` for the generic train rule: `train` fits one model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from memorization import claims, data, files, sequences
from memorization.training import training_record
from memorization.errors import ConfigError
from memorization.config import settings_digest

CLAIM = "fc"
MODEL_KEYS = (
    "dataset", "n_train", "width", "depth", "nonlinearity", "use_bias", "initializer",
    "float_dtype", "optimizer", "learning_rate", "loss_threshold", "max_steps",
)
SHORT_NAMES = {"cos_minus_id": "cosid", "selu": "selu", "leaky_relu": "lrelu", "linear": "linear"}
SHORT_INITS = {"fan_in_uniform": "fanin", "glorot_uniform": "glorot", "zeros": "zeros"}


def model_settings(block: dict, seed: int, **overrides) -> dict:
    """The settings of one model: the claim's ``model`` block with sweep values put in.

    ``sequence`` (a `memorization.sequences` spec; C9's movies) is kept only when set, so models
    trained on the default draw of ``n_train`` images keep their settings and keys."""
    settings = {key: block[key] for key in MODEL_KEYS}
    if block.get("sequence") is not None:
        settings["sequence"] = block["sequence"]
    settings.update(overrides)
    if settings.get("sequence", "absent") is None:
        del settings["sequence"]
    settings["seed"] = int(seed)
    settings["claim"] = CLAIM
    return settings


def model_key(settings: dict) -> str:
    """Readable key of a model; the suffix is the digest of every model setting, so changing any
    of them (not only those in the prefix) makes a new key."""
    prefix = "mlp" if settings["dataset"] == "mnist" else f"mlp-{settings['dataset']}"
    if settings.get("sequence") is not None:
        prefix += f"-{sequences.tag(settings['sequence'])}"
    bias = "-bias" if settings["use_bias"] else ""
    return (
        f"{prefix}-{SHORT_NAMES[settings['nonlinearity']]}-w{settings['width']}-d{settings['depth']}"
        f"-n{settings['n_train']}-{SHORT_INITS[settings['initializer']]}{bias}-s{settings['seed']}"
        f"-{settings_digest(settings)}"
    )


def claim_run(claim: str, model: dict, **measurement) -> tuple[str, dict]:
    """(run key, settings) of a claim's run that measures ``model``; the run key is the model key."""
    key = model_key(model)
    return key, {"claim": claim, "dataset": model["dataset"], "seed": model["seed"],
                 "float_dtype": model["float_dtype"], "model_key": key, "model": model, **measurement}


def training_images(arrays: dict, n: int, seed: int, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    positions = data.select_indices(arrays, n, seed)
    return positions, data.to_unit_interval_rows(arrays["x"][positions], dtype)


def training_set(arrays: dict, settings: dict, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """(positions, images as rows) a model trains on: the ``n_train`` images drawn from its seed,
    or the frames of its ``sequence`` when it has one (C9)."""
    if settings.get("sequence") is not None:
        return sequences.sequence_frames(arrays, settings["sequence"], settings["n_train"], settings["seed"], dtype)
    return training_images(arrays, settings["n_train"], settings["seed"], dtype)


def train(settings: dict, inputs: dict, outputs: dict, log, options=None) -> dict:
    return fit_model(settings, inputs, outputs, log, options, targets=lambda images: images,
                     run_name=model_key(settings))


def fit_model(settings: dict, inputs: dict, outputs: dict, log, options, *, targets, run_name: str) -> dict:
    """Fit the MLP of ``settings`` on its training set, mapping each image to ``targets(images)``
    (the images themselves for an autoencoder), and save it as a training run."""
    import keras

    from memorization.models.mlp import build_mlp
    from memorization.training import fit_full_batch, save_training_run

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    positions, images = training_set(arrays, settings, settings["float_dtype"])
    model = build_mlp(
        images.shape[1],
        width=settings["width"],
        depth=settings["depth"],
        nonlinearity=settings["nonlinearity"],
        use_bias=settings["use_bias"],
        initializer=settings["initializer"],
        seed=settings["seed"],
        dtype=settings["float_dtype"],
    )
    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[settings["optimizer"]](
        learning_rate=settings["learning_rate"]
    )
    result = fit_full_batch(
        model,
        images,
        targets(images),
        optimizer=optimizer,
        max_steps=settings["max_steps"],
        loss_threshold=settings["loss_threshold"],
        run_name=run_name,
        log=log,
        options=options,
    )
    if result.stopped_at_cap:
        log(f"stopped at the step cap {settings['max_steps']} with loss {result.final_loss:.3e} "
            f"(threshold {settings['loss_threshold']:.1e} not reached)")
    summary = save_training_run(
        model, result, outputs, positions=positions.tolist(), official_indices=arrays["index"][positions].tolist()
    )
    return {"training": summary["result"], "official_indices": summary["official_indices"]}


def load_run(settings: dict, inputs: dict):
    """The trained model, its training record and its training images (float64 rows)."""
    from memorization.models.mlp import load_model

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    with open(inputs["training"]) as stream:
        training = json.load(stream)
    model_settings = settings.get("model", settings)
    if model_settings.get("sequence") is not None:
        images = training_set(arrays, model_settings, "float64")[1]
    else:
        positions = np.asarray(training["positions"])
        images = data.to_unit_interval_rows(arrays["x"][positions], "float64")
    model = load_model(inputs["model"])
    return model, training, images, arrays


def local_contraction(model, images: np.ndarray, fixed_point_tol: float, radius_margin: float) -> dict:
    """Per training example: fixed-point error, rho and sigma of J_f; attractor mask and summary."""
    from memorization.analysis.iteration import as_numpy_map, attractor_mask, fixed_point_errors
    from memorization.analysis.jacobian import input_jacobians, spectral_radius, top_singular_value

    errors = fixed_point_errors(as_numpy_map(model), images)
    jacobians = input_jacobians(model, images)
    radius = np.atleast_1d(spectral_radius(jacobians))
    singular = np.atleast_1d(top_singular_value(jacobians))
    attractors = attractor_mask(errors, radius, fixed_point_tol, radius_margin)
    return {
        "fixed_point_error": errors,
        "spectral_radius": radius,
        "top_singular_value": singular,
        "attractor": attractors,
        "summary": {
            "attractor_fraction": float(attractors.mean()),
            "attractors": int(attractors.sum()),
            "median_spectral_radius": float(np.median(radius)),
            "max_spectral_radius": float(np.max(radius)),
            "min_spectral_radius": float(np.min(radius)),
            "median_top_singular_value": float(np.median(singular)),
            "max_fixed_point_error": float(np.max(errors)),
        },
    }


def runs_per_nonlinearity(claim: str, section: dict, seed: int, **measurement) -> dict[str, dict]:
    """One run per nonlinearity x seed of the claim's model; the claim's verdict is read off
    ``claim_nonlinearity``, which must be one of the nonlinearities run."""
    if section["claim_nonlinearity"] not in section["nonlinearities"]:
        raise ConfigError(
            f"{claim}.claim_nonlinearity {section['claim_nonlinearity']!r} must be one of "
            f"{claim}.nonlinearities {section['nonlinearities']}"
        )
    runs = {}
    for nonlinearity in section["nonlinearities"]:
        for run_seed in section["seeds"]:
            model = model_settings(section["model"], seed + run_seed, nonlinearity=nonlinearity)
            key, settings = claim_run(claim, model, **measurement)
            runs[key] = settings
    return runs


def measure_local_contraction(claim: str, settings: dict, inputs: dict, outputs: dict, log, *, per_example: bool) -> dict:
    """Fixed-point error, spectral radius and top singular value of J_f at each training example.

    Writes the run's summary to ``metrics`` (with the per-example values when ``per_example``)
    and the per-example arrays to ``examples``.
    """
    model, training, images, _ = load_run(settings, inputs)
    local = local_contraction(model, images, settings["fixed_point_tol"], settings["radius_margin"])
    metrics = {**local["summary"], **training_record(training)}
    log(f"metrics: {metrics}")
    per_example_names = ("fixed_point_error", "spectral_radius", "top_singular_value")
    record = {"claim": claim, "settings": settings, "metrics": metrics}
    if per_example:
        record["per_example"] = {name: local[name].tolist() for name in per_example_names}
    files.write_json(outputs["metrics"], record)
    files.write_npz(outputs["examples"], **{name: local[name] for name in (*per_example_names, "attractor")})
    return {"metrics": metrics}


def model_columns(settings: dict) -> dict:
    """The model's settings as table columns."""
    model = settings["model"]
    return {
        "run": settings["model_key"],
        "nonlinearity": model["nonlinearity"],
        "width": model["width"],
        "depth": model["depth"],
        "n": model["n_train"],
        "initializer": model["initializer"],
        "seed": model["seed"],
    }


def tidy(records: list[dict]) -> pd.DataFrame:
    """One row per run x scalar statistic of ``metrics``, with the model's settings as columns."""
    return claims.tidy_metrics(records, model_columns)
