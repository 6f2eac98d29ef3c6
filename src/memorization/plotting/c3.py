"""Figure C3: spectral radius (and top singular value) of J_f at each training example of every
seed, per net, and each seed's attractor fraction."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from memorization.analysis.intervals import pooled_fraction
from memorization.plotting import LOG_FLOOR, claim_line, fit_note, seed_points


def net_labels(summary: pd.DataFrame) -> dict[str, str]:
    """Per net: its name, pooled attractor fraction with interval, and what limits it (no
    attractors by construction, runs that did not interpolate)."""
    labels = {}
    for net, runs in summary.groupby("net", sort=False):
        attractors = runs[runs.statistic == "attractors"].set_index("run")["value"].astype(float)
        examples = runs.drop_duplicates("run").set_index("run")["n"].astype(float).reindex(attractors.index)
        fraction, low, high = pooled_fraction(attractors, examples)
        label = f"{net}\n{fraction:.0%} attract\n[{low:.0%}, {high:.0%}]"
        if runs["by_construction"].fillna("").iloc[0]:
            label += "\nnone by\nconstruction"
        note = fit_note(runs[runs.statistic == "fitted"]["value"])
        if note:
            label += "\n" + note
        labels[net] = label
    return labels


def draw(data, params: dict):
    table, row = data.table, data.row
    table["value"] = pd.to_numeric(table["value"].replace({"True": 1.0, "False": 0.0}), errors="coerce")
    per_example = table[table.example.notna()].copy()
    summary = table[table.example.isna()]
    order = list(dict.fromkeys(summary.net))
    labels = net_labels(summary)
    per_example["label"] = per_example.net.map(labels)
    shape = per_example.iloc[0]
    seeds = sorted(summary.seed.dropna().unique())

    figure, axes = plt.subplots(1, 4, figsize=(21, 5.8), constrained_layout=True,
                                gridspec_kw={"width_ratios": [1.2, 1.2, 1.2, 1]})
    panels = [
        ("spectral_radius", "rho(J_f(x_i)) (spectral radius)", 1.0, False),
        ("top_singular_value", "sigma(J_f(x_i)) (top singular value)", 1.0, False),
        ("fixed_point_error", "||f(x_i) - x_i|| / sqrt(d) (fixed-point error)", None, True),
    ]
    for axis, (statistic, label, line, log) in zip(axes, panels):
        selected = per_example[per_example.statistic == statistic].copy()
        if log:
            selected["value"] = selected["value"].clip(lower=LOG_FLOOR)
        sns.stripplot(data=selected, x="label", y="value", hue="seed", order=[labels[n] for n in order], ax=axis,
                      size=4, jitter=0.25, dodge=False, palette="deep", legend=statistic == "spectral_radius")
        if line is not None:
            axis.axhline(line, color="black", linestyle="--", linewidth=1)
        if log:
            axis.set_yscale("log")
        axis.set_xlabel("")
        axis.set_ylabel(label, fontsize=9)
        axis.tick_params(axis="x", labelsize=7)
    axes[0].legend(fontsize=7, title="seed (rho = 1 dashed)", title_fontsize=7, loc="lower left", ncols=len(seeds))

    fractions = summary[summary.statistic == "attractor_fraction"]
    seed_points(axes[3], fractions, "net", "value", order=order)
    axes[3].axhline(row["threshold"], color="black", linestyle=":", linewidth=1)
    axes[3].set_ylim(-0.03, 1.03)
    axes[3].set_xlabel("")
    axes[3].set_ylabel("attractor fraction per seed (bar: mean; dotted: threshold)", fontsize=9)
    axes[3].tick_params(axis="x", labelsize=7, rotation=30)
    figure.suptitle(
        f"C3: Jacobian at each training example, MLP 784 -> {int(shape.width)} x {int(shape.depth)} -> 784, "
        f"n = {int(shape.n)}, {shape.initializer} init, {len(seeds)} seeds (a seed draws images and init). rho < 1: "
        f"the example attracts; the linear net is the contrast (rho = 1 on the span).\n"
        f"Claim: pooled attractor fraction {claim_line(row)}",
        fontsize=10,
    )
    return figure
