"""C4: iterating the trained map from new inputs converges to training examples.

Starts: test images, uniform noise in [0, 1]^d, and training images plus Gaussian noise. Each
start is iterated up to ``max_steps`` times or until the RMS step ||f(z) - z|| / sqrt(d) falls
below ``tol``; it *reaches* a training example when it ends within RMS distance ``eps`` of one.
One application of f (no iteration) is reported beside it: memorization shows in the iterates.
"""

from __future__ import annotations

import numpy as np

from memorization import claims, data, files
from memorization.training import training_record
from memorization.experiments import fc

CLAIM = "c4"
STATEMENT = "Iterating a trained deep autoencoder from test images or noise converges to training examples"
START_KINDS = ("test", "noise", "noisy_train")
MEASUREMENT_KEYS = (
    "n_test_starts", "n_noise_starts", "n_noisy_train_starts", "noisy_train_sigma", "max_steps", "tol", "eps",
    "gallery_starts",
)


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    measurement = {name: section[name] for name in MEASUREMENT_KEYS}
    return fc.runs_per_nonlinearity(CLAIM, section, seed, **measurement)



def gallery_steps(max_steps: int) -> list[int]:
    """0, 1, 2, 4, 8, ... up to max_steps, and max_steps itself."""
    steps, step = [0], 1
    while step < max_steps:
        steps.append(step)
        step *= 2
    return steps + [max_steps]


def starting_points(settings: dict, arrays: dict, images: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([settings["seed"], 4])
    test_positions = data.select_indices(arrays, settings["n_test_starts"], settings["seed"], split=data.TEST)
    owners = np.arange(settings["n_noisy_train_starts"]) % len(images)
    return {
        "test": data.to_unit_interval_rows(arrays["x"][test_positions], "float64"),
        "noise": rng.uniform(0.0, 1.0, size=(settings["n_noise_starts"], images.shape[1])),
        "noisy_train": images[owners] + settings["noisy_train_sigma"] * rng.standard_normal((len(owners), images.shape[1])),
    }


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    from memorization.analysis.iteration import as_numpy_map, iterate_to_fixed_point, match_to_examples, nearest_examples

    model, training, images, arrays = fc.load_run(settings, inputs)
    apply = as_numpy_map(model)
    steps = gallery_steps(settings["max_steps"])
    metrics = dict(training_record(training))
    arrays_out = {"train": images, "gallery_steps": np.asarray(steps)}
    for kind, starts in starting_points(settings, arrays, images).items():
        result = iterate_to_fixed_point(apply, starts, settings["max_steps"], settings["tol"], snapshot_steps=steps)
        summary = match_to_examples(result, images, settings["eps"])
        _, one_step_distance = nearest_examples(apply(starts), images)
        metrics.update({
            f"{kind}_fraction_reaching": summary["fraction_reaching"],
            f"{kind}_distinct_reached": summary["distinct_reached"],
            f"{kind}_fraction_converged": summary["fraction_converged"],
            f"{kind}_fraction_diverged": summary["fraction_diverged"],
            f"{kind}_spurious_starts": summary["spurious_starts"],
            f"{kind}_distinct_spurious": summary["distinct_spurious"],
            f"{kind}_median_steps": float(np.median(result.steps)),
            f"{kind}_one_step_fraction_reaching": float(np.mean(one_step_distance < settings["eps"])),
        })
        shown = slice(0, settings["gallery_starts"])
        arrays_out[f"{kind}_snapshots"] = result.snapshots[:, shown]
        arrays_out[f"{kind}_nearest"] = summary["nearest_example"][shown]
        arrays_out[f"{kind}_steps"] = result.steps[shown]
        log(f"{kind}: {summary['fraction_reaching']:.2f} reach a training example "
            f"({summary['distinct_reached']} distinct), {summary['spurious_starts']} spurious, "
            f"{summary['fraction_diverged']:.2f} diverged")
    pooled = (
        metrics["test_fraction_reaching"] * settings["n_test_starts"]
        + metrics["noise_fraction_reaching"] * settings["n_noise_starts"]
    ) / (settings["n_test_starts"] + settings["n_noise_starts"])
    metrics["test_and_noise_fraction_reaching"] = pooled
    files.write_json(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics})
    files.write_npz(outputs["examples"], **arrays_out)
    return {"metrics": metrics}


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    records = claims.read_records(inputs["metrics"])
    table = fc.tidy(records)
    files.write_csv(outputs["table"], table)
    chosen = table[(table.nonlinearity == section["claim_nonlinearity"]) & (table.statistic == "test_and_noise_fraction_reaching")]
    value = claims.mean_or_nan(chosen["value"])
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=f"fraction of test-image and noise starts whose iterates end within eps of a training example "
        f"({section['claim_nonlinearity']} net)",
        value=value,
    )
