"""Figure C3: spectral radius (and top singular value) of J_f at each training example, per nonlinearity."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from memorization.plotting import LOG_FLOOR


def draw(data, params: dict):
    table, row = data.table, data.row
    per_example = table[table.example.notna()].copy()
    per_example["value"] = per_example["value"].astype(float)
    summary = table[table.example.isna()]
    fractions = summary[summary.statistic == "attractor_fraction"].groupby("nonlinearity")["value"].apply(
        lambda values: pd.to_numeric(values).mean()
    )
    order = list(dict.fromkeys(per_example.nonlinearity))
    labels = {name: f"{name}\n{fractions.get(name, float('nan')):.0%} attractors" for name in order}
    per_example["net"] = per_example.nonlinearity.map(labels)
    shape = per_example.iloc[0]

    figure, axes = plt.subplots(1, 3, figsize=(14, 4.8), constrained_layout=True)
    panels = [
        ("spectral_radius", "rho(J_f(x_i)) (spectral radius)", 1.0, False),
        ("top_singular_value", "sigma(J_f(x_i)) (top singular value)", 1.0, False),
        ("fixed_point_error", "||f(x_i) - x_i|| / sqrt(d) (fixed-point error)", None, True),
    ]
    for axis, (statistic, label, line, log) in zip(axes, panels):
        selected = per_example[per_example.statistic == statistic].copy()
        if log:
            selected["value"] = selected["value"].clip(lower=LOG_FLOOR)
        sns.stripplot(data=selected, x="net", y="value", hue="net", order=[labels[n] for n in order], ax=axis,
                      size=6, jitter=0.2, legend=False)
        if line is not None:
            axis.axhline(line, color="black", linestyle="--", linewidth=1, label="1 (contraction boundary)")
            axis.legend(fontsize=7, loc="upper left")
        if log:
            axis.set_yscale("log")
        axis.set_xlabel("")
        axis.set_ylabel(label, fontsize=9)
        axis.tick_params(axis="x", labelsize=8)
    figure.suptitle(
        f"C3: Jacobian at each training example, MLP 784 -> {int(shape.width)} x {int(shape.depth)} -> 784, "
        f"n = {int(shape.n)}, {shape.initializer} init. rho < 1: the example attracts; the linear net is the "
        f"contrast (rho = 1 on the span).\nClaim: attractor fraction {row['value']:.2f} "
        f"(threshold {row['threshold']:.2f}): {row['verdict']}",
        fontsize=10,
    )
    return figure
