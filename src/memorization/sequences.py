"""Cyclic sequences of real images for the sequence encoders of C9, deterministic from the seed.

A sequence spec is a dict with ``kind``:

* ``digits``: T images drawn from the seed exactly as `data.select_indices` draws the training
  images of the FC autoencoders (so an autoencoder with ``n_train = T`` and the same seed trains
  on the very same images), in that order;
* ``movie``: one image drawn from the seed, shrunk by area averaging to ``digit_side`` pixels and
  moved around the border of a square on a canvas of the image's size, ``step`` pixels per
  frame, so consecutive frames are similar and the last frame leads back to the first. T frames
  need a square of side T * step / 4 pixels, which must fit on the canvas.
"""

from __future__ import annotations

import numpy as np

from memorization import data
from memorization.errors import ConfigError

KINDS = ("digits", "movie")


def tag(spec: dict) -> str:
    """Short readable name of a sequence spec (used in model keys)."""
    if spec["kind"] == "digits":
        return "digits"
    if spec["kind"] == "movie":
        return f"movie{spec['digit_side']}s{spec['step']}"
    raise ConfigError(f"unknown sequence kind {spec['kind']!r}; choose one of {', '.join(KINDS)}")


def shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Area-average a square grey image (s, s) down to (side, side); s must be a multiple of side."""
    image = np.asarray(image, dtype=np.float64)
    size = image.shape[0]
    if image.ndim != 2 or image.shape[1] != size or size % side:
        raise ConfigError(f"cannot shrink an image of shape {image.shape} to {side} x {side}: need a square "
                          f"grey image whose side is a multiple of {side}")
    factor = size // side
    return image.reshape(side, factor, side, factor).mean(axis=(1, 3))


def square_path(frames: int, step: int) -> list[tuple[int, int]]:
    """(row, column) offsets of ``frames`` positions around the border of a square of side
    frames * step / 4, clockwise from the top-left corner, ``step`` pixels apart."""
    if frames < 4 or frames % 4:
        raise ConfigError(f"a movie around a square needs a multiple of 4 frames (at least 4), got {frames}")
    side = frames * step // 4
    per_edge = frames // 4
    path = [(0, step * k) for k in range(per_edge)]
    path += [(step * k, side) for k in range(per_edge)]
    path += [(side, side - step * k) for k in range(per_edge)]
    path += [(side - step * k, 0) for k in range(per_edge)]
    return path


def movie(image: np.ndarray, frames: int, step: int, digit_side: int) -> np.ndarray:
    """The frames (frames, canvas, canvas) of ``image`` shrunk to ``digit_side`` and moved around
    a square on a canvas the size of ``image`` (values as in ``image``)."""
    canvas = np.asarray(image).shape[0]
    digit = shrink(image, digit_side)
    path = square_path(frames, step)
    side = frames * step // 4
    margin = (canvas - digit_side - side) // 2
    if margin < 0:
        raise ConfigError(f"a {frames}-frame movie with step {step} needs a square of side {side} px; with a "
                          f"{digit_side}-px digit it does not fit on a {canvas}-px canvas")
    out = np.zeros((frames, canvas, canvas))
    for frame, (row, column) in enumerate(path):
        top, left = margin + row, margin + column
        out[frame, top : top + digit_side, left : left + digit_side] = digit
    return out


def sequence_frames(
    arrays: dict, spec: dict, length: int, seed: int, dtype: str = "float32"
) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``arrays`` of the images used, frames as rows in [0, 1]) of a sequence of
    ``length`` frames drawn from ``seed``; frame t is followed by frame t + 1 and the last by the first."""
    if spec["kind"] == "digits":
        positions = data.select_indices(arrays, length, seed)
        return positions, data.to_unit_interval_rows(arrays["x"][positions], dtype)
    if spec["kind"] == "movie":
        if arrays["x"].ndim != 3:
            raise ConfigError("movies are built from grey images (MNIST, Fashion-MNIST), not colour ones")
        positions = data.select_indices(arrays, 1, seed)
        frames = movie(arrays["x"][positions[0]] / 255.0, length, spec["step"], spec["digit_side"])
        return positions, frames.reshape(length, -1).astype(dtype)
    raise ConfigError(f"unknown sequence kind {spec['kind']!r}; choose one of {', '.join(KINDS)}")
