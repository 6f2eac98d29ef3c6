"""Figures drawn from saved tables and example arrays only: never from a model."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

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


def save(figure, png: str | os.PathLike, pdf: str | os.PathLike) -> None:
    """Write PNG and PDF through temporary names so no half-written figure is left behind."""
    for path in (png, pdf):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
        figure.savefig(temporary, dpi=150, bbox_inches="tight")
        os.replace(temporary, path)
    plt.close(figure)
