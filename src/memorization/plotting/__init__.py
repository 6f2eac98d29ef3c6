"""Figures drawn from saved tables and example arrays only: never from a model."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from memorization.files import atomic_output  # noqa: E402

LOG_FLOOR = 1e-18  # exact zeros are drawn at this value on log axes


def use_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)


def as_image(vector: np.ndarray) -> np.ndarray:
    """A flattened MNIST (784) or CIFAR-10 (3072) vector back to an image, clipped to [0, 1]."""
    size = vector.size
    if size == 3072:
        image = vector.reshape(32, 32, 3)
    else:
        side = int(round(size**0.5))
        image = vector.reshape(side, side)
    return np.clip(image, 0.0, 1.0)


def show_image(axis, vector: np.ndarray, title: str | None = None) -> None:
    image = as_image(np.asarray(vector, dtype=np.float64))
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.grid(False)
    if title:
        axis.set_title(title, fontsize=8)


def claim_line(row: dict) -> str:
    """The claims row as one line: value, 95% interval over seeds, threshold and verdict."""
    interval = ""
    if "ci_low" in row and np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
        interval = f" [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"
    seeds = f", {int(row['n_seeds'])} seed{'s' if int(row['n_seeds']) != 1 else ''}" if "n_seeds" in row else ""
    return f"{row['value']:.3g}{interval} (95% interval{seeds}; threshold {row['threshold']:.3g}): {row['verdict']}"


def fit_note(fitted) -> str:
    """'' when every run fitted, else '(not interpolated: k of m runs)' for a label."""
    fitted = np.asarray(fitted, dtype=float)
    missing = int(np.sum(fitted < 0.5))
    return "" if missing == 0 else f"(not interpolated: {missing} of {fitted.size} runs)"


def seed_points(axis, data, x: str, y: str, hue: str | None = None, order=None, hue_order=None) -> None:
    """One point per seed (a strip per x and hue) and the mean over seeds as a black bar on each."""
    levels = data[hue].nunique() if hue else 1
    dodge = levels > 1
    sns.stripplot(data=data, x=x, y=y, hue=hue, order=order, hue_order=hue_order, dodge=dodge, jitter=0.1, size=5,
                  legend=bool(hue), ax=axis)
    # Strips of `levels` hue levels are centred 0.8 / levels apart, spanning 0.8 - 0.8 / levels.
    means = {"palette": ["black"] * levels} if hue else {"color": "black"}
    sns.pointplot(data=data, x=x, y=y, hue=hue, order=order, hue_order=hue_order,
                  dodge=(0.8 - 0.8 / levels) if dodge else False, errorbar=None, markers="_", markersize=14,
                  linestyles="none", legend=False, ax=axis, **means)


def log_lines_against_n(axis, selected, n_values, ylabel: str, hue: str = "method") -> None:
    """Statistic against the number of training images n, both axes logarithmic, one line per ``hue``
    (the mean over seeds) with every seed's value as a point.

    Exact zeros (rounding-level results) are drawn at `LOG_FLOOR` instead of vanishing.
    """
    from matplotlib.ticker import NullLocator, ScalarFormatter

    selected = selected.assign(value=selected["value"].astype(float).clip(lower=LOG_FLOOR))
    sns.lineplot(data=selected, x="n", y="value", hue=hue, style=hue, markers=True, dashes=False, errorbar=None,
                 ax=axis)
    sns.scatterplot(data=selected, x="n", y="value", hue=hue, alpha=0.4, s=14, legend=False, ax=axis)
    axis.set_yscale("log")
    axis.set_xscale("log")
    axis.set_xticks(sorted(n_values))
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlabel("n (training images)")
    axis.set_ylabel(ylabel, fontsize=8)


def save(figure, png: str | os.PathLike, pdf: str | os.PathLike) -> None:
    """Write PNG and PDF through temporary names so no half-written figure is left behind."""
    for path in (png, pdf):
        with atomic_output(path) as temporary:
            figure.savefig(temporary, dpi=150, bbox_inches="tight")
    plt.close(figure)


class FigureData:
    """What a claim's figure may read, each file loaded once: the claim's tidy table, its claims
    row, the example arrays of each run, and the tables of other claims it draws on."""

    def __init__(self, table: str, row: str, examples: list[str], tables: list[str] = ()):
        import pandas as pd

        self.table = pd.read_csv(table)
        self.row = pd.read_csv(row).iloc[0].to_dict()
        self._example_paths = {Path(path).parent.name: Path(path) for path in examples}
        self._examples: dict[str, dict] = {}
        self.tables = {Path(path).stem: pd.read_csv(path) for path in tables}

    @property
    def runs(self) -> list[str]:
        """Runs with saved examples, in the workflow's order."""
        return list(self._example_paths)

    def examples(self, run: str) -> dict[str, np.ndarray]:
        if run not in self._examples:
            with np.load(self._example_paths[run]) as arrays:
                self._examples[run] = {name: arrays[name] for name in arrays.files}
        return self._examples[run]


def render(claim_id: str, inputs: dict, outputs: dict, params: dict) -> None:
    """Draw a claim's figure with ``memorization.plotting.<claim>.draw(data, params)`` and save it."""
    import importlib

    draw = importlib.import_module(f"memorization.plotting.{claim_id}").draw
    data = FigureData(inputs["table"], inputs["row"], list(inputs["examples"]), list(inputs.get("tables", [])))
    use_style()
    save(draw(data, params), outputs["png"], outputs["pdf"])
