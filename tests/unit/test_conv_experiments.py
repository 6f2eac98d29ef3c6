"""Helpers of the convolutional claims: image resizing, run keys, L* rows (no training)."""

import numpy as np
import pandas as pd
import pytest

from memorization.errors import ConfigError
from memorization.experiments import c6, c7, c8, conv


def test_area_resize_matrix_is_an_exact_box_filter():
    matrix = conv.area_resize_matrix(28, 8)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    # Output pixel 0 covers input [0, 3.5): pixels 0, 1, 2 fully and half of pixel 3.
    np.testing.assert_allclose(matrix[0, :5], np.array([1, 1, 1, 0.5, 0]) / 3.5)
    np.testing.assert_allclose(conv.area_resize_matrix(4, 4), np.eye(4))
    np.testing.assert_allclose(conv.area_resize_matrix(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_allclose(conv.area_resize_matrix(4, 1), [[0.25, 0.25, 0.25, 0.25]])  # one pixel: the mean
    for side in (0, 29):
        with pytest.raises(ConfigError) as error:
            conv.area_resize_matrix(28, side)
        assert str(error.value) == f"image side must lie in 1..28, got {side}"


def test_grey_images_keep_the_mean_and_use_luma_for_colour():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    small = conv.grey_images(grey, 7)
    assert small.shape == (2, 7, 7, 1)
    np.testing.assert_allclose(small.mean(axis=(1, 2, 3)), grey.mean(axis=(1, 2)) / 255.0)
    colour = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    colour[..., 1] = 255
    np.testing.assert_allclose(conv.grey_images(colour, 8), 0.587)


def test_colour_images_resize_each_channel():
    images = np.full((1, 32, 32, 3), 51, dtype=np.uint8)
    assert c8.colour_images(images, 16).shape == (1, 16, 16, 3)
    np.testing.assert_allclose(c8.colour_images(images, 16), 0.2)


def linear_section(**extra):
    return {"dataset": "mnist", "image_seed": 0, "seeds": [0, 1], "initializer": "fan_in_uniform",
               "float_dtype": "float64", "optimizer": {"learning_rate": 0.01, "max_steps": 10},
               "alignment_threshold": 0.99, "fit_tol": 0.01, "claim_threshold": 0.5, **extra}


def test_expand_runs_gives_one_run_per_setting_with_readable_keys(complete_section):
    runs = c6.expand_runs(complete_section("c6", linear_section(sweeps=[{"side": 4, "depths": [1, 3]}, {"side": 6, "depths": [5]}])), 10)
    assert len(runs) == 6
    key = next(iter(runs))
    assert key.startswith("lin1-s4-L1-n1-fanin-s10-")
    assert {settings["seed"] for settings in runs.values()} == {10, 11}
    assert all(settings["image_seed"] == 0 for settings in runs.values())
    down = c7.expand_runs(complete_section("c7", linear_section(sweeps=[{"side": 8, "stages": [1, 3]}], channels=4, n_train=[1, 3])), 0)
    assert len(down) == 8
    assert any(key.startswith("down-s8-k3-c4-n3-fanin-s1-") for key in down)
    assert {conv.conv_depth(settings) for settings in down.values()} == {3, 7}


def test_l_star_rows_in_convolutions():
    runs = pd.DataFrame({
        "side": [4, 4, 4, 4], "n": [1] * 4, "seed": [0, 0, 1, 1], "conv_layers": [3, 5, 3, 5],
        "memorized": [False, True, False, True], "fitted": [True, True, True, False],
    })
    rows = c6.l_star_rows(runs, "stride1")
    l_star = rows[rows.statistic == "l_star"].set_index("seed")["value"]
    assert l_star[0] == 5
    assert np.isnan(l_star[1])  # seed 1's deep net memorized but did not fit: no L*
    assert set(rows.statistic) == {"l_star", "l_star_stable", "max_conv_layers_tested"}
    # Memorizing at depth 3, not at 4, again from 5: L* = 3, and the L* from which every deeper net
    # memorizes ("stable") is 5.
    gap = pd.DataFrame({"side": [6] * 3, "n": [1] * 3, "seed": [0] * 3, "conv_layers": [3, 4, 5],
                        "memorized": [True, False, True], "fitted": [True] * 3})
    values = c6.l_star_rows(gap, "stride1").set_index("statistic")["value"]
    assert (values["l_star"], values["l_star_stable"], values["max_conv_layers_tested"]) == (3, 5, 5)


def test_conv_depth_counts_every_convolution():
    assert conv.conv_depth({"architecture": "stride1", "depth": 5}) == 5
    assert conv.conv_depth({"architecture": "downsampling", "stages": 2}) == 5


def test_l_star_must_grow_strictly_and_every_shallower_net_must_fit():
    sweeps = pd.DataFrame({
        "side": [4, 6] * 4, "seed": [0, 0, 1, 1, 2, 2, 3, 3],
        "l_star": [3.0, 5.0, 4.0, 4.0, 3.0, np.nan, 3.0, 5.0],
        "below_fitted": [True, True, True, True, True, True, True, False],
    })
    # seed 0 grows; seed 1 stays at 4 (not strictly); seed 2 never reaches L*(6); seed 3 has an
    # unfitted net below L*(6), so a smaller L*(6) is not ruled out.
    assert c6.l_star_grows(sweeps).to_dict() == {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0}
    one_step = sweeps.assign(l_star=[3.0, 4.0] * 4, below_fitted=True)  # grows by exactly one layer
    assert set(c6.l_star_grows(one_step)) == {1.0}


def test_sweep_l_stars_takes_the_shallowest_fitted_memorizing_net():
    runs = pd.DataFrame({
        "side": [4] * 6, "seed": [0, 0, 0, 1, 1, 1], "conv_layers": [2, 3, 5, 2, 3, 5],
        "memorized": [False, True, True, False, False, True], "fitted": [True, False, True, False, True, True],
    })
    sweeps = c6.sweep_l_stars(runs).set_index("seed")
    # seed 0: depth 3 memorized but did not fit, so L* = 5; seed 1: L* = 5 with an unfitted net below.
    assert sweeps.l_star.to_dict() == {0: 5.0, 1: 5.0}
    assert sweeps.below_fitted.to_dict() == {0: False, 1: False}
    assert c6.sweep_l_stars(runs.assign(fitted=True)).set_index("seed").l_star.to_dict() == {0: 3.0, 1: 5.0}
