"""Run and model keys are complete: every setting that changes a trained model changes a key.

A key that leaves a setting out lets a changed config reuse an old run directory, so a failed
retrain deletes a good model and the old claims row stays. For every claim, every leaf setting
of its config section (config/test.yaml with the schema defaults filled in) is changed to
another valid value; the run keys or model keys of the claim must then change, unless the
setting is in MEASUREMENT_OR_SUMMARY below, with its reason.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import jsonschema
import pytest
import yaml

from memorization import registry
from memorization.config import fill_defaults, schema_validator
from memorization.errors import ConfigError
from memorization.layout import Layout

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SCHEMA = CONFIG_DIR / "schema" / "config.schema.yaml"

# Settings that do not enter any trained model. Path patterns: `[]` stands for any list index.
FC_MEASUREMENT = "measurement of a shared FC model: the model is kept, only the claim's run is measured again"
SUMMARY = "read by summarize only (claims row / table), never by train or measure"
MEASUREMENT_OR_SUMMARY = {
    **{f"{claim}.claim_threshold": SUMMARY for claim in registry.CLAIM_IDS},
    "c3.claim_nonlinearity": SUMMARY,
    "c4.claim_nonlinearity": SUMMARY,
    "c8.claim_net": SUMMARY,
    "c8.claim_n": SUMMARY,
    "c6.alignment_threshold": SUMMARY,
    "c7.alignment_threshold": SUMMARY,
    # Fit checks and second conditions of the verdicts (claims.py, "verdict rule").
    **{f"{claim}.fit_tol": SUMMARY for claim in ("c1", "c2", "c6", "c7", "c8")},
    "c4.distinct_threshold": SUMMARY,
    "c8.control_threshold": SUMMARY,
    "c10.radius_threshold": SUMMARY,
    **{f"c3.{name}": FC_MEASUREMENT for name in ("fixed_point_tol", "radius_margin")},
    **{f"c5.{name}": FC_MEASUREMENT for name in ("fixed_point_tol", "radius_margin")},
    **{
        f"c4.{name}": FC_MEASUREMENT
        for name in ("n_test_starts", "n_noise_starts", "n_noisy_train_starts", "noisy_train_sigma", "max_steps",
                     "tol", "eps", "gallery_starts")
    },
    **{f"c10.{name}": FC_MEASUREMENT for name in ("noise_levels[]", "copies", "max_steps", "tol", "eps", "return_level",
                                                   "fixed_point_tol", "radius_margin")},
    **{
        f"c9.{name}": "measurement of C9's models (sequence encoders and shared autoencoders): measured again, not retrained"
        for name in ("n_noise_starts", "n_test_starts", "n_noisy_frame_starts", "noisy_frame_sigma", "max_steps", "tol",
                     "eps", "cycle_tol", "radius_margin", "gallery_starts")
    },
    "c9.model.n_train": "overridden by each sequence's lengths",
    # A digits sequence is the images drawn from the seed: the movie's geometry is not read.
    "c9.sequences[0].step": "not read for a digits sequence (sequences[0] of test.yaml)",
    "c9.sequences[0].digit_side": "not read for a digits sequence (sequences[0] of test.yaml)",
    # The shared model block's value is replaced by the claim's own sweep, so it is never read.
    "c3.model.nonlinearity": "overridden by c3.nonlinearities",
    "c4.model.nonlinearity": "overridden by c4.nonlinearities",
    "c5.model.n_train": "overridden by c5.n_train",
    "c5.model.width": "overridden by c5.widths",
    "c5.model.depth": "overridden by c5.depths",
    "c10.model.width": "overridden by c10.widths",
    "c10.model.depth": "overridden by c10.depths",
}
# Settings that test.yaml leaves no other valid value for (each reason says why).
NO_OTHER_VALUE = {
    "c8.dataset": "the schema allows cifar10 only",
    "c4.claim_nonlinearity": "must be one of c4.nonlinearities, which lists selu only",
    "c8.claim_net": "must name one of c8.nets beside a control; test.yaml's other net is its only control",
    "c8.claim_n": "must be one of c8.n_train, which lists 2 only",
    "c7.sweeps[].stages[]": "a 4 x 4 image allows 1 or 2 stride-2 stages, and both are listed",
    **{f"{claim}.model.sequence": "null or an object that C9 fills in for its own models; no scalar replaces it"
       for claim in ("c3", "c4", "c5", "c9", "c10")},
    "c9.sequences[0].kind": "a movie needs lengths that trace a square path; sequences[0]'s length 3 does not",
}
# Changing a listed value also changes the setting that must name one of the list's values.
COMPANIONS = {"nonlinearities[]": "claim_nonlinearity", "nets[].name": "claim_net", "n_train[]": "claim_n"}


def base_config() -> dict:
    # Through JSON: the YAML anchor makes every FC claim share one model dict; a change to one
    # claim's block must not change the others.
    config = json.loads(json.dumps(yaml.safe_load((CONFIG_DIR / "test.yaml").read_text())))
    return fill_defaults(config, SCHEMA)


def leaves(node, path=()):
    """(path, value) of every scalar in ``node``; a path is a tuple of keys and list indices."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path, node


def dotted(path, generic=False) -> str:
    text = ""
    for part in path:
        text += ("[]" if generic else f"[{part}]") if isinstance(part, int) else (f".{part}" if text else part)
    return text


def get_at(config, path):
    node = config
    for part in path:
        node = node[part]
    return node


def set_at(config, path, value):
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def enum_alternatives(config, path, value) -> list:
    """Other values the schema allows for a string setting, read off its enum."""
    probe = copy.deepcopy(config)
    set_at(probe, path, "__not_a_value__")
    validator = schema_validator(SCHEMA)
    values = []
    for error in validator.iter_errors(probe):
        for sub in [error, *(error.context or [])]:
            if sub.validator == "enum":
                values += [option for option in sub.validator_value if option != value]
    return values


def candidates(config, path, value) -> list:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value * 2, value - 1]
    if isinstance(value, float):
        return [value * 0.5, value * 1.5, value + 0.25, value - 0.25, 0.5]
    if isinstance(value, str):
        return enum_alternatives(config, path, value) + ["other", 0.01]
    if value is None:
        return [1, 0.5, "x"]
    raise AssertionError(f"unexpected leaf {dotted(path)} = {value!r}")


def keys_of(config: dict) -> set:
    layout = Layout(config)
    return {(claim, run, model) for claim, runs in layout.run_models.items() for run, model in runs.items()}


def changed_config(config, path, value):
    """``config`` with one leaf changed, or None when the schema or the layout refuses the value."""
    changed = copy.deepcopy(config)
    old = get_at(config, path)
    set_at(changed, path, value)
    companion = COMPANIONS.get(dotted(path[1:], generic=True))
    if companion and changed[path[0]].get(companion) == old:
        changed[path[0]][companion] = value
    try:
        fill_defaults(changed, SCHEMA)
        keys_of(changed)
    except (ConfigError, jsonschema.ValidationError):
        return None
    return changed


def claim_leaves():
    config = base_config()
    for claim in registry.CLAIM_IDS:
        for path, value in leaves(config[claim], (claim,)):
            yield pytest.param(path, value, id=dotted(path))


def listed(allow_list: dict, path) -> str | None:
    """The reason ``path`` is allowed: listed by its own path, or for every list item (``[]``)."""
    return allow_list.get(dotted(path)) or allow_list.get(dotted(path, generic=True))


@pytest.mark.parametrize("path, value", list(claim_leaves()))
def test_every_setting_changes_a_key_or_is_measurement_only(path, value):
    config = base_config()
    claim = path[0]
    before = {entry for entry in keys_of(config) if entry[0] == claim}
    for candidate in candidates(config, path, value):
        if candidate == value:
            continue
        changed = changed_config(config, path, candidate)
        if changed is None:
            continue
        after = {entry for entry in keys_of(changed) if entry[0] == claim}
        allowed = listed(MEASUREMENT_OR_SUMMARY, path)
        if allowed:
            assert after == before, f"{dotted(path)} is listed as measurement/summary only but changes keys"
        else:
            assert after != before, f"changing {dotted(path)} from {value!r} to {candidate!r} keeps every key"
        return
    if listed(NO_OTHER_VALUE, path):
        return
    pytest.fail(f"no valid other value found for {dotted(path)} = {value!r} (tried {candidates(config, path, value)})")


@pytest.mark.parametrize("name, value", [("iterations", 1000), ("eps", 0.04), ("n_test_starts", 7), ("tol", 1e-4)])
def test_c8_measurement_settings_change_its_runs_but_not_its_models(name, value):
    # Measuring C8's nets again (more iterations, another eps) must not retrain them: at the
    # paper scale they are its most expensive models.
    config = base_config()
    changed = copy.deepcopy(config)
    changed["c8"][name] = value
    before = {entry for entry in keys_of(config) if entry[0] == "c8"}
    after = {entry for entry in keys_of(changed) if entry[0] == "c8"}
    assert {model for _, _, model in after} == {model for _, _, model in before}
    assert not {run for _, run, _ in after} & {run for _, run, _ in before}


def test_allow_list_names_only_existing_settings():
    config = base_config()
    known = {dotted(path, generic=generic) for claim in registry.CLAIM_IDS for path, _ in leaves(config[claim], (claim,))
             for generic in (False, True)}
    listed = set(MEASUREMENT_OR_SUMMARY) | set(NO_OTHER_VALUE)
    assert listed <= known, sorted(listed - known)


def test_the_global_seed_changes_every_key():
    config = base_config()
    changed = copy.deepcopy(config)
    # Beyond every claim's seed offsets (base seed + offset is the run's seed, so a shift by one
    # would meet the next offset's runs).
    changed["seed"] += 1000
    before, after = keys_of(config), keys_of(changed)
    assert not {run for _, run, _ in before} & {run for _, run, _ in after}


def shuffled(node, rng):
    if isinstance(node, dict):
        items = list(node.items())
        rng.shuffle(items)
        return {key: shuffled(value, rng) for key, value in items}
    if isinstance(node, list):
        return [shuffled(item, rng) for item in node]
    return node


def test_keys_are_deterministic_and_ignore_yaml_key_order():
    reference = keys_of(base_config())
    assert keys_of(base_config()) == reference
    for seed in range(3):
        text = yaml.safe_dump(shuffled(yaml.safe_load((CONFIG_DIR / "test.yaml").read_text()), random.Random(seed)),
                              sort_keys=False)
        assert keys_of(fill_defaults(yaml.safe_load(text), SCHEMA)) == reference


def test_keys_are_readable_and_survive_a_json_round_trip():
    # summarize recomputes a run's key from the settings stored in its metrics.json.
    layout = Layout(base_config())
    prefixes = {"c1": "linear-w0", "c2": "single-", "c3": "mlp-", "c4": "mlp-", "c5": "mlp-", "c10": "mlp-",
                "c6": "lin1-", "c7": "down-", "c8": "convnl-", "c9": "mlp-"}
    for claim in layout.claims:
        experiment = claim.experiment()
        for run, settings in layout.runs[claim.id].items():
            assert run.startswith(prefixes[claim.id]), run
            digest = run.rsplit("-", 1)[1]
            assert len(digest) == 8 and all(c in "0123456789abcdef" for c in digest), run
            if hasattr(experiment, "run_key"):
                assert experiment.run_key(json.loads(json.dumps(settings))) == run
            else:
                from memorization.experiments import fc

                assert fc.model_key(json.loads(json.dumps(settings["model"]))) == run
