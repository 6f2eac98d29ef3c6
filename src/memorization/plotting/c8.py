"""Figure C8: what shallow and deep nonlinear conv autoencoders output, and how often it is a training image."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from memorization.plotting import claim_line, fit_note, seed_points


def show_rgb(axis, vector, side: int, title=None):
    image = np.clip(np.asarray(vector, dtype=np.float64).reshape(side, side, -1), 0.0, 1.0)
    axis.imshow(image if image.shape[-1] == 3 else image[..., 0], cmap=None if image.shape[-1] == 3 else "gray",
                vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.grid(False)
    if title:
        axis.set_title(title, fontsize=7)


FRACTIONS = {
    "one_pass_reaching": "f(z) near a\ntraining image",
    "fraction_reaching": "f^K(z) near a\ntraining image",
    "one_pass_near_input": "f(z) near\nthe input z",
}


def draw(data, params: dict):
    table = data.table
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    eps, iterations, claim_n = params["eps"], params["iterations"], params["claim_n"]
    runs = table.drop_duplicates("run")[["run", "net", "stages", "n", "seed"]].sort_values(["stages", "n", "seed"])
    nets = list(dict.fromkeys(runs.net))
    n_gallery = 2 if 2 in set(runs.n) else int(runs.n.min())

    fractions = []
    for kind in ("test", "noise"):
        for statistic, label in FRACTIONS.items():
            chosen = table[table.statistic == f"{kind}_{statistic}"]
            fractions += [{"net": f"{row.net} (D = {row.stages})", "n": int(row.n), "seed": int(row.seed),
                           "start": kind, "what": label, "fraction": row.value} for row in chosen.itertuples()]
    fractions = pd.DataFrame(fractions)

    figure = plt.figure(figsize=(15, 10), constrained_layout=True)
    gallery_part, chart_part = figure.subfigures(1, 2, width_ratios=[1.5, 1])
    gallery_rows = []
    for net in nets:
        run = runs[(runs.net == net) & (runs.n == n_gallery)].iloc[0]
        gallery_rows.append((net, int(run.stages), data.examples(run.run)))
    first = gallery_rows[0][2]
    side = int(round((first["train"].shape[1] / 3) ** 0.5))
    starts_per_kind = first["test_snapshots"].shape[1]
    columns = 2 * starts_per_kind
    row_labels = ["input z"]
    for net, stages, _ in gallery_rows:
        row_labels += [f"{net} (D = {stages}): f(z)", f"{net}: f^{iterations}(z)", f"{net}: nearest training image"]
    axes = gallery_part.subplots(len(row_labels), columns, squeeze=False)
    for column in range(columns):
        kind = "test" if column < starts_per_kind else "noise"
        index = column % starts_per_kind
        show_rgb(axes[0, column], first[f"{kind}_snapshots"][0, index], side, "test image" if kind == "test" else "noise")
        for block, (_, _, examples) in enumerate(gallery_rows):
            snapshots = examples[f"{kind}_snapshots"]
            show_rgb(axes[1 + 3 * block, column], snapshots[1, index], side)
            show_rgb(axes[2 + 3 * block, column], snapshots[-1, index], side)
            nearest = int(examples[f"{kind}_nearest"][index])
            if nearest >= 0:
                show_rgb(axes[3 + 3 * block, column], examples["train"][nearest], side)
            else:
                axes[3 + 3 * block, column].axis("off")
                axes[3 + 3 * block, column].text(0.5, 0.5, "none\nwithin eps", ha="center", va="center", fontsize=7,
                                                 transform=axes[3 + 3 * block, column].transAxes)
    for row, label in enumerate(row_labels):
        axes[row, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    gallery_part.suptitle(f"n = {n_gallery} training images; bottom row of each net: the training image its "
                          f"{iterations}th iterate is within eps = {eps} (RMS) of", fontsize=9)

    train_axes = chart_part.subplots(3, 1, height_ratios=[0.6, 3, 3])
    train_axes[0].axis("off")
    for index, image in enumerate(first["train"][:8]):
        inset = train_axes[0].inset_axes([index / 8, 0, 1 / 8 - 0.01, 1])
        show_rgb(inset, image, side)
    train_axes[0].set_title(f"training images (n = {n_gallery})", fontsize=8)
    judged = fractions[fractions.n == claim_n]
    for axis, kind in zip(train_axes[1:], ("test", "noise")):
        chosen = judged[judged.start == kind]
        # One point per seed; the bar is the mean over seeds.
        seed_points(axis, chosen, "what", "fraction", hue="net", order=list(FRACTIONS.values()))
        axis.set_ylim(-0.03, 1.1)
        axis.set_xlabel("")
        axis.set_ylabel(f"fraction of {kind} starts, n = {claim_n}\n(points: seeds, bars: mean)")
        axis.tick_params(axis="x", labelsize=7)
        axis.legend(fontsize=7)
        axis.set_title(f"{kind} starts (K = {iterations}, eps = {eps}), n = {claim_n} (the judged n), "
                       f"{chosen.seed.nunique()} seeds", fontsize=9)
    note = fit_note(table[(table.statistic == "fitted") & (table.n == claim_n)]["value"])
    figure.suptitle("C8: nonlinear conv autoencoders on CIFAR-10 (leaky ReLU, stride-2 encoder, upsampling decoder). "
                    f"Do deep nets send test images and noise to individual training images, and shallow ones not? {note}\n"
                    f"Claim: fraction of the deep net's starts reaching one training image at n = {claim_n} "
                    f"{claim_line(data.row)}", fontsize=10)
    return figure
