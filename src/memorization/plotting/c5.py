"""Figure C5: attractor fraction and median rho over width x depth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns



def draw(data, params: dict):
    table, row = data.table, data.row
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    sizes = sorted(table.n.unique())
    figure, axes = plt.subplots(len(sizes), 2, figsize=(11, 4.4 * len(sizes)), constrained_layout=True, squeeze=False)
    for row_index, n in enumerate(sizes):
        part = table[table.n == n]
        for axis, statistic, label, colormap, center in (
            (axes[row_index, 0], "attractor_fraction", "fraction of training examples that are attractors", "viridis", None),
            (axes[row_index, 1], "median_spectral_radius", "median rho(J_f(x_i)) over training examples", "coolwarm", 1.0),
        ):
            grid = part[part.statistic == statistic].pivot_table(index="depth", columns="width", values="value", aggfunc="mean")
            grid = grid.sort_index(ascending=False)
            options = {"vmin": 0.0, "vmax": 1.0} if center is None else {"center": center}
            sns.heatmap(grid, annot=True, fmt=".2f", cmap=colormap, ax=axis, cbar_kws={"label": label}, **options)
            axis.set_title(f"{label}, n = {n}", fontsize=9)
            axis.set_xlabel("width")
            axis.set_ylabel("depth (hidden layers)")
    first = table.iloc[0]
    figure.suptitle(
        f"C5: width x depth sweep ({first.nonlinearity}, {first.initializer} init). "
        f"Claim: bigger net has smaller median rho in {row['value']:.2f} of ordered pairs "
        f"(threshold {row['threshold']:.2f}): {row['verdict']}",
        fontsize=10,
    )
    return figure
