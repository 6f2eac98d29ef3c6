"""C9's runs and verdict: each case pairs a sequence encoder with the shared FC autoencoder on the
same frames, and the claims row fails when the statistic is on the wrong side of the threshold or
when the nets did not fit."""

import pytest

from memorization.experiments import c9, fc

MODEL = {
    "dataset": "mnist", "n_train": 3, "width": 16, "depth": 2, "nonlinearity": "selu", "use_bias": False,
    "initializer": "fan_in_uniform", "float_dtype": "float32", "optimizer": "adam", "learning_rate": 1e-3,
    "loss_threshold": 1e-8, "max_steps": 50, "sequence": None,
}
SECTION = {
    "model": MODEL,
    "sequences": [{"kind": "digits", "lengths": [4]}, {"kind": "movie", "lengths": [8], "step": 2, "digit_side": 14}],
    "seeds": [0, 1, 2],
    "n_noise_starts": 10, "n_test_starts": 10, "n_noisy_frame_starts": 10, "noisy_frame_sigma": 0.2,
    "max_steps": 20, "tol": 1e-6, "eps": 0.05, "cycle_tol": 0.01, "radius_margin": 1e-3, "gallery_starts": 2,
    "claim_threshold": 0.0,
}


def test_runs_pair_a_sequence_encoder_with_the_shared_autoencoder():
    runs = c9.expand_runs(SECTION, seed=0)
    assert len(runs) == 2 * 2 * 3
    for key, settings in runs.items():
        assert settings["model_key"] == key  # the run key is the model key, as for every FC claim
        assert settings["model"]["n_train"] == settings["length"]
    encoders = {k: s for k, s in runs.items() if s["role"] == "sequence_encoder"}
    autoencoders = {k: s for k, s in runs.items() if s["role"] == "autoencoder"}
    assert all(k.startswith("mlp-seq-") and s["model"]["claim"] == "c9" for k, s in encoders.items())
    assert all(s["model"]["claim"] == "fc" for s in autoencoders.values())
    # The digits' autoencoder is exactly the model C3-C10 would train on n_train = T images.
    shared = fc.model_settings(MODEL, 1, n_train=4)
    assert fc.model_key(shared) in autoencoders and "sequence" not in shared
    # The movie's autoencoder names its frames, and so does the key.
    movie = [s for s in autoencoders.values() if s["sequence"]["kind"] == "movie"]
    assert all(s["model"]["sequence"] == {"kind": "movie", "step": 2, "digit_side": 14} for s in movie)
    assert all("-movie14s2-" in s["model_key"] for s in movie)


def test_a_model_block_without_sequence_keeps_its_settings_and_key():
    block = {key: value for key, value in MODEL.items() if key != "sequence"}
    assert fc.model_settings(block, 0) == fc.model_settings(MODEL, 0)
    assert "sequence" not in fc.model_settings(MODEL, 0)


def _records(encoder_stored=True, autoencoder_fraction=0.5, encoder_fitted=True, autoencoder_fitted=True):
    records = []
    for settings in c9.expand_runs(SECTION, seed=0).values():
        fitted = encoder_fitted if settings["role"] == "sequence_encoder" else autoencoder_fitted
        metrics = {
            "train_steps": 10, "train_final_loss": 1e-9 if fitted else 1e-2,
            "train_reached_threshold": fitted, "train_stopped_at_cap": not fitted,
            "noise_starts": 10,
        }
        if settings["role"] == "sequence_encoder":
            metrics.update({"attracting_cycle": encoder_stored, "stored_fraction": float(encoder_stored),
                            "cycle_spectral_radius": 0.3 if encoder_stored else 1.7, "max_cycle_error": 1e-6,
                            "noise_locked": 10 if encoder_stored else 0,
                            "noise_frames_recalled": settings["length"] if encoder_stored else 0})
        else:
            metrics.update({"attractor_fraction": autoencoder_fraction, "stored_fraction": autoencoder_fraction,
                            "noise_reaching": 10, "noise_frames_recalled": 1})
        records.append({"claim": "c9", "settings": settings, "metrics": metrics})
    return records


@pytest.fixture
def summarize_c9(tmp_path, summarize_records):
    def run(records, threshold=0.0):
        settings = {"section": {**SECTION, "claim_threshold": threshold}, "scale": "test"}
        return summarize_records(c9, settings, records, tmp_path)

    return run


def test_attracting_cycles_storing_more_reproduce(summarize_c9):
    row, table = summarize_c9(_records())
    assert row["value"] == pytest.approx(0.5) and row["verdict"] == "reproduced"
    assert "per seed [0.500, 0.500, 0.500]" in row["statistic"] and "bootstrap" in row["statistic"]
    per_seed = table[table.statistic == "stored_advantage"]
    assert len(per_seed) == 3
    expected = {"stored_advantage_ci_low", "encoder_noise_locked_ci_high", "autoencoder_attractors_fraction"}
    assert expected <= set(table.statistic)


@pytest.mark.parametrize("records, threshold", [
    (_records(autoencoder_fraction=1.0), 0.0),  # both store everything: not "more"
    (_records(encoder_stored=False, autoencoder_fraction=0.5), 0.0),  # cycles repel
    (_records(), 0.6),  # advantage 0.5 below a stricter threshold
])
def test_statistic_on_the_wrong_side_does_not_reproduce(summarize_c9, records, threshold):
    row, _ = summarize_c9(records, threshold)
    assert row["verdict"] == "not reproduced"


@pytest.mark.parametrize("which", ["encoder_fitted", "autoencoder_fitted"])
def test_runs_that_did_not_fit_count_against_the_claim(summarize_c9, which):
    row, table = summarize_c9(_records(**{which: False}))
    assert row["verdict"] == "not reproduced (runs did not fit)" and row["value"] == pytest.approx(-1.0)
    assert "unfitted cases: 6 of 6" in row["statistic"]
    # The table still reports what the autoencoders measured.
    measured = table[table.statistic == "autoencoder_attractors_fraction"].value.astype(float)
    assert (measured == 0.5).all()


def test_every_run_carries_the_measurement_settings_of_the_section():
    measurement = {name: SECTION[name] for name in ("n_noise_starts", "n_test_starts", "n_noisy_frame_starts",
                                                     "noisy_frame_sigma", "max_steps", "tol", "eps", "cycle_tol",
                                                     "radius_margin", "gallery_starts")}
    for key, settings in c9.expand_runs(SECTION, seed=5).items():
        model = settings["model"]
        assert {name: settings[name] for name in measurement} == measurement
        assert (settings["claim"], settings["dataset"], settings["float_dtype"]) == ("c9", "mnist", "float32")
        assert settings["seed"] == model["seed"] in (5, 6, 7)
        assert set(settings) == {"claim", "role", "dataset", "seed", "float_dtype", "model_key", "model", "sequence",
                                 "length", *measurement}


def test_a_movie_whose_length_does_not_fit_its_square_path_is_refused_before_any_run():
    from memorization.errors import ConfigError

    bad = {**SECTION, "sequences": [{"kind": "movie", "lengths": [7], "step": 2, "digit_side": 14}]}
    with pytest.raises(ConfigError):
        c9.expand_runs(bad, seed=0)


def test_a_case_missing_one_of_its_two_nets_is_left_out_and_the_others_kept(tmp_path):
    from memorization import claims

    records = _records()
    dropped = next(r for r in records if r["settings"]["role"] == "autoencoder" and r["settings"]["seed"] == 0
                   and r["settings"]["length"] == 4)
    records = [record for record in records if record is not dropped]
    case_table = c9.cases(claims.tidy_metrics(records, c9.run_columns))
    assert len(case_table) == 5
    assert (0 not in set(case_table[case_table["T"] == 4]["seed"])) and len(case_table[case_table["T"] == 8]) == 3
    # One case alone: its attracting-cycle fraction is 1 of 1, not 1 of 2.
    single = case_table.iloc[:1]
    rows = {row["statistic"]: row["value"] for row in c9.summary_rows(single, c9.advantage_by_seed(single))
            if row["run"] == "all"}
    assert rows["attracting_cycle_fraction"] == 1.0


def test_a_single_case_is_judged_like_many(tmp_path, summarize_records):
    section = {**SECTION, "sequences": [{"kind": "digits", "lengths": [4]}], "seeds": [0]}
    records = [record for record in _records() if record["settings"]["sequence"]["kind"] == "digits"
               and record["settings"]["seed"] == 0]
    assert len(records) == 2
    row, _ = summarize_records(c9, {"section": section, "scale": "test"}, records, tmp_path)
    assert row["verdict"] == "reproduced" and row["value"] == pytest.approx(0.5) and row["n_seeds"] == 1
