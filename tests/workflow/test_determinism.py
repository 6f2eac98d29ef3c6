"""Same config, seed, backend and machine: a second run gives identical metrics and claims values.

The default checks recompute, in fresh copies of the workflow, the data and one run of every
claim (training and metrics; the first run key of each claim), and every claim's table, row and
the claims table from the first run's metrics, and compare them exactly with the session's
test-scale run; every claim's code path runs twice while the suite stays short. The slow check
(``-m slow``) reruns the whole test scale up to claims.csv and compares every metric, table and
claims value.
"""

import json
import re
import shutil

import pandas as pd
import pytest

from conftest import copy_workflow, snakemake

# The first test here also pays for the session's test-scale run (tests/workflow/conftest.py).
pytestmark = [pytest.mark.workflow, pytest.mark.timeout(1800)]
# Wall-clock measurements legitimately differ between runs; everything else must not.
TIMING = re.compile(r"seconds|duration|time|elapsed|per_s", re.I)


def rerun(test_scale_run, target, *targets):
    # The workflow exactly as the first run saw it (the repository may have changed since).
    workdir = copy_workflow(target, source_root=test_scale_run)
    result = snakemake(workdir, "--cores", "2", *targets, "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir / "results" / "test"


@pytest.fixture(scope="module")
def one_run_per_claim(test_scale_run, tmp_path_factory):
    first = test_scale_run / "results" / "test"
    measured = {}  # claim -> its first run that has metrics (shared model folders have none)
    for metrics in sorted(first.glob("runs/*/*/metrics.json")):
        measured.setdefault(metrics.parent.parent.name, metrics.parent.relative_to(first))
    runs = list(measured.values())
    assert runs, "the first run made no runs"
    second = rerun(test_scale_run, tmp_path_factory.mktemp("second-run"), *[f"results/test/{run}/metrics.json" for run in runs])
    return first, second, runs


def without_timing(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if not TIMING.search(key)}


def assert_same_run(first, second, run):
    one, two = (json.loads((base / run / "metrics.json").read_text()) for base in (first, second))
    assert without_timing(one["metrics"]) == without_timing(two["metrics"]), run
    assert one.get("settings") == two.get("settings"), run
    if (first / run / "training.json").is_file():
        one, two = (json.loads((base / run / "training.json").read_text()) for base in (first, second))
        assert one.get("official_indices") == two.get("official_indices"), run
    if (first / run / "history.csv").is_file():
        losses = [pd.read_csv(base / run / "history.csv").filter(like="loss") for base in (first, second)]
        pd.testing.assert_frame_equal(*losses, check_exact=True, obj=str(run))


def test_one_run_of_every_claim_gives_identical_metrics(one_run_per_claim):
    first, second, runs = one_run_per_claim
    for run in runs:
        assert_same_run(first, second, run)


def test_the_prepared_data_is_identical(one_run_per_claim):
    first, second, _ = one_run_per_claim
    for data in first.glob("data/*.npz"):
        assert (second / "data" / data.name).read_bytes() == data.read_bytes(), data.name


def test_every_summary_and_the_claims_table_are_recomputed_identically(test_scale_run, tmp_path):
    """All of the first run's results, with every table, claims row and the claims table removed:
    Snakemake must rerun only the summaries and the table, and they must equal the first ones
    byte for byte (the summaries' bootstrap intervals are seeded too)."""
    first = test_scale_run / "results" / "test"
    workdir = copy_workflow(tmp_path / "summaries", source_root=test_scale_run)
    second = workdir / "results" / "test"
    shutil.copytree(first, second)  # copies keep their modification times: nothing else is out of date
    rows = sorted(path.name for path in (first / "claims").glob("c*.csv"))
    from memorization.registry import CLAIMS

    assert rows == sorted(f"{claim.id}.csv" for claim in CLAIMS)
    for removed in ("claims", "tables"):
        shutil.rmtree(second / removed)
    for removed in ("claims.csv", "claims.md"):
        (second / removed).unlink()
    result = snakemake(workdir, "--cores", "2", "results/test/claims.csv", "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    ran = re.findall(r"^(?:local)?rule (\w+):", result.stdout + result.stderr, flags=re.M)
    assert sorted(set(ran)) == ["claims_table", "summarize"] and ran.count("summarize") == len(rows), ran
    for path in ["claims.csv", "claims.md", *(f"claims/{row}" for row in rows), *(f"tables/{row}" for row in rows)]:
        assert (second / path).read_bytes() == (first / path).read_bytes(), path


@pytest.mark.slow
def test_a_whole_second_run_gives_identical_metrics_tables_and_claims(test_scale_run, tmp_path):
    first = test_scale_run / "results" / "test"
    second = rerun(test_scale_run, tmp_path, "results/test/claims.csv")
    runs = sorted(path.parent.relative_to(first) for path in first.glob("runs/*/*/metrics.json"))
    assert runs == sorted(path.parent.relative_to(second) for path in second.glob("runs/*/*/metrics.json"))
    for run in runs:
        assert_same_run(first, second, run)
    for table in sorted(first.glob("tables/*.csv")):
        one, two = (pd.read_csv(base / "tables" / table.name) for base in (first, second))
        if "statistic" in one:
            one, two = (frame[~frame.statistic.astype(str).str.contains(TIMING)].reset_index(drop=True)
                        for frame in (one, two))
        pd.testing.assert_frame_equal(one, two, check_exact=True, obj=table.name)
    claims = [pd.read_csv(base / "claims.csv") for base in (first, second)]
    columns = ["claim", "statistic", "value", "threshold", "verdict"]
    pd.testing.assert_frame_equal(claims[0][columns], claims[1][columns], check_exact=True)
