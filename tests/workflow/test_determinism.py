"""Same config, seed, backend and machine: a second run gives identical metrics and claims values.

The second run builds only what the numbers need (data, training, metrics, tables, claims rows
and table: no figures, no report), in a fresh copy of the workflow, and is compared exactly with
the session's test-scale run.
"""

import json
import re
import shutil

import pandas as pd
import pytest

from conftest import WORKFLOW_FILES, snakemake

pytestmark = pytest.mark.workflow
# Wall-clock measurements legitimately differ between runs; everything else must not.
TIMING = re.compile(r"seconds|duration|time|elapsed|per_s", re.I)


@pytest.fixture(scope="module")
def second_run(test_scale_run, tmp_path_factory):
    # The workflow as the first run saw it (the repository may have changed since).
    workdir = tmp_path_factory.mktemp("second-run")
    for name in WORKFLOW_FILES:
        source = test_scale_run / name
        if source.is_dir():
            shutil.copytree(source, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, workdir / name)
    result = snakemake(workdir, "--cores", "2", "results/test/claims.csv", "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return test_scale_run / "results" / "test", workdir / "results" / "test"


def without_timing(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if not TIMING.search(key)}


def test_every_run_has_identical_metrics(second_run):
    first, second = second_run
    runs = sorted(path.relative_to(first) for path in first.glob("runs/*/*/metrics.json"))
    assert runs, "no runs"
    assert runs == sorted(path.relative_to(second) for path in second.glob("runs/*/*/metrics.json"))
    for run in runs:
        one, two = (json.loads((base / run).read_text()) for base in (first, second))
        assert without_timing(one["metrics"]) == without_timing(two["metrics"]), run
        assert one.get("settings") == two.get("settings"), run


def test_training_saw_the_same_images_and_losses(second_run):
    first, second = second_run
    for path in first.glob("runs/*/*/training.json"):
        run = path.relative_to(first)
        one, two = (json.loads((base / run).read_text()) for base in (first, second))
        assert one["official_indices"] == two["official_indices"], run
        history = run.with_name("history.csv")
        losses = [pd.read_csv(base / history).filter(like="loss") for base in (first, second)]
        pd.testing.assert_frame_equal(*losses, check_exact=True)


def test_tables_and_claims_values_are_identical(second_run):
    first, second = second_run
    for table in sorted(first.glob("tables/*.csv")):
        one, two = (pd.read_csv(base / "tables" / table.name) for base in (first, second))
        keep = [not TIMING.search(str(statistic)) for statistic in one.get("statistic", pd.Series(dtype=str))]
        if "statistic" in one:
            one = one[keep].reset_index(drop=True)
            two = two[[not TIMING.search(str(statistic)) for statistic in two["statistic"]]].reset_index(drop=True)
        pd.testing.assert_frame_equal(one, two, check_exact=True, obj=table.name)
    claims = [pd.read_csv(base / "claims.csv") for base in (first, second)]
    columns = ["claim", "statistic", "value", "threshold", "verdict"]
    pd.testing.assert_frame_equal(claims[0][columns], claims[1][columns], check_exact=True)


def test_the_prepared_data_is_identical(second_run):
    first, second = second_run
    for data in first.glob("data/*.npz"):
        assert (second / "data" / data.name).read_bytes() == data.read_bytes(), data.name
