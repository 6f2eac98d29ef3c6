"""Shared test setup: the backend is fixed before anything imports Keras."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def data_mirror() -> str | None:
    """The local mirror if MEMORIZATION_DATA_MIRROR names one; else the Keras loaders download."""
    return os.environ.get("MEMORIZATION_DATA_MIRROR") or None


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def mnist_arrays():
    from memorization import data

    arrays, _ = data.load_source("mnist", data_mirror())
    return arrays


@pytest.fixture(scope="session")
def keras_float64():
    """Keras configured once per session for exact-arithmetic tests (float64, one thread)."""
    from memorization.runtime import configure

    keras = configure(backend=os.environ["KERAS_BACKEND"], threads=1, seed=0, float_dtype="float64")
    yield keras
    keras.config.set_floatx("float32")


@pytest.fixture(scope="session")
def complete_section():
    """A claim's config section as the workflow hands it to the library: validated against the
    claim's schema, with every default filled in."""
    import copy

    from memorization.config import fill_defaults

    def complete(claim: str, section: dict) -> dict:
        # fill_defaults fills in place, nested blocks too: a deep copy keeps the tests' constants as written.
        return fill_defaults(copy.deepcopy(section), REPO / "config" / "schema" / f"{claim}.schema.yaml")

    return complete


@pytest.fixture(scope="session")
def summarize_records():
    """Runs a claim's ``summarize`` on metrics records, each written to its own file in
    ``directory`` as a measure job would, and returns its claims row and tidy table."""
    import json

    import pandas as pd

    def run(module, settings: dict, records: list[dict], directory: Path):
        paths = []
        for index, record in enumerate(records):
            path = directory / f"{index}.json"
            path.write_text(json.dumps(record))
            paths.append(str(path))
        outputs = {"table": directory / "table.csv", "row": directory / "row.csv"}
        module.summarize(settings, {"metrics": paths}, outputs, log=lambda _: None)
        return pd.read_csv(outputs["row"]).iloc[0], pd.read_csv(outputs["table"])

    return run


def pytest_collection_modifyitems(items):
    """Tests that build Keras models through the session's Keras carry the ``keras`` marker, so a
    quick selection (``-m "not keras"``, the mutation run of `make mutation`) can leave them out."""
    for item in items:
        if "keras_float64" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.keras)


def pytest_terminal_summary(terminalreporter):
    """The fault-injection table (tests/faults): one row per case that recorded a ``fault`` line."""
    rows = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", None) != "call":
                continue
            rows += [value for name, value in getattr(report, "user_properties", []) if name == "fault"]
    if not rows:
        return
    terminalreporter.section("fault table")
    for row in rows:
        terminalreporter.write_line(row)
