"""C6: depth is necessary for memorization in (linear) convolutional autoencoders.

A linear conv autoencoder of ``depth`` 1-channel 3x3 stride-1 convolutions is a product of
banded matrices: an output pixel sees only inputs within ``depth`` pixels, so below depth s - 1
its operator A has structural zeros and cannot be the dense projector x x^T / ||x||^2 onto a
training image x. Each run trains one such net on one grey s x s image and measures A; a run
memorizes when the top eigenvector of A is aligned with x beyond ``alignment_threshold``.
L*(s) is the smallest memorizing depth of each seed's depth sweep.
"""

from __future__ import annotations

import pandas as pd

from memorization import claims, files
from memorization.analysis.operator import minimal_memorizing_depths, stride1_receptive_field_depth
from memorization.experiments import conv
from memorization.config import settings_digest

CLAIM = "c6"
STATEMENT = (
    "Depth is necessary for memorization in convolutional autoencoders: linear 1-channel 3x3 stride-1 nets "
    "whose receptive field does not cover the image do not memorize it (L*(s) >= s - 1)"
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
    """Tidy rows of L* (in convolutions) per (side, n, seed), NaN where no tested depth memorized."""
    frame = runs.assign(depth_conv=runs["conv_layers"].astype(int))
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


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    table = conv.tidy(claims.read_records(inputs["metrics"]), run_key)
    runs = conv.memorization_table(table, section["alignment_threshold"])
    memorized_rows = runs[["run", "architecture", "side", "depth", "n", "seed"]].assign(
        statistic="memorized", value=runs["memorized"].astype(float)
    )
    receptive = pd.DataFrame([
        {"run": f"receptive-field-s{side}", "architecture": "stride1", "side": side,
         "statistic": "receptive_field_depth", "value": float(stride1_receptive_field_depth(side))}
        for side in sorted(runs["side"].unique())
    ])
    tidy = pd.concat([table, memorized_rows, l_star_rows(runs, "stride1"), receptive], ignore_index=True)
    files.write_csv(outputs["table"], tidy)

    shallow = runs[runs["receptive_field_covers"] < 0.5]
    value = claims.mean_or_nan(shallow["memorized"])
    log(f"{len(shallow)} runs below the receptive-field depth, {int(shallow['memorized'].sum())} memorized; "
        f"{int(runs['memorized'].sum())} of {len(runs)} runs memorized in all")
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison="<=",
        statistic=f"fraction of stride-1 nets shallower than s - 1 that memorize (|cos(top eigenvector, x)| > "
        f"{section['alignment_threshold']})",
        value=value,
    )
