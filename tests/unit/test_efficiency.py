"""`memorization efficiency`: job time against time in the work itself, on a hand-built results
folder with batched jobs and jobs of the layout before batching."""

import json

import pytest

from memorization import efficiency


def _benchmark(path, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\n{seconds}\t0:00:{seconds}\n")


def _json(path, record):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    # A batched train job of two models, a batched measure job of one run, and the old layout:
    # one train job per model, one measure job per run; plus a figure job.
    _benchmark(root / "benchmarks/jobs/train_batch1.tsv", 30)
    _benchmark(root / "benchmarks/jobs/measure_batch1.tsv", 12)
    _benchmark(root / "benchmarks/models/old/train.tsv", 10)
    _benchmark(root / "benchmarks/c3/measure/old-run.tsv", 8)
    _benchmark(root / "benchmarks/figures/c3.tsv", 5)
    for name, seconds in (("a", 9.0), ("b", 11.0)):
        _json(root / f"models/{name}/provenance.json", {"job": "train_batch1"})
        _json(root / f"models/{name}/training.json", {"result": {"seconds": seconds}})
    _json(root / "models/old/provenance.json", {})
    _json(root / "models/old/training.json", {"result": {"seconds": 4.0}})
    _json(root / "runs/c3/new-run/metrics.provenance.json", {"job": "measure_batch1", "duration_s": 6.0})
    _json(root / "runs/c3/old-run/metrics.provenance.json", {"duration_s": 2.0})
    return root


def test_work_is_credited_to_the_job_that_did_it(results):
    totals = efficiency.account(results)
    train, measure, other = totals["train"], totals["measure"], totals["other"]
    assert (train.jobs, train.job_seconds, train.work_seconds) == (2, 40.0, 24.0)  # 9 + 11 + 4 of 30 + 10
    assert sorted(train.overheads) == [6.0, 10.0]
    assert (measure.jobs, measure.job_seconds, measure.work_seconds) == (2, 20.0, 8.0)
    assert sorted(measure.overheads) == [6.0, 6.0]
    assert (other.jobs, other.job_seconds, other.work_seconds, other.overheads) == (1, 5.0, 0.0, [])
    assert train.share == pytest.approx(0.6) and efficiency.StepTotals().share != efficiency.StepTotals().share


def test_the_report_gives_shares_start_up_and_the_total(results):
    text = efficiency.render(efficiency.account(results), results)
    lines = text.splitlines()
    assert lines[0] == f"Workflow efficiency of {results}"
    assert lines[3].split() == ["train", "2", "40", "24", "60%", "8.0"]
    assert lines[4].split() == ["measure", "2", "20", "8", "40%", "6.0"]
    assert lines[5].split() == ["other", "1", "5", "-", "-", "-"]
    assert lines[-1] == "train + measure: 32 s of work in 60 s of job time (53%); every job: 5 jobs, 65 s"


def test_a_folder_without_benchmarks_is_named(tmp_path):
    with pytest.raises(efficiency.EfficiencyError, match="no job benchmarks under benchmarks/; run the workflow first"):
        efficiency.account(tmp_path)


def test_the_efficiency_command_prints_the_report(results, capsys):
    from memorization import cli

    assert cli.main(["efficiency", str(results)]) == 0
    assert capsys.readouterr().out == efficiency.render(efficiency.account(results), results)
