import pandas as pd
import pytest

from memorization.errors import ConfigError
from memorization.experiments import c3, c4, c5, c10, fc

MODEL = {
    "dataset": "mnist", "n_train": 4, "width": 16, "depth": 2, "nonlinearity": "selu", "use_bias": False,
    "initializer": "fan_in_uniform", "float_dtype": "float32", "optimizer": "adam", "learning_rate": 1e-3,
    "loss_threshold": 1e-8, "max_steps": 50,
}


def test_claims_with_the_same_model_block_share_one_model(complete_section):
    runs3 = c3.expand_runs(complete_section("c3", {"model": MODEL, "nonlinearities": ["selu", "linear"], "seeds": [0],
                            "claim_nonlinearity": "selu", "claim_threshold": 0.5}), seed=0)
    runs5 = c5.expand_runs(complete_section("c5", {"model": MODEL, "widths": [8, 16], "depths": [2], "n_train": [4], "seeds": [0],
                            "claim_threshold": 0.75}), seed=0)
    runs10 = c10.expand_runs(complete_section("c10", {"model": MODEL, "widths": [16], "depths": [2], "seeds": [0], "noise_levels": [0.1],
                              "radius_threshold": 0.1, "claim_threshold": 0.75}), seed=0)
    selu = next(key for key, settings in runs3.items() if settings["model"]["nonlinearity"] == "selu")
    assert selu in runs5 and selu in runs10
    assert runs3[selu]["model"] == runs5[selu]["model"] == runs10[selu]["model"]
    assert len({settings["model_key"] for settings in {**runs3, **runs5, **runs10}.values()}) == 3


def test_model_key_is_readable_and_changes_with_the_schedule():
    model = fc.model_settings(MODEL, seed=3)
    key = fc.model_key(model)
    assert key.startswith("mlp-selu-w16-d2-n4-fanin-s3-")
    assert fc.model_key({**model, "learning_rate": 1e-4}) != key
    assert fc.model_key({**model, "use_bias": True}).startswith("mlp-selu-w16-d2-n4-fanin-bias-s3-")


def test_claim_nonlinearity_must_be_among_the_nets(complete_section):
    with pytest.raises(ConfigError):
        c4.expand_runs(complete_section("c4", {"model": MODEL, "nonlinearities": ["linear"], "seeds": [0],
                        "claim_nonlinearity": "selu", "distinct_threshold": 2, "claim_threshold": 0.5}), seed=0)


def test_size_concordance_counts_bigger_nets_with_smaller_rho():
    models = pd.DataFrame(
        [
            {"width": 8, "depth": 1, "n": 4, "seed": 0, "median_spectral_radius": 1.3},
            {"width": 16, "depth": 1, "n": 4, "seed": 0, "median_spectral_radius": 1.1},
            {"width": 8, "depth": 2, "n": 4, "seed": 0, "median_spectral_radius": 1.2},
            {"width": 16, "depth": 2, "n": 4, "seed": 0, "median_spectral_radius": 1.25},
            {"width": 16, "depth": 2, "n": 9, "seed": 0, "median_spectral_radius": 0.1},  # other n: not compared
        ]
    )
    # Comparable pairs: (8,1)<(16,1) yes, (8,1)<(8,2) yes, (8,1)<(16,2) yes, (16,1)<(16,2) no, (8,2)<(16,2) no.
    fraction, pairs = c5.size_concordance(models)
    assert pairs == 5
    assert fraction == pytest.approx(3 / 5)


def test_gallery_steps_double_up_to_the_cap():
    assert c4.gallery_steps(20) == [0, 1, 2, 4, 8, 16, 20]
    assert c4.gallery_steps(1) == [0, 1]
