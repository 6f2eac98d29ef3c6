"""Figure C1: outputs of linear autoencoders vs projections onto the span, and the residuals."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from memorization.plotting import LOG_FLOOR, claim_line, fit_note, log_lines_against_n, show_image

METHOD_LABELS = {
    ("gd", "zeros"): "GD, W0 = 0",
    ("gd", "random"): "GD, W0 random",
    ("adam", "zeros"): "Adam, W0 = 0",
    ("adam", "random"): "Adam, W0 random",
}


def _method(table: pd.DataFrame) -> pd.Series:
    return [METHOD_LABELS[(optimizer, init)] for optimizer, init in zip(table.optimizer, table.init)]


def _gallery_runs(table: pd.DataFrame) -> tuple[int, dict[str, str]]:
    """Runs of the largest n (first seed) for each optimizer/init pair."""
    runs = table.drop_duplicates("run")
    largest = runs[runs.n == runs.n.max()]
    largest = largest[largest.seed == largest.seed.min()]
    chosen = {}
    for row in largest.itertuples():
        chosen[METHOD_LABELS[(row.optimizer, row.init)]] = row.run
    return int(runs.n.max()), dict(sorted(chosen.items(), key=lambda item: list(METHOD_LABELS.values()).index(item[0])))


def draw(data, params: dict):
    table = data.table
    threshold = data.row["threshold"]
    table["method"] = _method(table)
    n_shown, gallery = _gallery_runs(table)
    examples = {label: data.examples(run) for label, run in gallery.items()}
    first = next(iter(examples.values()))
    inputs = np.concatenate([first["test"], first["noise"]])
    projections = np.concatenate([first["test_projection"], first["noise_projection"]])
    n_columns = len(inputs)

    figure = plt.figure(figsize=(13, 9.5), constrained_layout=True)
    top, bottom = figure.subfigures(2, 1, height_ratios=[1.25, 1])
    rows = [("input z", inputs), ("P_X z (span)", projections)]
    rows += [(f"f(z): {label}", np.concatenate([ex["test_output"], ex["noise_output"]])) for label, ex in examples.items()]
    axes = top.subplots(len(rows), n_columns + 1, gridspec_kw={"width_ratios": [1] * n_columns + [1]})
    training = first["train"]
    for row_index, (label, images) in enumerate(rows):
        for column in range(n_columns):
            axis = axes[row_index, column]
            show_image(axis, images[column])
            if row_index == 0:
                axis.set_title("test image" if column < len(first["test"]) else "uniform noise", fontsize=8)
            if column == 0:
                axis.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
        side = axes[row_index, -1]
        if row_index < len(training):
            show_image(side, training[row_index], "training image" if row_index == 0 else None)
        else:
            side.axis("off")
    gd_fitted = table[(table.statistic == "fitted") & (table.optimizer == "gd")]["value"]
    top.suptitle(
        f"C1: linear autoencoder f(x) = Wx, n = {n_shown} training images. "
        f"GD outputs lie in the span of the training images; Adam's do not.\nClaim: {claim_line(data.row)} "
        f"{fit_note(gd_fitted)}",
        fontsize=10,
    )

    panels = bottom.subplots(1, 3)
    statistics = [
        ("distance_to_prediction", "||W - (P_X + W0(I - P_X))||_F / ||P_X||_F"),
        ("off_span_change", "||(W - W0)(I - P_X)||_F / ||P_X||_F"),
        ("span_residual_test_median", "median ||(I - P_X) f(z)|| / ||f(z)||, test z"),
    ]
    for axis, (statistic, label) in zip(panels, statistics):
        log_lines_against_n(axis, table[table.statistic == statistic], table.n.unique(), label)
        if statistic == "distance_to_prediction":
            axis.axhline(threshold, color="black", linestyle=":", label="claim threshold")
        axis.legend(fontsize=7)
    bottom.suptitle(
        "Relative distance of W to the predicted limit, change of W outside the span, and span residual of outputs "
        f"(values below {LOG_FLOOR:g} drawn at {LOG_FLOOR:g})",
        fontsize=9,
    )
    return figure
