"""Figure C6: minimal memorizing depth L*(s) with and without downsampling, and what the nets store."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from memorization.plotting import claim_line

ARCHITECTURE_LABELS = {"stride1": "stride 1 (C6)", "downsampling": "stride-2 downsampling (C7, smallest n)"}
COLOURS = {"stride1": "tab:blue", "downsampling": "tab:orange"}


def show_square(axis, vector, title=None, signed=False):
    """A flattened s x s grey image; eigenvectors are shown on a symmetric scale around 0."""
    vector = np.asarray(vector, dtype=np.float64)
    side = int(round(vector.size**0.5))
    image = vector.reshape(side, side)
    if signed:
        bound = float(np.abs(image).max()) or 1.0
        axis.imshow(image, cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
    else:
        axis.imshow(image, cmap="gray", vmin=0.0, vmax=float(image.max()) or 1.0, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.grid(False)
    if title:
        axis.set_title(title, fontsize=7)


def l_star_frame(table: pd.DataFrame, architecture: str) -> pd.DataFrame:
    """Per (side, seed): L* (NaN = not reached) and the deepest net tested, for the smallest n (1)."""
    rows = table[(table.architecture == architecture) & table.statistic.isin(["l_star", "max_conv_layers_tested"])]
    if "n" in rows and rows.n.notna().any():
        rows = rows[rows.n == rows.n.min()]
    wide = rows.pivot_table(index=["side", "seed"], columns="statistic", values="value", dropna=False).reset_index()
    return wide


def receptive_field_line(table: pd.DataFrame) -> pd.DataFrame:
    """Smallest number of convolutions at which every output pixel sees the whole image, per side."""
    covers = table[table.statistic == "receptive_field_covers"][["run", "side", "value"]]
    layers = table[table.statistic == "conv_layers"][["run", "value"]].rename(columns={"value": "layers"})
    merged = covers.merge(layers, on="run")
    merged = merged[merged.value > 0.5]
    return merged.groupby("side", as_index=False)["layers"].min()


def draw_l_star(axis, frames: dict[str, pd.DataFrame], receptive: dict[str, pd.DataFrame]) -> None:
    offsets = {"stride1": -0.12, "downsampling": 0.12}
    ceiling = max(float(frame["max_conv_layers_tested"].max()) for frame in frames.values()) + 2
    for architecture, frame in frames.items():
        colour = COLOURS[architecture]
        reached = frame[frame.l_star.notna()]
        missing = frame[frame.l_star.isna()]
        axis.scatter(reached.side + offsets[architecture], reached.l_star, color=colour, s=28, alpha=0.8,
                     label=f"L*(s) per seed, {ARCHITECTURE_LABELS[architecture]}")
        if len(missing):
            axis.scatter(missing.side + offsets[architecture], missing.max_conv_layers_tested + 0.6, marker="^",
                         facecolors="none", edgecolors=colour, s=60, linewidths=1.5,
                         label=f"not reached up to the tested depth ({architecture})")
        median = frame.assign(value=frame.l_star.fillna(np.inf)).groupby("side")["value"].median()
        finite = median[np.isfinite(median)]
        axis.plot(finite.index, finite.values, color=colour, linewidth=1.2)
        line = receptive.get(architecture)
        if line is not None and len(line):
            axis.plot(line.side, line.layers, color=colour, linestyle="--", linewidth=1,
                      label=f"receptive field covers the image ({architecture})")
    axis.set_ylim(0, ceiling + 1)
    sides = sorted(set().union(*[set(frame.side) for frame in frames.values()]))
    axis.set_xticks(sides)
    axis.set_xlabel("image side s")
    axis.set_ylabel("convolutions (depth)")
    axis.set_title("minimal memorizing depth L*(s)", fontsize=9)
    axis.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)


def draw(data, params: dict):
    table = data.table
    alignment_threshold = params["alignment_threshold"]
    frames = {"stride1": l_star_frame(table, "stride1")}
    receptive = {"stride1": table[table.statistic == "receptive_field_depth"][["side", "value"]].rename(
        columns={"value": "layers"})}
    if "c7" in data.tables:
        downsampling = data.tables["c7"]
        frames["downsampling"] = l_star_frame(downsampling, "downsampling")
        smallest_n = downsampling[downsampling.n == downsampling.n.min()]
        receptive["downsampling"] = receptive_field_line(smallest_n)

    runs = table[table.statistic.isin(["alignment", "conv_layers", "train_final_loss", "fitted"])].pivot_table(
        index=["run", "side", "seed"], columns="statistic", values="value").reset_index()
    runs["side"] = runs["side"].astype(int)
    sides = sorted(runs.side.unique())
    gallery_depths = {side: sorted(runs[runs.side == side].conv_layers.unique()) for side in sides}
    columns = max(len(depths) for depths in gallery_depths.values()) + 1

    figure = plt.figure(figsize=(14, 4.2 + 1.25 * len(sides)), constrained_layout=True)
    top, bottom = figure.subfigures(2, 1, height_ratios=[4.2, 1.25 * len(sides)])
    left, right = top.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    draw_l_star(left, frames, receptive)

    sns.lineplot(data=runs, x="conv_layers", y="alignment", hue="side", palette="viridis", marker="o",
                 errorbar=("pi", 100), ax=right)
    unfitted = runs[runs.fitted < 0.5]
    if len(unfitted):
        right.scatter(unfitted.conv_layers, unfitted.alignment, marker="x", color="red", s=40, zorder=3,
                      label=f"did not fit (||Ax - x|| / ||x|| >= {params['fit_tol']:g}): {len(unfitted)}")
    right.axhline(alignment_threshold, color="black", linestyle=":", linewidth=1, label="memorization threshold")
    for side in sides:
        right.axvline(side - 1, color="grey", linestyle="--", linewidth=0.6)
    right.set_xlabel("convolutions L (dashed: receptive-field depth s - 1 of each side)")
    right.set_ylabel("|cos(top eigenvector of A, x)|")
    right.set_ylim(-0.02, 1.05)
    right.set_title("stride-1 nets: alignment of the top eigenvector with the image (band: range over seeds)",
                    fontsize=9)
    right.legend(fontsize=7, title="side s", title_fontsize=7, loc="center right")

    axes = bottom.subplots(len(sides), columns, squeeze=False)
    seed = int(runs.seed.min())
    for row, side in enumerate(sides):
        for axis in axes[row]:
            axis.axis("off")
        chosen = runs[(runs.side == side) & (runs.seed == seed)].sort_values("conv_layers")
        first = data.examples(chosen.run.iloc[0])
        axes[row, 0].axis("on")
        show_square(axes[row, 0], first["train"][0], f"training image (s = {side})")
        for column, record in enumerate(chosen.itertuples(), start=1):
            examples = data.examples(record.run)
            axes[row, column].axis("on")
            show_square(axes[row, column], examples["eigenvectors"][0],
                        f"L = {int(record.conv_layers)}: |cos| = {record.alignment:.2f}", signed=True)
    bottom.suptitle(f"top eigenvector of A for each stride-1 depth (seed {seed}; red > 0 > blue)", fontsize=9)
    figure.suptitle(
        "C6: linear 1-channel 3x3 conv autoencoders trained on one image: nets below the receptive-field depth do not "
        "memorize; does a deeper one within the sweep, with L*(s) growing in s? (with downsampling: C7)\n"
        f"Claim: fraction of seeds whose L*(s) is found for every s and grows {claim_line(data.row)}",
        fontsize=10,
    )
    return figure
