"""C4: iterating the trained map from new inputs converges to training examples.

Starts: test images, uniform noise in [0, 1]^d, and training images plus Gaussian noise. Each
start is iterated up to ``max_steps`` times or until the RMS step ||f(z) - z|| / sqrt(d) falls
below ``tol``; it *reaches* a training example when it ends within RMS distance ``eps`` of one.
One application of f (no iteration) is reported beside it: memorization shows in the iterates.

Verdict: the fraction of test-image and noise starts of the claim's net that reach a training
image, pooled over seeds (hull of the exact binomial interval and the bootstrap over seeds), must
lie wholly at or above the threshold, and the number of distinct training images those starts
reach per seed (bootstrap over seeds) wholly at or above ``distinct_threshold``, so that one
global attractor does not pass; every net the verdict uses must have reached its loss threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memorization import claims, data, files
from memorization.analysis.intervals import pooled_fraction, seed_mean
from memorization.training import training_record
from memorization.experiments import fc

CLAIM = "c4"
STATEMENT = (
    "Iterating a trained deep autoencoder from test images or noise converges to training examples: most starts "
    "end at one, and they reach several distinct training examples (not one global attractor)"
)
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
    reached_examples = set()
    for kind, starts in starting_points(settings, arrays, images).items():
        result = iterate_to_fixed_point(apply, starts, settings["max_steps"], settings["tol"], snapshot_steps=steps)
        summary = match_to_examples(result, images, settings["eps"])
        _, one_step_distance = nearest_examples(apply(starts), images)
        if kind in ("test", "noise"):
            reached_examples |= set(summary["nearest_example"][summary["reached"]].tolist())
        metrics.update({
            f"{kind}_reaching": int(summary["reached"].sum()),
            f"{kind}_starts": len(starts),
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
    metrics["test_and_noise_distinct_reached"] = len(reached_examples)
    files.write_json(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics})
    files.write_npz(outputs["examples"], **arrays_out)
    return {"metrics": metrics}


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    records = claims.read_records(inputs["metrics"])
    table = fc.tidy(records)
    runs = fc.runs_table(table)
    runs["fitted"] = fc.fitted(runs)
    files.write_csv(outputs["table"], pd.concat([table, fc.fit_rows(runs)], ignore_index=True))

    net = fc.claim_net(section)
    chosen = runs[runs.net == net].sort_values("seed")
    reaching = chosen["test_reaching"].astype(float) + chosen["noise_reaching"].astype(float)
    starts = chosen["test_starts"].astype(float) + chosen["noise_starts"].astype(float)
    value, low, high = pooled_fraction(reaching, starts)
    distinct = chosen["test_and_noise_distinct_reached"].astype(float)
    distinct_mean, distinct_low, distinct_high = seed_mean(distinct)
    conditions = [claims.Condition("distinct training images reached per seed", distinct_mean,
                                   section["distinct_threshold"], ">=", distinct_low, distinct_high)]
    per_seed = ", ".join(f"{int(r)}/{int(t)}" for r, t in zip(reaching, starts))
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of test-image and noise starts whose iterates end within eps of a training example ({net} "
            f"nets, pooled over {claims.seeds(len(chosen))}: {per_seed}; interval: hull of exact binomial and seed "
            f"bootstrap; distinct images reached per seed {[int(d) for d in distinct]}; {fc.fit_note(chosen, f'{net} nets')})"
        ),
        value=value, interval=(low, high), n_seeds=chosen.seed.nunique(),
        fitted=bool(len(chosen)) and bool(chosen["fitted"].all()), conditions=conditions,
    )
