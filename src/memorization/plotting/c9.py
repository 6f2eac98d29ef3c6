"""Figure C9: a sequence recovered from noise, single-step vs cycle spectral radius, and what
sequence encoders and autoencoders of the same MLP store of the same frames."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from memorization.plotting import LOG_FLOOR, claim_line, show_image


def numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.replace({"True": 1, "False": 0, True: 1, False: 0}), errors="coerce")


def _shown_run(table: pd.DataFrame, runs: list[str]) -> str | None:
    """The sequence encoder whose recovery is drawn: a movie if there is one, longest T, lowest seed."""
    encoders = table[(table.role == "sequence_encoder") & table.run.isin(runs)].drop_duplicates("run").copy()
    if encoders.empty:
        return None
    encoders["movie"] = encoders.sequence.astype(str).str.startswith("movie")
    encoders = encoders.sort_values(["movie", "T", "seed"], ascending=[False, False, True])
    return encoders.run.iloc[0]


def _draw_strip(figure, spec, data, run) -> None:
    examples = data.examples(run)
    frames, steps = examples["frames"], examples["gallery_steps"]
    snapshots, tail = examples["noise_snapshots"][:, 0], examples["noise_tail_aligned"][:, 0]
    locked = bool(examples["noise_locked"][0])
    columns = max(len(frames), len(steps))
    grid = spec.subgridspec(3, columns, hspace=0.1, wspace=0.05)
    rows = [
        ("true frames x_t", [(frame, f"x_{t}") for t, frame in enumerate(frames)]),
        ("iterates f^k(z) of a noise start z", [(snap, f"k={k}") for k, snap in zip(steps, snapshots)]),
        (f"last {len(frames)} iterates, aligned ({'locked' if locked else 'NOT locked'})",
         [(image, "") for image in tail]),
    ]
    for row, (label, images) in enumerate(rows):
        for column in range(columns):
            axis = figure.add_subplot(grid[row, column])
            if column < len(images):
                show_image(axis, images[column][0], images[column][1] or None)
            else:
                axis.axis("off")
            if column == 0:
                axis.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")


def draw(data, params: dict):
    table, row = data.table.copy(), data.row
    table["number"] = numeric(table["value"])
    runs = table[table.role.isin(["sequence_encoder", "autoencoder"])]
    comparison = table[table.role == "comparison"]
    encoders = runs[runs.role == "sequence_encoder"]
    model = params["model"]

    figure = plt.figure(figsize=(16, 10), constrained_layout=True)
    outer = figure.add_gridspec(2, 1, height_ratios=[0.75, 1.0])
    shown = _shown_run(table, data.runs)
    if shown is not None:
        case = encoders[encoders.run == shown].iloc[0]
        _draw_strip(figure, outer[0], data, shown)
        strip_title = f"recovered from noise: {case.sequence}, T = {int(case['T'])}, seed {int(case.seed)}"
    else:
        strip_title = "no sequence encoder run"
    bottom = outer[1].subgridspec(1, 3, wspace=0.25)
    radius_axis, fraction_axis, advantage_axis = (figure.add_subplot(bottom[0, i]) for i in range(3))

    # Single-step rho at each frame against the rho of the cycle's Jacobian product.
    labels = []
    for position, ((sequence, length), group) in enumerate(encoders.groupby(["sequence", "T"], sort=True)):
        labels.append(f"{sequence}\nT={int(length)}")
        for offset, (run, per_run) in enumerate(group.groupby("run", sort=True)):
            x = position + 0.25 * (offset - (group.run.nunique() - 1) / 2) / max(group.run.nunique(), 1)
            if run in data.runs:
                single = data.examples(run)["single_spectral_radius"]
                radius_axis.scatter(np.full(len(single), x), np.clip(single, LOG_FLOOR, None), s=10, color="tab:blue",
                                    alpha=0.6, label="rho(J_f(x_t)), one step" if position == offset == 0 else None)
            cycle = per_run[per_run.statistic == "cycle_spectral_radius"].number
            if len(cycle):
                radius_axis.scatter([x], [max(float(cycle.iloc[0]), LOG_FLOOR)], marker="*", s=90, color="tab:red",
                                    label="rho(J_f(x_T)...J_f(x_1)), cycle" if position == offset == 0 else None)
    radius_axis.axhline(1.0, color="black", linestyle="--", linewidth=1)
    radius_axis.set_yscale("log")
    radius_axis.set_xticks(range(len(labels)))
    radius_axis.set_xticklabels(labels, fontsize=8)
    radius_axis.set_ylabel("spectral radius (< 1: attracting)", fontsize=9)
    radius_axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    radius_axis.set_title("single steps vs the whole cycle (one column of points per seed)", fontsize=9)

    # Noise starts locking onto the cycle vs the autoencoder's attractor fraction, against T.
    def pooled(name):
        selected = comparison[comparison.statistic.str.startswith(name + "_")].copy()
        selected["kind"] = selected.statistic.str[len(name) + 1:]
        return selected.pivot_table(index=["sequence", "T"], columns="kind", values="number").reset_index()

    styles = [("encoder_noise_locked", "seq. encoder: noise starts locking onto the cycle (each visits all T frames)",
               "-", "o"),
              ("autoencoder_attractors", "autoencoder: training images that are attractors", "--", "s"),
              ("autoencoder_noise_reaching", "autoencoder: noise starts reaching a training image", ":", "^"),
              ("autoencoder_noise_recalled", "autoencoder: training images some noise start reaches", "-.", "v")]
    colours = {sequence: f"C{i}" for i, sequence in enumerate(sorted(comparison.sequence.dropna().unique()))}
    for name, label, line, marker in styles:
        values = pooled(name)
        for sequence, group in values.groupby("sequence"):
            group = group.sort_values("T")
            error = np.vstack([group.fraction - group.ci_low, group.ci_high - group.fraction])
            fraction_axis.errorbar(group["T"], group.fraction, yerr=np.clip(error, 0, None), linestyle=line,
                                   marker=marker, color=colours[sequence], capsize=3, label=f"{label} ({sequence})")
    fraction_axis.set_ylim(-0.05, 1.05)
    fraction_axis.set_xlabel("T (frames in the cycle)")
    fraction_axis.set_ylabel("fraction, pooled over seeds (95% exact binomial)", fontsize=9)
    fraction_axis.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
    fraction_axis.set_title("same MLP, frames and budget", fontsize=9)

    # The claim's statistic: per-seed stored advantage, its mean and bootstrap interval.
    per_seed = comparison[comparison.statistic == "stored_advantage"]
    advantage_axis.scatter(per_seed.seed, per_seed.number, color="tab:green", zorder=3, label="per seed")
    summary = comparison.set_index("statistic").number
    if "stored_advantage_mean" in summary:
        mean, low, high = (summary.get(f"stored_advantage_{k}") for k in ("mean", "ci_low", "ci_high"))
        advantage_axis.axhline(mean, color="tab:green", label=f"mean {mean:.3f}")
        advantage_axis.axhspan(low, high, color="tab:green", alpha=0.2, label=f"95% bootstrap [{low:.3f}, {high:.3f}]")
    advantage_axis.axhline(float(row["threshold"]), color="black", linestyle="--", linewidth=1, label="threshold")
    advantage_axis.set_xlabel("seed")
    advantage_axis.set_xticks(sorted(per_seed.seed.dropna().astype(int).unique()))
    advantage_axis.set_ylabel("(stored by sequence enc. - by autoenc.) / images", fontsize=9)
    advantage_axis.legend(fontsize=7)
    advantage_axis.set_title("images stored: sequence encoding minus autoencoding", fontsize=9)

    figure.suptitle(
        f"C9: sequence encoders f(x_t) = x_(t+1 mod T) vs autoencoders, MLP 784 -> {model['width']} x "
        f"{model['depth']} -> 784 ({model['nonlinearity']}, {model['initializer']}), top: {strip_title}.\n"
        f"Claim: stored-image advantage (> threshold) {claim_line(row)}",
        fontsize=10,
    )
    return figure
