"""Config validation: a bad value names its key in one line."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from memorization.cli import main
from memorization.config import describe_validation_error, schema_validator

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "config" / "schema"


def validator():
    return schema_validator(SCHEMA_DIR / "config.schema.yaml")


def load(name):
    return yaml.safe_load((SCHEMA_DIR.parent / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "quick.yaml", "test.yaml"])
def test_shipped_configs_are_valid(name):
    validator().validate(load(name))


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c.update(bogus=1), "unknown key under <top level>"),
        (lambda c: c["c1"].update(n_trian=[1]), "unknown key under c1"),
        (lambda c: c["c1"].update(n_train="ten"), "key c1.n_train"),
        (lambda c: c["c1"]["n_train"].__setitem__(0, 0), "key c1.n_train[0]: 0 is less than the minimum of 1"),
        (lambda c: c.update(backend="theano"), "key backend"),
        (lambda c: c["c1"]["gd"].update(learning_rate=-1), "key c1.gd.learning_rate"),
    ],
)
def test_invalid_values_are_named_in_one_line(change, expected):
    config = load("test.yaml")
    change(config)
    with pytest.raises(jsonschema.ValidationError) as caught:
        validator().validate(config)
    message = describe_validation_error(caught.value)
    assert expected in message
    assert "\n" not in message


def test_check_config_command(tmp_path, capsys):
    config = load("test.yaml")
    config["c1"]["seeds"] = [-1]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    schema = SCHEMA_DIR / "config.schema.yaml"
    assert main(["check-config", str(SCHEMA_DIR.parent / "test.yaml"), "--schema", str(schema)]) == 0
    assert main(["check-config", str(bad), "--schema", str(schema)]) == 1
    assert "key c1.seeds[0]: -1 is less than the minimum of 0" in capsys.readouterr().err


def key_tree(node, prefix=""):
    keys = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(prefix + key)
            keys |= key_tree(value, f"{prefix}{key}.")
    return keys


@pytest.mark.parametrize("name", ["quick.yaml", "test.yaml"])
def test_scales_set_every_key_of_the_default_config(name):
    # `--configfile X` is merged into config/config.yaml (the Snakefile's configfile), so a key
    # that only the paper config sets would leak its paper value into the other scales.
    missing = key_tree(load("config.yaml")) - key_tree(load(name))
    assert not missing, f"{name} lacks {sorted(missing)}"
