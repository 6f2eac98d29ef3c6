"""Figure C5: attractor fraction and median rho over width x depth (means over seeds), and the
per-seed trend statistics the verdict reads."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from memorization.plotting import claim_line, fit_note, seed_points

TRENDS = {
    "rho_concordance": "bigger net\nhas smaller median rho\n(the statistic)",
    "attractor_concordance": "bigger net\nhas larger attractor\nfraction (a condition)",
}


def draw(data, params: dict):
    table, row = data.table, data.row
    table["value"] = pd.to_numeric(table["value"].replace({"True": 1.0, "False": 0.0}), errors="coerce")
    models = table[table.width.notna()].astype({"width": int, "depth": int})
    sizes = sorted(models.n.unique())
    figure = plt.figure(figsize=(15, 4.4 * len(sizes)), constrained_layout=True)
    grid = figure.add_gridspec(len(sizes), 3, width_ratios=[1, 1, 0.8])
    for row_index, n in enumerate(sizes):
        part = models[models.n == n]
        for column, (statistic, label, colormap, center) in enumerate((
            ("attractor_fraction", "fraction of training examples that are attractors", "viridis", None),
            ("median_spectral_radius", "median rho(J_f(x_i)) over training examples", "coolwarm", 1.0),
        )):
            axis = figure.add_subplot(grid[row_index, column])
            selected = part[part.statistic == statistic]
            mean = selected.pivot_table(index="depth", columns="width", values="value", aggfunc="mean")
            spread = selected.pivot_table(index="depth", columns="width", values="value", aggfunc=["min", "max"])
            notes = mean.copy().astype(object)
            for depth in mean.index:
                for width in mean.columns:
                    notes.loc[depth, width] = (f"{mean.loc[depth, width]:.2f}\n[{spread.loc[depth, ('min', width)]:.2f}, "
                                               f"{spread.loc[depth, ('max', width)]:.2f}]")
            options = {"vmin": 0.0, "vmax": 1.0} if center is None else {"center": center}
            sns.heatmap(mean.sort_index(ascending=False), annot=notes.sort_index(ascending=False), fmt="", cmap=colormap,
                        ax=axis, cbar_kws={"label": label.replace(" that", "\nthat").replace(" over", "\nover")},
                        annot_kws={"fontsize": 7}, **options)
            # the title on two lines: one line runs into the next panel's colorbar label
            axis.set_title(f"{label}, n = {int(n)}\nmean over seeds [min, max]", fontsize=9)
            axis.set_xlabel("width")
            axis.set_ylabel("depth (hidden layers)")
    trends = table[table.statistic.isin(list(TRENDS))].assign(trend=lambda frame: frame.statistic.map(TRENDS))
    axis = figure.add_subplot(grid[:, 2])
    seed_points(axis, trends, "trend", "value", order=list(TRENDS.values()))
    axis.axhline(row["threshold"], color="black", linestyle=":", linewidth=1)
    axis.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
    axis.set_ylim(-0.03, 1.03)
    axis.set_xlabel("")
    axis.set_ylabel("fraction of (smaller, bigger) pairs per seed\n(bar: mean; dotted: threshold; dashed: no trend)")
    axis.tick_params(axis="x", labelsize=8)
    first = models.iloc[0]
    note = fit_note(models[models.statistic == "fitted"]["value"])
    figure.suptitle(
        f"C5: width x depth sweep ({first.nonlinearity}, {first.initializer} init, "
        f"{models.seed.nunique()} seeds) {note}\nClaim: bigger net has smaller median rho in {claim_line(row)}",
        fontsize=10,
    )
    return figure
