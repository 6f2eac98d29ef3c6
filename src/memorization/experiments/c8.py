"""C8: deep nonlinear convolutional autoencoders memorize individual training images.

Each run trains one autoencoder of ``stages`` stride-2 3x3 convolutions with leaky ReLU,
``stages`` blocks of bilinear 2x upsampling + 3x3 convolution with leaky ReLU, and a linear 3x3
output convolution, on n CIFAR-10 images. A deep net (bottleneck 1 x 1) and a shallow one are
compared. From test images and uniform noise, one pass f(z) and the iterates f^k(z) are
compared with the training images: a start *reaches* a training image when it ends within RMS
distance ``eps`` of ONE of them; it *stays near its input* when ||f(z) - z||_rms < eps. A net
*fits* when every training image is within RMS ``fit_tol`` of its image under f.

Verdict, at n = ``claim_n`` only (with biases, n = 1 can be met by the biases alone): the
fraction of test and noise starts of the ``claim_net`` nets that reach a training image, pooled
over seeds (hull of the exact binomial interval and the bootstrap over seeds), must lie wholly at
or above the threshold; the same fraction for every other net (the shallow control) must lie
wholly at or below ``control_threshold``; every one of those nets must fit. Other n are
measured and drawn, not judged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memorization import claims, data, files
from memorization.analysis.intervals import pooled_fraction
from memorization.errors import ConfigError
from memorization.training import training_record
from memorization.experiments import conv
from memorization.config import settings_digest

CLAIM = "c8"
STATEMENT = (
    "Deep nonlinear convolutional autoencoders memorize individual training images: iterating them from test "
    "images or noise ends at one training image, while shallow ones do not"
)
START_KINDS = ("test", "noise")
MEASUREMENT_KEYS = ("n_test_starts", "n_noise_starts", "iterations", "tol", "eps", "gallery_starts")


def run_key(settings: dict) -> str:
    return (
        f"convnl-{settings['net']}-D{settings['stages']}-c{settings['channels']}-n{settings['n']}-"
        f"{conv.SHORT_INITS[settings['initializer']]}-s{settings['seed']}-"
        f"{settings_digest(settings)}"
    )


def model_key(model: dict) -> str:
    """Key of a trained net: every setting that shapes it and none of the measurement's, so that
    changing how the nets are measured (starts, iterations, eps) measures them again without
    retraining them."""
    return f"{CLAIM}-{run_key(model)}"


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    names = [net["name"] for net in section["nets"]]
    if section["claim_net"] not in names or len(names) < 2:
        raise ConfigError(f"c8.claim_net {section['claim_net']!r} must be one of c8.nets {names}, beside a control net")
    if section["claim_n"] not in section["n_train"]:
        raise ConfigError(f"c8.claim_n {section['claim_n']} must be one of c8.n_train {section['n_train']}")
    runs = {}
    for net in section["nets"]:
        for n in section["n_train"]:
            for run_seed in section["seeds"]:
                model = {
                    "claim": CLAIM,
                    "dataset": section["dataset"],
                    "side": section["side"],
                    "net": net["name"],
                    "stages": net["stages"],
                    "channels": section["channels"],
                    "upsampling": section["upsampling"],
                    "negative_slope": section["negative_slope"],
                    "use_bias": section["use_bias"],
                    "initializer": section["initializer"],
                    "float_dtype": section["float_dtype"],
                    "optimizer": dict(section["optimizer"]),
                    "n": n,
                    "seed": seed + run_seed,
                }
                settings = {**model, **{name: section[name] for name in MEASUREMENT_KEYS},
                            "model_key": model_key(model), "model": model}
                runs[run_key(settings)] = settings
    return runs


def colour_images(images: np.ndarray, side: int) -> np.ndarray:
    """uint8 (n, 32, 32, 3) -> float64 (n, side, side, 3) in [0, 1], area-resized when side < 32."""
    images = np.asarray(images, dtype=np.float64) / 255.0
    if side == images.shape[1]:
        return images
    resize = conv.area_resize_matrix(images.shape[1], side)
    return np.einsum("ip,npqc,jq->nijc", resize, images, resize)


def train(settings: dict, inputs: dict, outputs: dict, log, options=None) -> dict:
    from memorization.models.conv import build_nonlinear_conv

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    positions = data.select_indices(arrays, settings["n"], settings["seed"])
    images = colour_images(arrays["x"][positions], settings["side"])
    model = build_nonlinear_conv(
        settings["side"], settings["stages"], settings["channels"], channels_in=images.shape[-1],
        upsampling=settings["upsampling"], negative_slope=settings["negative_slope"], use_bias=settings["use_bias"],
        initializer=settings["initializer"], seed=settings["seed"], dtype=settings["float_dtype"],
    )
    log(f"{model.name}: {model.count_params()} parameters")
    extra = {"positions": positions.tolist(), "official_indices": arrays["index"][positions].tolist()}
    return conv.fit_and_save(model, images.astype(settings["float_dtype"]), settings, run_key(settings), outputs, log,
                             extra, options=options)


def image_map(model, shape: tuple[int, ...]):
    """The model as a map on flattened images (B, d) -> (B, d), for the iteration helpers."""
    from memorization.analysis.iteration import as_numpy_map

    apply = as_numpy_map(model)

    def flat(points):
        points = np.asarray(points)
        return apply(points.reshape((len(points), *shape))).reshape(len(points), -1)

    return flat


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    import json


    from memorization.models import load_model

    from memorization.analysis.iteration import iterate_to_fixed_point, match_to_examples, nearest_examples, rms_distance

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    with open(inputs["training"]) as stream:
        training = json.load(stream)
    images = colour_images(arrays["x"][np.asarray(training["positions"])], settings["side"])
    shape = images.shape[1:]
    train_rows = images.reshape(len(images), -1)
    apply = image_map(load_model(inputs["model"]), shape)
    rng = np.random.default_rng([settings["seed"], 8])
    test_positions = data.select_indices(arrays, settings["n_test_starts"], settings["seed"], split=data.TEST)
    starts = {
        "test": colour_images(arrays["x"][test_positions], settings["side"]).reshape(settings["n_test_starts"], -1),
        "noise": rng.uniform(0.0, 1.0, size=(settings["n_noise_starts"], train_rows.shape[1])),
    }
    metrics = {
        **training_record(training),
        "train_fixed_point_error_max": float(rms_distance(apply(train_rows), train_rows).max()),
    }
    snapshots_at = (0, 1, settings["iterations"])
    examples = {"train": train_rows, "snapshot_steps": np.asarray(snapshots_at)}
    for kind, points in starts.items():
        one_pass = apply(points)
        _, one_pass_distance = nearest_examples(one_pass, train_rows)
        _, input_distance = nearest_examples(points, train_rows)
        finite = np.all(np.isfinite(one_pass), axis=1)
        result = iterate_to_fixed_point(apply, points, settings["iterations"], settings["tol"], snapshot_steps=snapshots_at)
        summary = match_to_examples(result, train_rows, settings["eps"])
        metrics.update({
            f"{kind}_reaching": int(summary["reached"].sum()),
            f"{kind}_starts": len(points),
            f"{kind}_input_near_training": float(np.mean(input_distance < settings["eps"])),
            f"{kind}_one_pass_reaching": float(np.mean(finite & (one_pass_distance < settings["eps"]))),
            f"{kind}_one_pass_near_input": float(np.mean(finite & (rms_distance(one_pass, points) < settings["eps"]))),
            f"{kind}_one_pass_distance_median": float(np.median(np.where(finite, one_pass_distance, np.inf))),
            f"{kind}_fraction_reaching": summary["fraction_reaching"],
            f"{kind}_distinct_reached": summary["distinct_reached"],
            f"{kind}_fraction_converged": summary["fraction_converged"],
            f"{kind}_fraction_diverged": summary["fraction_diverged"],
            f"{kind}_spurious_starts": summary["spurious_starts"],
        })
        shown = slice(0, settings["gallery_starts"])
        examples[f"{kind}_snapshots"] = np.nan_to_num(result.snapshots[:, shown], nan=0.0, posinf=1.0, neginf=0.0)
        examples[f"{kind}_nearest"] = summary["nearest_example"][shown]
        log(f"{kind}: one pass {metrics[f'{kind}_one_pass_reaching']:.2f} reach a training image, "
            f"{metrics[f'{kind}_one_pass_near_input']:.2f} stay near the input; iterated "
            f"{summary['fraction_reaching']:.2f} reach ({summary['distinct_reached']} distinct), "
            f"{summary['fraction_diverged']:.2f} diverge")
    total = settings["n_test_starts"] + settings["n_noise_starts"]
    for name in ("fraction_reaching", "one_pass_reaching", "one_pass_near_input"):
        metrics[f"test_and_noise_{name}"] = (
            metrics[f"test_{name}"] * settings["n_test_starts"] + metrics[f"noise_{name}"] * settings["n_noise_starts"]
        ) / total
    files.write_json(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics})
    files.write_npz(outputs["examples"], **examples)
    return {"metrics": metrics}


def pooled_reaching(runs: pd.DataFrame) -> tuple[float, float, float]:
    """(fraction, low, high) of test and noise starts reaching a training image, pooled over the
    runs (one per seed)."""
    reaching = runs["test_reaching"].astype(float) + runs["noise_reaching"].astype(float)
    starts = runs["test_starts"].astype(float) + runs["noise_starts"].astype(float)
    return pooled_fraction(reaching, starts)


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]

    def run_columns(run: dict) -> dict:
        return {"run": run_key(run), **{name: run[name] for name in ("net", "stages", "channels", "n", "seed")}}

    table = claims.tidy_metrics(claims.read_records(inputs["metrics"]), run_columns).astype({"value": float})
    runs = claims.runs_wide(table, ["run", "net", "stages", "channels", "n", "seed"])
    runs["fitted"] = runs["train_fixed_point_error_max"] < section["fit_tol"]
    fitted_rows = runs[["run", "net", "stages", "channels", "n", "seed"]].assign(
        statistic="fitted", value=runs["fitted"].astype(float))
    files.write_csv(outputs["table"], pd.concat([table, fitted_rows], ignore_index=True))

    claim_net, claim_n = section["claim_net"], section["claim_n"]
    judged = runs[runs.n == claim_n]
    deep = judged[judged.net == claim_net]
    controls = judged[judged.net != claim_net]
    value, low, high = pooled_reaching(deep)
    control_value, control_low, control_high = pooled_reaching(controls) if len(controls) else (float("nan"),) * 3
    control_names = ", ".join(sorted(controls.net.unique())) or "none"
    used = pd.concat([deep, controls])
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of test-image and noise starts whose iterates end within eps of ONE training image ({claim_net} "
            f"nets, n = {claim_n}, pooled over {claims.seeds(deep.seed.nunique())}; interval: hull of exact binomial "
            f"and seed bootstrap; {int(used['fitted'].sum())} of {len(used)} nets at n = {claim_n} fitted, every "
            f"training image within RMS {section['fit_tol']} of f(x))"
        ),
        value=value, interval=(low, high), n_seeds=deep.seed.nunique(),
        fitted=bool(len(used)) and bool(used["fitted"].all()),
        conditions=[claims.Condition(f"control ({control_names} nets): fraction of starts reaching a training image",
                                     control_value, section["control_threshold"], "<=", control_low, control_high)],
    )
