"""C5: more width and depth give more contractive maps and more stored examples.

A sweep over width x depth (x n) x seeds of the section's model; every model is measured like C3
(rho, fixed-point error and attractors at each training example). The trend test, per seed: over
all ordered pairs of sweep models (a, b) with the same n and seed where b is at least as wide and
as deep as a and differs from it, the fraction in which b is better (1 = perfectly monotone,
0.5 = no trend; a tie counts one half, a NaN counts against).

Verdict: the median-rho concordance (b has the smaller median rho: "more contractive"), mean over
seeds with its bootstrap interval, must lie wholly at or above the threshold; it is the main
statistic because median rho is continuous (no ties) and measures contraction directly. The
attractor-fraction concordance (b has the larger fraction: "store more of them") must too, as a
condition; every model must have reached its loss threshold.
"""

from __future__ import annotations

import itertools

import pandas as pd

from memorization import claims, files
from memorization.analysis.intervals import seed_mean
from memorization.experiments import fc

CLAIM = "c5"
STATEMENT = (
    "Wider and deeper fully connected autoencoders are more contractive at the training examples (smaller median "
    "rho) and store more of them as attractors"
)


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


def size_concordance(
    models: pd.DataFrame, statistic: str = "median_spectral_radius", larger_is_better: bool = False
) -> tuple[float, int]:
    """Fraction of ordered pairs (smaller, bigger net; same n and seed) in which the bigger net has
    the better ``statistic`` (smaller by default; larger with ``larger_is_better``).

    ``models`` has one row per model with columns width, depth, n, seed and ``statistic``. A tie
    counts one half; a pair with a NaN statistic counts against the trend. Returns (fraction,
    number of pairs); NaN when there is no comparable pair.
    """
    wins, pairs = 0.0, 0
    for (_, small), (_, big) in itertools.permutations(models.iterrows(), 2):
        same_data = small.n == big.n and small.seed == big.seed
        bigger = big.width >= small.width and big.depth >= small.depth and (big.width, big.depth) != (small.width, small.depth)
        if same_data and bigger:
            pairs += 1
            before, after = float(small[statistic]), float(big[statistic])
            if after == before:
                wins += 0.5
            elif (after > before) if larger_is_better else (after < before):
                wins += 1.0
    return (wins / pairs if pairs else float("nan")), pairs


def concordance_by_seed(models: pd.DataFrame, statistic: str, larger_is_better: bool = False) -> pd.Series:
    """`size_concordance` of each seed's sweep, indexed by seed."""
    return pd.Series({seed: size_concordance(group, statistic, larger_is_better)[0]
                      for seed, group in models.groupby("seed")}, dtype=float).sort_index()


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    threshold = section["claim_threshold"]
    records = claims.read_records(inputs["metrics"])
    table = fc.tidy(records)
    models = fc.runs_table(table)
    models["fitted"] = fc.fitted(models)
    rho = concordance_by_seed(models, "median_spectral_radius")
    attractors = concordance_by_seed(models, "attractor_fraction", larger_is_better=True)
    trend_rows = [
        {"run": f"seed-{seed}", "seed": seed, "statistic": name, "value": value}
        for name, series in (("rho_concordance", rho), ("attractor_concordance", attractors))
        for seed, value in series.items()
    ]
    files.write_csv(outputs["table"], pd.concat([table, fc.fit_rows(models), pd.DataFrame(trend_rows)],
                                                ignore_index=True))
    pairs = size_concordance(models)[1]
    value, low, high = seed_mean(rho)
    attractor_value, attractor_low, attractor_high = seed_mean(attractors)
    log(f"median-rho concordance per seed {rho.round(3).tolist()}, "
        f"attractor concordance {attractors.round(3).tolist()}")
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of (smaller, bigger) net pairs in which the bigger net has the smaller median rho, mean over "
            f"{claims.seeds(len(rho))} ({pairs} pairs in all; per seed {[round(v, 3) for v in rho]}; interval: seed "
            f"bootstrap; {fc.fit_note(models, 'nets')})"
        ),
        value=value, interval=(low, high), n_seeds=len(rho),
        fitted=bool(len(models)) and bool(models["fitted"].all()),
        conditions=[claims.Condition("attractor-fraction concordance (bigger net stores more)", attractor_value,
                                     threshold, ">=", attractor_low, attractor_high)],
    )
