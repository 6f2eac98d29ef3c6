"""C7: downsampling (strided convolution) makes linear conv autoencoders memorize.

Each run trains one linear net of ``stages`` stride-2 3x3 convolutions (``channels`` channels),
``stages`` blocks of 2x upsampling + 3x3 convolution, and a 3x3 convolution back to 1 channel,
on n grey s x s images, and measures its operator A. The net memorizes when the top n
eigenvectors of A lie in the span of the n training images (each span alignment above
``alignment_threshold``); their eigenvalues are then ~1 because the net fits the images (its
fixed-point residual max_i ||A x_i - x_i|| / ||x_i|| is below ``fit_tol``).

Verdict: the fraction of nets with a 1x1 bottleneck that memorize, pooled over sides, n and seeds
(hull of the exact binomial interval and the bootstrap over seeds), must lie wholly at or above
the threshold, and every one of those nets must fit.
"""

from __future__ import annotations

import pandas as pd

from memorization import claims, files
from memorization.analysis.intervals import pooled_fraction
from memorization.experiments import conv
from memorization.experiments.c6 import l_star_rows
from memorization.config import settings_digest

CLAIM = "c7"
STATEMENT = (
    "Downsampling makes linear convolutional autoencoders memorize: with a 1x1 bottleneck the top n eigenvectors "
    "of the operator lie in the span of the n training images, with eigenvalues ~1"
)


def run_key(settings: dict) -> str:
    return (
        f"down-s{settings['side']}-k{settings['stages']}-c{settings['channels']}-n{settings['n']}-"
        f"{conv.SHORT_INITS[settings['initializer']]}-s{settings['seed']}-"
        f"{settings_digest(settings)}"
    )


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    runs = {}
    for sweep in section["sweeps"]:
        for stages in sweep["stages"]:
            for n in section["n_train"]:
                for run_seed in section["seeds"]:
                    settings = conv.linear_run_settings(
                        CLAIM, section, seed + run_seed, architecture="downsampling", side=sweep["side"],
                        stages=stages, channels=section["channels"], upsampling=section["upsampling"], n=n,
                    )
                    runs[run_key(settings)] = settings
    return runs


def train(settings: dict, inputs: dict, outputs: dict, log, options=None) -> dict:
    return conv.train_linear(settings, inputs, outputs, log, run_key(settings), options=options)


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    return conv.measure_linear(settings, inputs, outputs, log, CLAIM)


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    from memorization.models.conv import encoder_sides

    section = settings["section"]
    table = conv.tidy(claims.read_records(inputs["metrics"]), run_key)
    runs = conv.memorization_table(table, section["alignment_threshold"])
    runs["fitted"] = runs["fixed_point_residual"] < section["fit_tol"]
    runs["bottleneck"] = [encoder_sides(int(side), int(stages))[-1] for side, stages in zip(runs["side"], runs["stages"])]
    memorized_rows = runs[["run", "architecture", "side", "stages", "channels", "n", "seed"]].assign(
        statistic="memorized", value=runs["memorized"].astype(float)
    )
    bottleneck_rows = runs[["run", "architecture", "side", "stages", "channels", "n", "seed"]].assign(
        statistic="bottleneck_side", value=runs["bottleneck"].astype(float)
    )
    fitted_rows = runs[["run", "architecture", "side", "stages", "channels", "n", "seed"]].assign(
        statistic="fitted", value=runs["fitted"].astype(float)
    )
    tidy = pd.concat([table, memorized_rows, bottleneck_rows, fitted_rows, l_star_rows(runs, "downsampling")],
                     ignore_index=True)
    files.write_csv(outputs["table"], tidy)

    deepest = runs[runs["bottleneck"] == 1]
    by_seed = deepest.groupby("seed")["memorized"].agg(["sum", "count"])
    value, low, high = pooled_fraction(by_seed["sum"], by_seed["count"])
    log(f"{len(deepest)} runs with a 1x1 bottleneck, {int(deepest['memorized'].sum())} memorized, "
        f"{int(deepest['fitted'].sum())} fitted; {int(runs['memorized'].sum())} of {len(runs)} runs memorized in all")
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of downsampling nets with a 1x1 bottleneck whose top n eigenvectors lie in span X (span "
            f"alignment > {section['alignment_threshold']}), pooled over {claims.seeds(len(by_seed))} "
            f"({int(deepest['memorized'].sum())} of {len(deepest)}; interval: hull of exact binomial and seed "
            f"bootstrap; {int(deepest['fitted'].sum())} of {len(deepest)} fitted, ||A x_i - x_i|| / ||x_i|| < "
            f"{section['fit_tol']})"
        ),
        value=value, interval=(low, high), n_seeds=len(by_seed),
        fitted=bool(len(deepest)) and bool(deepest["fitted"].all()),
    )
