"""The pins in requirements*.txt, environment.yml and pyproject.toml agree."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)$")


def pins(lines):
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1).lower())] = match.group(2)
    return found


def test_environment_yml_matches_requirement_files():
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    required |= pins((REPO / "requirements-dev.txt").read_text().splitlines())
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert pins(pip_section) == required
    assert "python=3.11" in environment["dependencies"]


def test_constraints_agree_with_direct_pins():
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    constraints = pins((REPO / "constraints.txt").read_text().splitlines())
    for name, version in required.items():
        assert constraints.get(name) == version, name


def test_pyproject_extras_use_the_same_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    required |= pins((REPO / "requirements-dev.txt").read_text().splitlines())
    for extra in project["optional-dependencies"].values():
        for name, version in pins(extra).items():
            base = name.split("[")[0]
            if base in required or base == "tensorflow":
                expected = required.get(base, required["tensorflow-cpu"])
                assert version == expected, name


def test_every_direct_pin_is_in_constraints():
    """requirements-dev.txt and environment.yml pin the same versions as the full pin list."""
    constraints = pins((REPO / "constraints.txt").read_text().splitlines())
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    for source in (pins((REPO / "requirements-dev.txt").read_text().splitlines()), pins(pip_section)):
        for name, version in source.items():
            assert constraints.get(name) == version, name


def test_environment_yml_installs_nothing_by_relative_path():
    """A relative `-e .` only works when pip runs beside this file; the README says to run
    `pip install --no-deps -e .` in the repository instead."""
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert all(PIN.match(line) for line in pip_section), pip_section
