"""C10 (extension, PNAS follow-up): basins of attraction around the training examples.

For each model (width x depth x seed of the section), ``copies`` noisy copies x_i + N(0, s^2 I) of
each training example are iterated at each noise level s; the return probability is the fraction
that end within RMS distance ``eps`` of x_i itself. The basin radius of x_i is the largest s up
to which that probability stays >= ``return_level`` (see `memorization.analysis.basins`). The
claim is about the basins of the *attracting* examples (C3's fixed point with rho < 1): a
non-attractor has no basin, so counting it would only repeat C3's attractor fraction.

Verdict, with eps below the smallest noise level (a copy is never "returned" before it moves):

* main statistic, the trend "basins grow with width and depth": per seed, over ordered pairs
  (smaller, bigger net) as in C5, the fraction in which the bigger net's attracting examples
  return more often (mean return probability over attracting examples and noise levels); a
  model without attractors counts against. Mean over seeds, bootstrap interval, wholly at or
  above the threshold;
* condition "absorb visible noise": the median basin radius of the attracting examples of the
  widest and deepest net, mean over seeds (bootstrap), wholly at or above ``radius_threshold``;
* condition "the noise grid resolves the basins": no model's attracting examples still return
  with probability >= ``return_level`` at the largest noise level (a radius censored by the grid
  cannot grow);
* every model must have reached its loss threshold.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from memorization import claims, files
from memorization.analysis.intervals import seed_mean
from memorization.errors import ConfigError
from memorization.experiments import fc
from memorization.experiments.c5 import concordance_by_seed, size_concordance
from memorization.training import training_record

CLAIM = "c10"
STATEMENT = (
    "Attracting training examples of a deep autoencoder have basins of attraction that absorb visible noise, "
    "and the basins grow with width and depth"
)
MEASUREMENT_KEYS = ("copies", "max_steps", "tol", "eps", "return_level", "fixed_point_tol", "radius_margin")


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    if section["eps"] >= min(section["noise_levels"]):
        raise ConfigError(
            f"c10.eps ({section['eps']}) must be below the smallest of c10.noise_levels "
            f"({min(section['noise_levels'])}): "
            "a copy that starts within eps of its example counts as returned without moving"
        )
    runs = {}
    for width, depth, run_seed in itertools.product(section["widths"], section["depths"], section["seeds"]):
        model = fc.model_settings(section["model"], seed + run_seed, width=width, depth=depth)
        measurement = {name: section[name] for name in MEASUREMENT_KEYS}
        key, settings = fc.claim_run(CLAIM, model, noise_levels=section["noise_levels"], **measurement)
        runs[key] = settings
    return runs


def level_name(level: float) -> str:
    return f"s{level:g}"


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    from memorization.analysis.basins import basin_radius, return_probability
    from memorization.analysis.iteration import as_numpy_map

    model, training, images, _ = fc.load_run(settings, inputs)
    local = fc.local_contraction(model, images, settings["fixed_point_tol"], settings["radius_margin"])
    attracting = local["attractor"]
    levels = np.sort(np.asarray(settings["noise_levels"], dtype=np.float64))
    probability = return_probability(
        as_numpy_map(model), images, levels, copies=settings["copies"], max_steps=settings["max_steps"],
        tol=settings["tol"], eps=settings["eps"], seed=settings["seed"],
    )
    radius = np.atleast_1d(basin_radius(levels, probability, settings["return_level"]))
    # Means over the attracting examples; NaN (counted against the claim) when there are none.
    attracting_curve = probability[:, attracting].mean(axis=1) if attracting.any() else np.full(len(levels), np.nan)
    metrics = {
        "attractors": int(attracting.sum()),
        "examples": len(images),
        "attracting_mean_return": float(np.mean(attracting_curve)),
        "attracting_median_radius": float(np.median(radius[attracting])) if attracting.any() else float("nan"),
        "saturated_at_largest_level": bool(attracting_curve[-1] >= settings["return_level"]),
        "median_basin_radius": float(np.median(radius)),
        "max_basin_radius": float(np.max(radius)),
        "examples_with_basin": int(np.sum(radius > 0)),
        **{f"return_probability_{level_name(level)}": float(p) for level, p in zip(levels, probability.mean(axis=1))},
        **{f"attracting_return_{level_name(level)}": float(p) for level, p in zip(levels, attracting_curve)},
        **training_record(training),
    }
    log(f"metrics: {metrics}")
    files.write_json(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics,
                                           "basin_radius": radius.tolist(), "attractor": attracting.tolist()})
    files.write_npz(outputs["examples"], noise_levels=levels, return_probability=probability, basin_radius=radius,
                    attractor=attracting)
    return {"metrics": metrics}


def largest_nets(models: pd.DataFrame) -> pd.DataFrame:
    """Per seed, the deepest of the widest nets (the corner of a full width x depth grid)."""
    ordered = models.sort_values(["seed", "width", "depth"])
    return ordered.groupby("seed").tail(1).set_index("seed").sort_index()


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    records = claims.read_records(inputs["metrics"])
    table = fc.tidy(records)
    models = fc.runs_table(table)
    models["fitted"] = fc.fitted(models)
    trend = concordance_by_seed(models, "attracting_mean_return", larger_is_better=True)
    largest = largest_nets(models)
    radii = largest["attracting_median_radius"].astype(float)
    saturated = models["saturated_at_largest_level"].map(lambda flag: pd.notna(flag) and bool(flag))
    trend_rows = [{"run": f"seed-{seed}", "seed": seed, "statistic": "basin_concordance", "value": value}
                  for seed, value in trend.items()]
    files.write_csv(outputs["table"], pd.concat([table, fc.fit_rows(models), pd.DataFrame(trend_rows)],
                                                ignore_index=True))
    value, low, high = seed_mean(trend)
    pairs = size_concordance(models, "attracting_mean_return", larger_is_better=True)[1]
    radius_value, radius_low, radius_high = seed_mean(radii)
    corner = largest.iloc[0] if len(largest) else None
    corner_name = f"{int(corner.width)} x {int(corner.depth)}" if corner is not None else "none"
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of (smaller, bigger) net pairs in which the bigger net's attracting examples return more often "
            f"from noise (mean return probability over noise levels {section['noise_levels']}), mean over "
            f"{claims.seeds(len(trend))} ({pairs} pairs in all; per seed "
            f"{[round(v, 3) for v in trend]}; interval: seed bootstrap; models without attractors: "
            f"{int((models['attractors'].astype(float) == 0).sum())}; {fc.fit_note(models, 'nets')})"
        ),
        value=value, interval=(low, high), n_seeds=len(trend),
        fitted=bool(len(models)) and bool(models["fitted"].all()),
        conditions=[
            claims.Condition(f"median basin radius of attracting examples, {corner_name} net", radius_value,
                             section["radius_threshold"], ">=", radius_low, radius_high),
            claims.Condition("nets whose attracting examples still return at the largest noise level",
                             float(saturated.sum()), 0.0, "<="),
        ],
    )
