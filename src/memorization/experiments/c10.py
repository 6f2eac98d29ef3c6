"""C10 (extension, PNAS follow-up): basins of attraction around the training examples.

For each model (width x depth of the section), ``copies`` noisy copies x_i + N(0, s^2 I) of each
training example are iterated at each noise level s; the return probability is the fraction
that end within RMS distance ``eps`` of x_i itself. The basin radius of x_i is the largest s up
to which that probability stays >= ``return_level`` (see `memorization.analysis.basins`).
"""

from __future__ import annotations

import itertools

import numpy as np

from memorization import claims, files
from memorization.training import training_record
from memorization.experiments import fc

CLAIM = "c10"
STATEMENT = "Training examples of a deep autoencoder have basins of attraction that absorb visible noise, growing with width and depth"
MEASUREMENT_KEYS = ("copies", "max_steps", "tol", "eps", "return_level")


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    runs = {}
    for width, depth, run_seed in itertools.product(section["widths"], section["depths"], section["seeds"]):
        model = fc.model_settings(section["model"], seed + run_seed, width=width, depth=depth)
        measurement = {name: section[name] for name in MEASUREMENT_KEYS}
        key, settings = fc.claim_run(CLAIM, model, noise_levels=section["noise_levels"], **measurement)
        runs[key] = settings
    return runs



def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    from memorization.analysis.basins import basin_radius, return_probability
    from memorization.analysis.iteration import as_numpy_map

    model, training, images, _ = fc.load_run(settings, inputs)
    levels = np.sort(np.asarray(settings["noise_levels"], dtype=np.float64))
    probability = return_probability(
        as_numpy_map(model), images, levels, copies=settings["copies"], max_steps=settings["max_steps"],
        tol=settings["tol"], eps=settings["eps"], seed=settings["seed"],
    )
    radius = np.atleast_1d(basin_radius(levels, probability, settings["return_level"]))
    metrics = {
        "median_basin_radius": float(np.median(radius)),
        "max_basin_radius": float(np.max(radius)),
        "examples_with_basin": int(np.sum(radius > 0)),
        **{f"return_probability_s{level:g}": float(p) for level, p in zip(levels, probability.mean(axis=1))},
        **training_record(training),
    }
    log(f"metrics: {metrics}")
    files.write_json(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics,
                                           "basin_radius": radius.tolist()})
    files.write_npz(outputs["examples"], noise_levels=levels, return_probability=probability, basin_radius=radius)
    return {"metrics": metrics}


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    records = claims.read_records(inputs["metrics"])
    table = fc.tidy(records)
    files.write_csv(outputs["table"], table)
    radii = table[table.statistic == "median_basin_radius"].copy()
    radii["value"] = radii["value"].astype(float)
    largest = radii.sort_values(["width", "depth"]).groupby("seed").tail(1)
    value = claims.mean_or_nan(largest["value"])
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic="median basin radius (noise std s, RMS) of the widest and deepest net",
        value=value,
    )
