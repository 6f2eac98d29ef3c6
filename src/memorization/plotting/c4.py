"""Figure C4: iterates z, f(z), f^2(z), ... from test images and noise, and where the iterates end."""

from __future__ import annotations


import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from memorization.plotting import claim_line, fit_note, seed_points, show_image

KINDS = {"test": "test image", "noise": "uniform noise", "noisy_train": "noisy training image"}
GALLERY_KINDS = ("test", "noise")
ROWS_PER_KIND = 2


def draw(data, params: dict):
    table, row = data.table, data.row
    table["value"] = pd.to_numeric(table["value"].replace({"True": 1.0, "False": 0.0}), errors="coerce")
    runs = table.drop_duplicates("run").sort_values("seed")
    featured = runs[runs.nonlinearity != "linear"].iloc[0] if (runs.nonlinearity != "linear").any() else runs.iloc[0]
    examples = data.examples(featured.run)
    steps = examples["gallery_steps"]
    train = examples["train"]

    gallery_rows = []
    for kind in GALLERY_KINDS:
        snapshots = examples[f"{kind}_snapshots"]
        for start in range(min(ROWS_PER_KIND, snapshots.shape[1])):
            gallery_rows.append((kind, snapshots[:, start], int(examples[f"{kind}_nearest"][start]), int(examples[f"{kind}_steps"][start])))
    columns = len(steps) + 1

    figure = plt.figure(figsize=(max(12, 1.05 * columns), 2.0 + 1.15 * len(gallery_rows) + 4.2), constrained_layout=True)
    top, bottom = figure.subfigures(2, 1, height_ratios=[1.15 * len(gallery_rows), 4.2])
    axes = top.subplots(len(gallery_rows), columns, squeeze=False)
    for row_index, (kind, trajectory, nearest, stopped) in enumerate(gallery_rows):
        for column, step in enumerate(steps):
            axis = axes[row_index, column]
            show_image(axis, trajectory[column])
            if row_index == 0:
                axis.set_title("z" if step == 0 else f"f^{step}(z)", fontsize=8)
        axes[row_index, 0].set_ylabel(f"{KINDS[kind]}\n(stopped at {stopped})", fontsize=7, rotation=0, ha="right", va="center")
        side = axes[row_index, -1]
        if nearest >= 0:
            show_image(side, train[nearest], "training image reached" if row_index == 0 else None)
        else:
            side.axis("off")
            side.text(0.5, 0.5, "no training\nimage reached", ha="center", va="center", fontsize=7, transform=side.transAxes)
    top.suptitle(
        f"C4: iterating f ({featured.net} MLP, width {int(featured.width)}, depth {int(featured.depth)}, "
        f"n = {int(featured.n)}, seed {int(featured.seed)}): do the iterates settle on a training image?",
        fontsize=10,
    )

    panels = bottom.subplots(1, 3, gridspec_kw={"width_ratios": [1.4, 1, 0.8]})
    nets = list(dict.fromkeys(runs.net))
    labels = {}
    for net in nets:
        note = fit_note(table[(table.net == net) & (table.statistic == "fitted")]["value"])
        labels[net] = f"{net} {note}".strip()
    records = []
    for kind, label in KINDS.items():
        for statistic, how in ((f"{kind}_fraction_reaching", "iterated"), (f"{kind}_one_step_fraction_reaching", "one pass f(z)")):
            for item in table[table.statistic == statistic].itertuples():
                records.append({"start": label, "net": labels[item.net], "how": how, "seed": item.seed,
                                "fraction": item.value})
    frame = pd.DataFrame(records)
    iterated = frame[frame.how == "iterated"]
    # One point per seed; the bar is the mean over seeds.
    seed_points(panels[0], iterated, "start", "fraction", hue="net")
    panels[0].axhline(row["threshold"], color="black", linestyle=":", label="claim threshold")
    panels[0].set_ylim(-0.03, 1.05)
    panels[0].set_ylabel("fraction of starts ending within eps\nof a training image (points: seeds)")
    panels[0].set_xlabel("")
    panels[0].legend(fontsize=7)
    one_pass = frame[frame.net == labels[featured.net]]
    seed_points(panels[1], one_pass, "start", "fraction", hue="how")
    panels[1].set_ylim(-0.03, 1.05)
    panels[1].tick_params(axis="x", labelsize=7)
    panels[1].set_ylabel(f"fraction reaching ({featured.net} net, points: seeds)")
    panels[1].set_xlabel("")
    panels[1].legend(fontsize=7)
    distinct = table[(table.net == featured.net) & (table.statistic == "test_and_noise_distinct_reached")]
    sns.stripplot(data=distinct, x="net", y="value", jitter=0.1, size=6, ax=panels[2])
    panels[2].axhline(params["distinct_threshold"], color="black", linestyle=":")
    panels[2].set_ylim(0, int(featured.n) + 0.5)
    panels[2].set_xlabel("")
    panels[2].set_ylabel("distinct training images reached from test and\nnoise starts, per seed (dotted: needed)")
    spurious = table[(table.net == featured.net) & table.statistic.str.endswith("_spurious_starts")]
    spurious_totals = spurious.groupby("statistic")["value"].sum()
    bottom.suptitle(
        "Spurious fixed points (all seeds): "
        + ", ".join(f"{s.split('_spurious')[0]} {int(v)}" for s, v in spurious_totals.items())
        + f".\nClaim: fraction of test and noise starts reaching a training image {claim_line(row)}",
        fontsize=9,
    )
    return figure
