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


# --- what each claim's runs carry (the measure steps read these settings) ------------------------

SHARED = {"model": MODEL, "seeds": [0, 1]}
# Values unlike any default, written out here rather than read from the modules' key lists, so that
# a setting the section does not reach its runs with fails.
MEASUREMENTS = {
    "c3": {"fixed_point_tol": 0.0125, "radius_margin": 0.0025},
    "c4": {"n_test_starts": 7, "n_noise_starts": 9, "n_noisy_train_starts": 11, "noisy_train_sigma": 0.15,
           "max_steps": 33, "tol": 2e-6, "eps": 0.045, "gallery_starts": 2},
    "c5": {"fixed_point_tol": 0.0125, "radius_margin": 0.0025},
    "c10": {"noise_levels": [0.2, 0.3], "copies": 7, "max_steps": 33, "tol": 2e-6, "eps": 0.045,
            "return_level": 0.85, "fixed_point_tol": 0.0125, "radius_margin": 0.0025},
}
SWEEPS = {
    "c3": {"nonlinearities": ["selu", "linear"], "claim_nonlinearity": "selu", "claim_threshold": 0.5},
    "c4": {"nonlinearities": ["selu", "linear"], "claim_nonlinearity": "selu", "distinct_threshold": 2,
           "claim_threshold": 0.5},
    "c5": {"widths": [8], "depths": [2, 3], "n_train": [6], "claim_threshold": 0.75},  # MODEL has n_train 4
    "c10": {"widths": [8], "depths": [2, 3], "radius_threshold": 0.1, "claim_threshold": 0.75},
}


@pytest.mark.parametrize("claim", sorted(MEASUREMENTS))
def test_each_run_carries_its_claim_model_and_every_measurement_setting(claim, complete_section):
    module = {"c3": c3, "c4": c4, "c5": c5, "c10": c10}[claim]
    section = complete_section(claim, {**SHARED, **SWEEPS[claim], **MEASUREMENTS[claim]})
    runs = module.expand_runs(section, seed=10)
    assert len(runs) == 4
    for key, settings in runs.items():
        model = settings["model"]
        assert {name: settings[name] for name in MEASUREMENTS[claim]} == MEASUREMENTS[claim]
        assert set(settings) == {"claim", "dataset", "seed", "float_dtype", "model_key", "model", *MEASUREMENTS[claim]}
        assert (settings["claim"], settings["dataset"], settings["float_dtype"]) == (claim, "mnist", "float32")
        assert settings["seed"] == model["seed"] and model["seed"] in (10, 11)
        assert key == settings["model_key"] and key.startswith(f"mlp-{model['nonlinearity']}-w{model['width']}-")
        assert model["n_train"] == (6 if claim == "c5" else 4)


def test_model_settings_keep_a_sequence_and_a_schedule_only_when_set():
    plain = fc.model_settings(MODEL, 2, width=8)
    assert plain == {**MODEL, "width": 8, "seed": 2, "claim": "fc"}
    movie = {"kind": "movie", "step": 2, "digit_side": 14}
    assert fc.model_settings({**MODEL, "sequence": movie}, 2)["sequence"] == movie
    assert "sequence" not in fc.model_settings({**MODEL, "sequence": movie}, 2, sequence=None)
    cosine = {**MODEL, "schedule": "cosine", "final_fraction": 1e-3}
    assert {"schedule": "cosine", "final_fraction": 1e-3}.items() <= fc.model_settings(cosine, 0).items()
    constant = fc.model_settings({**MODEL, "schedule": "constant", "final_fraction": 1e-3}, 0)
    assert "schedule" not in constant and "final_fraction" not in constant
    assert fc.model_key(fc.model_settings(MODEL, 0, dataset="fashion_mnist")).startswith("mlp-fashion_mnist-selu-")


def test_net_variants_take_biases_from_the_entry_or_else_the_model_block():
    section = {"model": {**MODEL, "use_bias": True},
               "nonlinearities": ["selu", {"nonlinearity": "leaky_relu", "use_bias": False}, {"nonlinearity": "linear"}]}
    assert fc.net_variants(section) == [{"nonlinearity": "selu", "use_bias": True},
                                        {"nonlinearity": "leaky_relu", "use_bias": False},
                                        {"nonlinearity": "linear", "use_bias": True}]
    assert [fc.net_label(variant) for variant in fc.net_variants(section)] == ["selu+bias", "leaky_relu", "linear+bias"]


@pytest.mark.parametrize("nonlinearity, use_bias, reason", [
    ("linear", False, "linear: J_f is one matrix"),
    ("linear", True, "linear: J_f is one matrix"),
    ("leaky_relu", False, "bias-free leaky ReLU: positively homogeneous"),
    ("leaky_relu", True, ""),
    ("selu", False, ""),
])
def test_nets_without_attractors_by_construction_are_named_with_the_reason(nonlinearity, use_bias, reason):
    text = fc.no_attractors_by_construction({"nonlinearity": nonlinearity, "use_bias": use_bias})
    assert text.startswith(reason) and bool(text) == bool(reason)
    columns = fc.model_columns({"model_key": "k", "model": {**MODEL, "nonlinearity": nonlinearity, "use_bias": use_bias,
                                                            "seed": 1}})
    assert columns["by_construction"] == text and columns["use_bias"] is use_bias


def test_a_claim_net_missing_from_the_nets_is_named_in_the_error(complete_section):
    section = complete_section("c3", {**SHARED, "nonlinearities": ["linear", "leaky_relu"],
                                      "claim_nonlinearity": "selu", "claim_threshold": 0.5})
    with pytest.raises(ConfigError) as error:
        c3.expand_runs(section, seed=0)
    assert str(error.value) == ("c3.claim_nonlinearity 'selu' (biases as in c3.model) must be one of "
                                "c3.nonlinearities ['linear', 'leaky_relu']")
