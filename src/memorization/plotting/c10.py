"""Figure C10: probability that noisy copies of a training example iterate back to it, vs noise level."""

from __future__ import annotations


import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns



def draw(data, params: dict):
    table, row = data.table, data.row
    return_level = params["return_level"]
    runs = table.drop_duplicates("run").set_index("run")
    curves, radii = [], []
    for run in data.runs:
        examples = data.examples(run)
        info = runs.loc[run]
        label = f"width {int(info.width)}, depth {int(info.depth)}"
        for level, probability in zip(examples["noise_levels"], examples["return_probability"]):
            for example, value in enumerate(probability):
                curves.append({"net": label, "noise": level, "example": example, "probability": value})
        for example, value in enumerate(examples["basin_radius"]):
            radii.append({"net": label, "example": example, "radius": value, "size": (info.width, info.depth)})
    curves, radii = pd.DataFrame(curves), pd.DataFrame(radii)
    order = list(radii.sort_values("size").net.unique())

    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    # Per example the return probability is close to 0 or 1, so the mean (the fraction of examples
    # that hold their copies) is shown, without a band.
    sns.lineplot(data=curves, x="noise", y="probability", hue="net", hue_order=order, marker="o", errorbar=None, ax=axes[0])
    axes[0].axhline(return_level, color="black", linestyle=":", label=f"return level {return_level:g}")
    axes[0].set_xlabel("noise std s of x_i + N(0, s^2 I)")
    axes[0].set_ylabel("fraction of noisy copies iterating back to x_i\n(mean over training examples)")
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=7)
    sns.stripplot(data=radii, x="net", y="radius", order=order, hue="net", hue_order=order, legend=False, jitter=0.2, size=6, ax=axes[1])
    axes[1].axhline(row["threshold"], color="black", linestyle=":")
    axes[1].annotate(f"claim threshold {row['threshold']:g}", xy=(0.99, row["threshold"]), xycoords=("axes fraction", "data"),
                     ha="right", va="bottom", fontsize=7)
    axes[1].set_xlabel("")
    axes[1].set_ylabel(f"basin radius (largest s with >= {return_level:.0%} return)")
    axes[1].tick_params(axis="x", labelsize=8)
    first = table.iloc[0]
    figure.suptitle(
        f"C10: basins of attraction ({first.nonlinearity} MLPs, n = {int(first.n)}). Claim: median basin radius of the "
        f"widest and deepest net {row['value']:.3g} (threshold {row['threshold']:.3g}): {row['verdict']}",
        fontsize=10,
    )
    return figure
