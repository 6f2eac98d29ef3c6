"""Figure C7: linear conv autoencoders with downsampling store the training images as eigenvectors."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from memorization.plotting import claim_line
from memorization.plotting.c6 import show_square


def draw(data, params: dict):
    table = data.table
    alignment_threshold = params["alignment_threshold"]
    statistics = ["alignment", "conv_layers", "next_eigenvalue_modulus", "bottleneck_side", "train_final_loss", "fitted"]
    runs = table[table.statistic.isin(statistics)].pivot_table(
        index=["run", "side", "stages", "n", "seed"], columns="statistic", values="value").reset_index()
    runs["n"] = runs["n"].astype(int)
    runs["side"] = runs["side"].astype(int)
    sides = sorted(runs.side.unique())
    n_largest = int(runs.n.max())

    figure = plt.figure(figsize=(14, 4.2 + 1.3 * len(sides)), constrained_layout=True)
    top, bottom = figure.subfigures(2, 1, height_ratios=[4.2, 1.3 * len(sides)])
    left, middle = top.subplots(1, 2)
    sns.lineplot(data=runs, x="conv_layers", y="alignment", hue="side", style="n", palette="viridis", markers=True,
                 errorbar=("pi", 100), ax=left)
    unfitted = runs[runs.fitted < 0.5]
    if len(unfitted):
        left.scatter(unfitted.conv_layers, unfitted.alignment, marker="x", color="red", s=40, zorder=3,
                     label=f"did not fit: {len(unfitted)}")
    left.axhline(alignment_threshold, color="black", linestyle=":", linewidth=1, label="memorization threshold")
    left.set_xlabel("convolutions (2 x stride-2 stages + 1)")
    left.set_ylabel("min span alignment of the top n eigenvectors")
    left.set_ylim(-0.02, 1.05)
    left.set_title("top n eigenvectors in span of the n training images?", fontsize=9)
    left.legend(fontsize=7)

    deepest = runs[runs.bottleneck_side == 1]
    spectra = []
    for record in deepest.itertuples():
        values = np.abs(data.examples(record.run)["eigenvalues"])[:8]
        spectra += [{"side": record.side, "n": record.n, "seed": record.seed, "index": index + 1, "modulus": value}
                    for index, value in enumerate(values)]
    if spectra:
        sns.lineplot(data=pd.DataFrame(spectra), x="index", y="modulus", hue="side", style="n", palette="viridis",
                     markers=True, errorbar=("pi", 100), ax=middle)
    middle.axhline(1.0, color="black", linestyle=":", linewidth=1)
    middle.set_xlabel("eigenvalue index (by modulus)")
    middle.set_ylabel("|eigenvalue| of A")
    middle.set_title("spectrum of the nets with a 1 x 1 bottleneck: n eigenvalues ~1, the rest small", fontsize=9)
    middle.legend(fontsize=7)

    columns = 2 * n_largest + 1
    axes = bottom.subplots(len(sides), columns, squeeze=False)
    for row, side in enumerate(sides):
        for axis in axes[row]:
            axis.axis("off")
        chosen = runs[(runs.side == side) & (runs.n == n_largest)].sort_values(["stages", "seed"], ascending=[False, True])
        if not len(chosen):
            continue
        record = chosen.iloc[0]
        examples = data.examples(record.run)
        for index in range(n_largest):
            axes[row, index].axis("on")
            show_square(axes[row, index], examples["train"][index], f"training image {index + 1} (s = {side})")
            axes[row, n_largest + 1 + index].axis("on")
            value = examples["eigenvalues"][index]
            shown = examples["top_basis"] if "top_basis" in examples else examples["eigenvectors"]
            show_square(axes[row, n_largest + 1 + index], shown[index],
                        f"basis vector {index + 1} (|lambda_{index + 1}| = {abs(value):.3f})", signed=True)
        axes[row, n_largest].text(0.5, 0.5, f"{int(record.stages)} stages\nalignment\n{record.alignment:.3f}",
                                  ha="center", va="center", fontsize=8, transform=axes[row, n_largest].transAxes)
    bottom.suptitle(f"n = {n_largest} training images beside a real orthonormal basis of the span of the top "
                    f"{n_largest} eigenvectors of the deepest net (first seed); red > 0 > blue", fontsize=9)
    figure.suptitle("C7: linear conv autoencoders with stride-2 downsampling and upsampling memorize: the training "
                    f"images span the top eigenvectors of the operator ({runs.seed.nunique()} seeds)\n"
                    f"Claim: fraction of 1 x 1-bottleneck nets that memorize {claim_line(data.row)}", fontsize=10)
    return figure
