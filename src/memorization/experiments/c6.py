"""C6: depth is necessary for memorization in (linear) convolutional autoencoders.

A linear conv autoencoder of ``depth`` 1-channel 3x3 stride-1 convolutions is a product of
banded matrices: an output pixel sees only inputs within ``depth`` pixels, so below depth s - 1
its operator A has structural zeros and cannot be the dense projector x x^T / ||x||^2 onto a
training image x. Each run trains one such net on one grey s x s image and measures A; a run
memorizes when the top eigenvector of A is aligned with x beyond ``alignment_threshold``; it
*fits* when its fixed-point residual ||A x - x|| / ||x|| is below ``fit_tol``. L*(s) is the
smallest depth of each seed's sweep at which a net fits and memorizes.

The shallow half (nets below the receptive-field depth do not memorize) follows from the
structure and can hardly fail, so it is a condition. The half that can fail is the statistic:
per seed, whether L*(s) is found within the sweep for every side s and grows strictly with s.

Verdict: the fraction of seeds with such an L*(s) curve (bootstrap over seeds) must lie wholly at
or above the threshold; no fitted shallow net may memorize; every shallow net, and every net
shallower than a found L*(s), must fit (an unfitted net can neither support "shallow nets do not
memorize" nor rule out a smaller L*).
"""

from __future__ import annotations

import pandas as pd

from memorization import claims, files
from memorization.analysis.intervals import seed_mean
from memorization.analysis.operator import minimal_memorizing_depths, stride1_receptive_field_depth
from memorization.experiments import conv
from memorization.config import settings_digest

CLAIM = "c6"
STATEMENT = (
    "Depth is necessary for memorization in convolutional autoencoders: linear 1-channel 3x3 stride-1 nets whose "
    "receptive field does not cover an s x s image do not memorize it, deep enough ones do, and the minimal "
    "memorizing depth L*(s) grows with s"
)


def run_key(settings: dict) -> str:
    return (
        f"lin1-s{settings['side']}-L{settings['depth']}-n{settings['n']}-"
        f"{conv.SHORT_INITS[settings['initializer']]}-s{settings['seed']}-"
        f"{settings_digest(settings)}"
    )


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    runs = {}
    for sweep in section["sweeps"]:
        for depth in sweep["depths"]:
            for run_seed in section["seeds"]:
                settings = conv.linear_run_settings(
                    CLAIM, section, seed + run_seed, architecture="stride1", side=sweep["side"], depth=depth, n=1
                )
                runs[run_key(settings)] = settings
    return runs


def train(settings: dict, inputs: dict, outputs: dict, log, options=None) -> dict:
    return conv.train_linear(settings, inputs, outputs, log, run_key(settings), options=options)


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    return conv.measure_linear(settings, inputs, outputs, log, CLAIM)


def l_star_rows(runs: pd.DataFrame, label: str) -> pd.DataFrame:
    """Tidy rows of L* (in convolutions) per (side, n, seed), NaN where no tested depth memorized;
    a run counts as memorizing only when it also fitted (``runs.fitted``)."""
    frame = runs.assign(depth_conv=runs["conv_layers"].astype(int), memorized=runs["memorized"] & runs["fitted"])
    rows = []
    for stable in (False, True):
        table = minimal_memorizing_depths(frame, group_by=("side", "n", "seed"), depth="depth_conv", stable=stable)
        for row in table.itertuples():
            rows.append({
                "run": f"{label}-s{int(row.side)}-n{int(row.n)}-seed{int(row.seed)}",
                "architecture": label, "side": int(row.side), "n": int(row.n), "seed": int(row.seed),
                "statistic": "l_star_stable" if stable else "l_star", "value": float(row.l_star),
            })
        if not stable:
            for row in table.itertuples():
                rows.append({
                    "run": f"{label}-s{int(row.side)}-n{int(row.n)}-seed{int(row.seed)}",
                    "architecture": label, "side": int(row.side), "n": int(row.n), "seed": int(row.seed),
                    "statistic": "max_conv_layers_tested", "value": float(row.max_depth_tested),
                })
    return pd.DataFrame(rows)


def sweep_l_stars(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (side, seed) sweep: L* (smallest depth that fits and memorizes, NaN when none
    does) and whether every shallower run of the sweep fitted (else a smaller L* is not ruled out)."""
    rows = []
    for (side, seed), sweep in runs.groupby(["side", "seed"]):
        sweep = sweep.sort_values("conv_layers")
        found = sweep[sweep["memorized"] & sweep["fitted"]]
        l_star = float(found["conv_layers"].min())  # NaN when no net fits and memorizes
        below = sweep[sweep["conv_layers"] < l_star]  # empty then: nothing compares below NaN
        rows.append({"side": int(side), "seed": int(seed), "l_star": l_star,
                     "below_fitted": bool(below["fitted"].all())})
    return pd.DataFrame(rows, columns=["side", "seed", "l_star", "below_fitted"])


def l_star_grows(sweeps: pd.DataFrame) -> pd.Series:
    """Per seed: 1.0 when L*(s) is found for every side, with all shallower runs fitted, and grows
    strictly with s; else 0.0."""
    grows = {}
    for seed, curve in sweeps.groupby("seed"):
        curve = curve.sort_values("side")
        complete = curve["l_star"].notna().all() and curve["below_fitted"].all()
        grows[seed] = float(complete and bool((curve["l_star"].diff().dropna() > 0).all()))
    return pd.Series(grows, dtype=float).sort_index()


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    table = conv.tidy(claims.read_records(inputs["metrics"]), run_key)
    runs = conv.memorization_table(table, section["alignment_threshold"])
    runs["fitted"] = runs["fixed_point_residual"] < section["fit_tol"]
    run_columns = runs[["run", "architecture", "side", "depth", "n", "seed"]]
    memorized_rows = run_columns.assign(statistic="memorized", value=runs["memorized"].astype(float))
    fitted_rows = run_columns.assign(statistic="fitted", value=runs["fitted"].astype(float))
    receptive = pd.DataFrame([
        {"run": f"receptive-field-s{side}", "architecture": "stride1", "side": side,
         "statistic": "receptive_field_depth", "value": float(stride1_receptive_field_depth(side))}
        for side in sorted(runs["side"].unique())
    ])
    sweeps = sweep_l_stars(runs)
    grows = l_star_grows(sweeps)
    grows_rows = pd.DataFrame([{"run": f"stride1-seed{int(seed)}", "architecture": "stride1", "seed": seed,
                                "statistic": "l_star_grows", "value": value} for seed, value in grows.items()])
    tidy = pd.concat([table, memorized_rows, fitted_rows, l_star_rows(runs, "stride1"), receptive, grows_rows],
                     ignore_index=True)
    files.write_csv(outputs["table"], tidy)

    shallow = runs[runs["receptive_field_covers"] < 0.5]
    shallow_memorizing = int((shallow["memorized"] & shallow["fitted"]).sum())
    below = runs.merge(sweeps[["side", "seed", "l_star"]], on=["side", "seed"])
    evidence = pd.concat([shallow, below[below["conv_layers"] < below["l_star"]]]).drop_duplicates("run")
    value, low, high = seed_mean(grows)
    curves = "; ".join(
        f"seed {int(seed)}: " + ", ".join(
            f"L*({int(row.side)}) = {'not reached' if pd.isna(row.l_star) else int(row.l_star)}"
            for row in curve.sort_values("side").itertuples())
        for seed, curve in sweeps.groupby("seed")
    )
    log(f"{len(shallow)} runs below the receptive-field depth, {shallow_memorizing} memorized; L* {curves}")
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of seeds whose stride-1 sweep finds L*(s) (smallest depth that fits, ||A x - x|| / ||x|| < "
            f"{section['fit_tol']}, and memorizes, |cos(top eigenvector, x)| > {section['alignment_threshold']}) "
            f"for every side and L*(s) grows strictly with s ({curves}; interval: seed bootstrap; "
            f"{int(runs['fitted'].sum())} of {len(runs)} nets fitted)"
        ),
        value=value, interval=(low, high), n_seeds=len(grows),
        fitted=bool(evidence["fitted"].all()),  # True when there is no such net
        conditions=[claims.Condition(f"fitted nets shallower than s - 1 that memorize (of {len(shallow)})",
                                     float(shallow_memorizing), 0.0, "<=")],
    )
