"""C5: more width and depth give more contractive maps and more stored examples.

A sweep over width x depth (x n) of the section's model; every model is measured like C3 (rho,
fixed-point error and attractors at each training example). The claim's statistic is how often
a bigger net is more contractive: over all pairs of sweep models (a, b) with the same n where b
is at least as wide and as deep as a and differs from it, the fraction in which the median rho
of b is smaller than that of a (1 = perfectly monotone, 0.5 = no trend).
"""

from __future__ import annotations

import itertools

import pandas as pd

from memorization import claims, files
from memorization.experiments import fc

CLAIM = "c5"
STATEMENT = "Wider and deeper fully connected autoencoders are more contractive at the training examples and store more of them as attractors"


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    runs = {}
    for width, depth, n, run_seed in itertools.product(
        section["widths"], section["depths"], section["n_train"], section["seeds"]
    ):
        model = fc.model_settings(section["model"], seed + run_seed, width=width, depth=depth, n_train=n)
        key, settings = fc.claim_run(
            CLAIM, model, fixed_point_tol=section["fixed_point_tol"], radius_margin=section["radius_margin"]
        )
        runs[key] = settings
    return runs



def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    return fc.measure_local_contraction(CLAIM, settings, inputs, outputs, log, per_example=False)


def size_concordance(models: pd.DataFrame, statistic: str = "median_spectral_radius") -> tuple[float, int]:
    """Fraction of ordered pairs (smaller, bigger net; same n and seed) where the bigger has the smaller ``statistic``.

    ``models`` has one row per model with columns width, depth, n, seed and ``statistic``.
    Returns (fraction, number of pairs); NaN when there is no comparable pair.
    """
    wins, pairs = 0, 0
    for (_, small), (_, big) in itertools.permutations(models.iterrows(), 2):
        same_data = small.n == big.n and small.seed == big.seed
        bigger = big.width >= small.width and big.depth >= small.depth and (big.width, big.depth) != (small.width, small.depth)
        if same_data and bigger:
            pairs += 1
            wins += int(big[statistic] < small[statistic])
    return (wins / pairs if pairs else float("nan")), pairs


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    records = claims.read_records(inputs["metrics"])
    table = fc.tidy(records)
    files.write_csv(outputs["table"], table)
    models = table.pivot_table(index=["run", "width", "depth", "n", "seed"], columns="statistic", values="value", aggfunc="first").reset_index()
    concordance, pairs = size_concordance(models)
    log(f"size concordance of median rho: {concordance} over {pairs} pairs")
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=f"fraction of (smaller, bigger) net pairs in which the bigger net has the smaller median rho ({pairs} pairs)",
        value=concordance,
    )
