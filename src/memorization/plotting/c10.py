"""Figure C10: how often noisy copies of the attracting training examples iterate back to them, vs
noise level, per net size and seed; their basin radii; and the per-seed trend statistic."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from memorization.plotting import claim_line, fit_note


def draw(data, params: dict):
    table, row = data.table, data.row
    table["value"] = pd.to_numeric(table["value"].replace({"True": 1.0, "False": 0.0}), errors="coerce")
    return_level = params["return_level"]
    models = table[table.width.notna()].copy()
    attractors = models[models.statistic == "attractors"].groupby(["width", "depth"])["value"].mean()
    models["net"] = [f"width {int(w)}, depth {int(d)} ({attractors.get((w, d), float('nan')):.1f} attractors)"
                     for w, d in zip(models.width, models.depth)]
    order = list(models.sort_values(["width", "depth"]).net.unique())
    prefix = "attracting_return_s"
    curves = models[models.statistic.str.startswith(prefix)].assign(
        noise=lambda frame: frame.statistic.str[len(prefix):].astype(float))
    radii = models[models.statistic == "attracting_median_radius"]
    trend = table[table.statistic == "basin_concordance"]

    figure, axes = plt.subplots(1, 3, figsize=(17, 5), constrained_layout=True, gridspec_kw={"width_ratios": [1.4, 1, 0.6]})
    # Thin lines: one seed each; thick: the mean over seeds.
    sns.lineplot(data=curves, x="noise", y="value", hue="net", hue_order=order, units="seed", estimator=None,
                 alpha=0.35, linewidth=0.8, legend=False, ax=axes[0])
    sns.lineplot(data=curves, x="noise", y="value", hue="net", hue_order=order, errorbar=None, marker="o",
                 linewidth=2, ax=axes[0])
    axes[0].axhline(return_level, color="black", linestyle=":", label=f"return level {return_level:g}")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("noise std s of x_i + N(0, s^2 I) (per pixel)")
    axes[0].set_ylabel("fraction of noisy copies iterating back to x_i\n(mean over attracting examples)")
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=7)
    sns.stripplot(data=radii, x="net", y="value", order=order, hue="net", hue_order=order, legend=False, jitter=0.15,
                  size=6, ax=axes[1])
    axes[1].axhline(params["radius_threshold"], color="black", linestyle=":")
    axes[1].set_xlabel("")
    # short lines: a label longer than the axes runs into the title
    axes[1].set_ylabel(f"median basin radius of the attracting\nexamples, per seed (largest s with\n"
                       f">= {return_level:.0%} return; dotted: radius threshold)")
    axes[1].set_xticks(range(len(order)), [name.replace(", ", "\n").replace(" (", "\n(") for name in order])
    axes[1].tick_params(axis="x", labelsize=8)
    sns.stripplot(data=trend, y="value", jitter=0.1, size=6, ax=axes[2])
    axes[2].axhline(row["threshold"], color="black", linestyle=":")
    axes[2].axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
    axes[2].set_ylim(-0.03, 1.03)
    axes[2].set_ylabel("fraction of (smaller, bigger) pairs whose\nbigger net returns more often, per seed\n"
                       "(dotted: threshold)")
    axes[2].set_xlabel("seeds")
    first = models.iloc[0]
    without = int((models[models.statistic == "attractors"]["value"] == 0).sum())
    note = fit_note(models[models.statistic == "fitted"]["value"])
    figure.suptitle(
        f"C10: basins of the attracting training examples ({first.nonlinearity} MLPs, n = {int(first.n)}, "
        f"{models.seed.nunique()} seeds; nets without attractors: {without}) {note}\n"
        f"Claim: basins grow with width and depth in {claim_line(row)}",
        fontsize=10,
    )
    return figure
