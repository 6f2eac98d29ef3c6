"""Figure C2: inputs, single-layer nonlinear outputs f(z) and the nonlinear-span predictions."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from memorization.plotting import LOG_FLOOR, claim_line, log_lines_against_n, show_image

STATISTICS = [
    ("nonlinear_span_residual_median", "median residual of phi^-1(f(z))\noutside span{phi^-1(x_i)}"),
    ("projection_gap_median", "median ||f(z) - f(P_X z)|| / ||f(z)||"),
    ("linear_span_residual_median", "median ||(I - P_X) f(z)|| / ||f(z)||\n(outputs leave the linear span)"),
]


def _display(vectors: np.ndarray, rescale: np.ndarray) -> np.ndarray:
    scale, offset = rescale
    return (np.asarray(vectors) - offset) / scale


def draw(data, params: dict):
    table, row = data.table, data.row
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    runs = table.drop_duplicates("run")
    largest = runs[runs.n == runs.n.max()]
    shown = {
        optimizer: data.examples(largest[largest.optimizer == optimizer].run.iloc[0])
        for optimizer in ("gd", "adam")
        if (largest.optimizer == optimizer).any()
    }
    first = next(iter(shown.values()))
    rescale = first["rescale"]
    inputs = np.concatenate([first["test"], first["noise"][:2]])
    rows = [("input z", inputs), ("P_X z", np.concatenate([first["test_projection"], first["noise_projection"][:2]]))]
    for optimizer, examples in shown.items():
        rows.append((f"f(z), {optimizer.upper()}", np.concatenate([examples["test_output"], examples["noise_output"][:2]])))
    rows.append(("span prediction\nphi(sum c_i phi^-1(x_i))", np.concatenate([first["test_prediction"], first["noise_prediction"][:2]])))

    figure = plt.figure(figsize=(13, 10), constrained_layout=True)
    top, bottom = figure.subfigures(2, 1, height_ratios=[1.3, 1])
    axes = top.subplots(len(rows), len(inputs) + 1)
    for row_index, (label, images) in enumerate(rows):
        for column in range(len(inputs)):
            show_image(axes[row_index, column], _display(images[column], rescale))
            if row_index == 0:
                axes[row_index, column].set_title("test image" if column < len(first["test"]) else "uniform noise", fontsize=8)
        axes[row_index, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
        side = axes[row_index, -1]
        if row_index < len(first["train"]):
            show_image(side, _display(first["train"][row_index], rescale), "training image" if row_index == 0 else None)
        else:
            side.axis("off")
    top.suptitle(
        f"C2: f(x) = tanh(Wx) from W = 0, n = {int(runs.n.max())}. GD outputs equal the nonlinear-span prediction; "
        f"Adam's do not. Claim statistic {claim_line(row)}",
        fontsize=10,
    )

    panels = bottom.subplots(1, len(STATISTICS))
    for axis, (statistic, label) in zip(panels, STATISTICS):
        selected = []
        for kind in ("test", "noise"):
            part = table[table.statistic == f"{kind}_{statistic}"].copy()
            part["input"] = kind
            selected.append(part)
        selected = pd.concat(selected)
        selected["method"] = selected.optimizer.str.upper() + ", " + selected.input
        log_lines_against_n(axis, selected, table.n.unique(), label)
        if statistic == "nonlinear_span_residual_median":
            axis.axhline(row["threshold"], color="black", linestyle=":", label="claim threshold")
        axis.legend(fontsize=7)
    bottom.suptitle(f"Span statistics on test images and uniform noise (values below {LOG_FLOOR:g} drawn at {LOG_FLOOR:g})", fontsize=9)
    return figure
