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
# Learning-rate schedules of the model block; a constant rate adds no setting (and keeps old keys).
SCHEDULE_KEYS = ("schedule", "final_fraction")


def model_settings(block: dict, seed: int, **overrides) -> dict:
    """The settings of one model: the claim's ``model`` block with sweep values put in.

    ``sequence`` (a `memorization.sequences` spec; C9's movies) and a learning-rate ``schedule``
    other than constant are kept only when set, so models without them keep their settings and
    keys."""
    settings = {key: block[key] for key in MODEL_KEYS}
    if block.get("sequence") is not None:
        settings["sequence"] = block["sequence"]
    if block.get("schedule", "constant") != "constant":
        settings.update({key: block[key] for key in SCHEDULE_KEYS})
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
    rate = settings["learning_rate"]
    if settings.get("schedule") == "cosine_decay":
        # Decaying the rate lets nets that oscillate around a loss floor at a constant rate
        # (cos(x) - x at Adam 1e-4) settle below the interpolation threshold.
        rate = keras.optimizers.schedules.CosineDecay(
            rate, decay_steps=settings["max_steps"], alpha=settings["final_fraction"]
        )
    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[settings["optimizer"]](learning_rate=rate)
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


def net_variants(section: dict) -> list[dict]:
    """The nets a claim compares: each entry of ``nonlinearities`` is a nonlinearity (biases as
    in the model block) or a mapping {nonlinearity, use_bias} (e.g. leaky ReLU with biases)."""
    variants = []
    for entry in section["nonlinearities"]:
        entry = {"nonlinearity": entry} if isinstance(entry, str) else entry
        variants.append({"nonlinearity": entry["nonlinearity"],
                         "use_bias": bool(entry.get("use_bias", section["model"]["use_bias"]))})
    return variants


def net_label(model: dict) -> str:
    """A net's name in tables and figures: its nonlinearity, ``+bias`` when it has biases."""
    return model["nonlinearity"] + ("+bias" if model["use_bias"] else "")


def claim_net(section: dict) -> str:
    """Label of the net whose statistic is the claim's: ``claim_nonlinearity`` with the model
    block's biases."""
    return net_label({"nonlinearity": section["claim_nonlinearity"], "use_bias": section["model"]["use_bias"]})


def no_attractors_by_construction(model: dict) -> str:
    """Why a net cannot have an attracting training example whatever training does, or "".

    A linear net is one matrix A; fitting the examples makes A fix their span, so rho(A) >= 1 at
    every example. A bias-free leaky ReLU net is positively homogeneous (f(c x) = c f(x), c > 0),
    so J_f(x) x = f(x) = x at a fixed point x: eigenvalue 1, rho >= 1. With biases neither holds.
    """
    if model["nonlinearity"] == "linear":
        return "linear: J_f is one matrix that fixes the span of the examples (rho = 1)"
    if model["nonlinearity"] == "leaky_relu" and not model["use_bias"]:
        return "bias-free leaky ReLU: positively homogeneous, J_f(x) x = x at a fixed point (rho >= 1)"
    return ""


def runs_per_nonlinearity(claim: str, section: dict, seed: int, **measurement) -> dict[str, dict]:
    """One run per net variant x seed of the claim's model; the claim's verdict is read off the
    net of ``claim_nonlinearity``, which must be one of the nets run."""
    variants = net_variants(section)
    if claim_net(section) not in {net_label(variant) for variant in variants}:
        raise ConfigError(
            f"{claim}.claim_nonlinearity {section['claim_nonlinearity']!r} (biases as in {claim}.model) must be one of "
            f"{claim}.nonlinearities {[net_label(variant) for variant in variants]}"
        )
    runs = {}
    for variant in variants:
        for run_seed in section["seeds"]:
            model = model_settings(section["model"], seed + run_seed, **variant)
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
    """The model's settings as table columns; ``net`` is `net_label`, ``by_construction`` says
    why the net cannot have attractors (empty when it can)."""
    model = settings["model"]
    return {
        "run": settings["model_key"],
        "net": net_label(model),
        "by_construction": no_attractors_by_construction(model),
        "nonlinearity": model["nonlinearity"],
        "use_bias": bool(model["use_bias"]),
        "width": model["width"],
        "depth": model["depth"],
        "n": model["n_train"],
        "initializer": model["initializer"],
        "seed": model["seed"],
    }


def tidy(records: list[dict]) -> pd.DataFrame:
    """One row per run x scalar statistic of ``metrics``, with the model's settings as columns."""
    return claims.tidy_metrics(records, model_columns)


RUN_COLUMNS = (
    "run", "net", "by_construction", "nonlinearity", "use_bias", "width", "depth", "n", "initializer", "seed",
)


def runs_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its model columns and each scalar statistic of ``tidy`` as a column
    (NaN kept, never dropped)."""
    return claims.runs_wide(table, [column for column in RUN_COLUMNS if column in table.columns])


def fitted(runs: pd.DataFrame) -> pd.Series:
    """Per run of `runs_table`: whether training reached the model's loss threshold (for these
    nets, loss < 1e-12 means an RMS error ~1e-6 per pixel: interpolation)."""
    return runs["train_reached_threshold"].map(lambda reached: pd.notna(reached) and bool(reached))


def fit_note(runs: pd.DataFrame, what: str) -> str:
    """'k of m <what> reached the loss threshold' for the statistic's text."""
    return f"{int(fitted(runs).sum())} of {len(runs)} {what} reached the loss threshold"


def per_seed(runs: pd.DataFrame, column: str) -> pd.Series:
    """``column`` of one run per seed (a claim's net), indexed by seed."""
    return runs.set_index("seed")[column].astype(float).sort_index()


def fit_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows ``fitted`` (1 or 0) per run of `runs_table` with a ``fitted`` column, so every
    table flags the nets that did not reach their interpolation threshold."""
    columns = [column for column in RUN_COLUMNS if column in runs.columns]
    return runs[columns].assign(statistic="fitted", value=runs["fitted"].astype(float))
