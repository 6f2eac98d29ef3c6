"""Sequences of real images for C9: deterministic from the seed, digits identical to the FC
autoencoders' draw, movies of one digit moving around a square."""

import numpy as np
import pytest

from memorization import sequences
from memorization.errors import ConfigError
from memorization.experiments import fc


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    count = 40
    return {
        "x": rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8),
        "y": rng.integers(0, 10, size=count, dtype=np.uint8),
        "split": np.array([0] * 30 + [1] * 10, dtype=np.uint8),
        "index": np.arange(count),
    }


def test_digits_are_the_autoencoders_training_images(arrays):
    positions, frames = sequences.sequence_frames(arrays, {"kind": "digits"}, 7, seed=3)
    expected_positions, expected = fc.training_images(arrays, 7, 3)
    np.testing.assert_array_equal(positions, expected_positions)
    np.testing.assert_array_equal(frames, expected)
    # And through the model settings, as the autoencoder of a movie would be built:
    settings = {"n_train": 7, "seed": 3, "sequence": {"kind": "digits"}}
    np.testing.assert_array_equal(fc.training_set(arrays, settings)[1], expected)
    again = sequences.sequence_frames(arrays, {"kind": "digits"}, 7, seed=3)[1]
    np.testing.assert_array_equal(again, frames)
    assert not np.array_equal(sequences.sequence_frames(arrays, {"kind": "digits"}, 7, seed=4)[1], frames)


def test_square_path_moves_step_pixels_per_frame_and_closes():
    for frames, step in ((4, 1), (8, 2), (16, 1), (40, 1)):
        path = np.array(sequences.square_path(frames, step))
        assert len({tuple(p) for p in path}) == frames
        moves = np.abs(np.diff(np.vstack([path, path[:1]]), axis=0)).sum(axis=1)
        assert (moves == step).all()
    with pytest.raises(ConfigError):
        sequences.square_path(6, 1)


def test_movie_frames_are_shifted_copies_of_the_shrunk_digit(arrays):
    spec = {"kind": "movie", "step": 2, "digit_side": 14}
    positions, frames = sequences.sequence_frames(arrays, spec, 8, seed=1, dtype="float64")
    assert positions.tolist() == fc.training_images(arrays, 1, 1)[0].tolist()
    images = frames.reshape(8, 28, 28)
    digit = sequences.shrink(arrays["x"][positions[0]] / 255.0, 14)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), digit.sum())
    path = sequences.square_path(8, 2)
    for t in range(8):
        (row, column), (next_row, next_column) = path[t], path[(t + 1) % 8]
        shifted = np.roll(images[t], (next_row - row, next_column - column), axis=(0, 1))
        np.testing.assert_allclose(shifted, images[(t + 1) % 8])
    # Consecutive frames are closer than frames half a cycle apart.
    def rms(a, b):
        return np.sqrt(np.mean((a - b) ** 2))

    assert rms(images[0], images[1]) < rms(images[0], images[4])
    np.testing.assert_array_equal(sequences.sequence_frames(arrays, spec, 8, seed=1, dtype="float64")[1], frames)


def test_bad_movies_are_named():
    image = np.zeros((28, 28))
    with pytest.raises(ConfigError, match="does not fit"):
        sequences.movie(image, frames=40, step=2, digit_side=14)
    with pytest.raises(ConfigError):
        sequences.shrink(image, 13)
    assert sequences.tag({"kind": "movie", "step": 2, "digit_side": 14}) == "movie14s2"
    assert sequences.tag({"kind": "digits"}) == "digits"
