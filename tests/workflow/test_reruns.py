"""Rerunning one figure: what `snakemake -n` schedules after a plotting change, a missing run, a
forced re-render and a forced retrain of one claim (on a copy of the session's test-scale run)."""

import re
import shutil

import pytest
import yaml

from conftest import snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture
def finished_copy(test_scale_run, tmp_path):
    """A copy of the finished test-scale run (modification times and Snakemake's records kept)."""
    target = tmp_path / "copy"
    shutil.copytree(test_scale_run, target, symlinks=True, ignore=shutil.ignore_patterns("archive.tar.gz", "locks"))
    return target


def scheduled(workdir, target, *options) -> dict[str, int]:
    """Jobs a dry run would execute, by rule (the 'Job stats' table; empty when nothing to do).

    The target comes first: --configfile and --forcerun take every word that follows them.
    """
    result = snakemake(workdir, "-n", target, "--configfile", "config/test.yaml", *options)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    jobs = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        jobs[match.group(1)] = int(match.group(2))
    jobs.pop("total", None)
    return jobs


def test_the_finished_copy_is_up_to_date(finished_copy):
    assert scheduled(finished_copy, "all") == {}


def test_editing_a_claims_plotting_module_schedules_exactly_its_plot_job(finished_copy):
    module = finished_copy / "src" / "memorization" / "plotting" / "c4.py"
    module.write_text(module.read_text() + "# a change to the figure only\n")
    assert scheduled(finished_copy, "all") == {"plot_c4": 1, "all": 1}
    assert scheduled(finished_copy, "fig_c4") == {"plot_c4": 1, "fig_c4": 1}
    assert scheduled(finished_copy, "fig_c1") == {}


def test_editing_the_shared_plot_script_redraws_every_figure_and_trains_nothing(finished_copy):
    from memorization.registry import CLAIMS

    script = finished_copy / "scripts" / "plot.py"
    script.write_text(script.read_text() + "# a change to every figure\n")
    assert scheduled(finished_copy, "all") == {**{f"plot_{claim.id}": 1 for claim in CLAIMS}, "all": 1}


def test_forcing_a_re_render_schedules_only_the_plot_job(finished_copy):
    assert scheduled(finished_copy, "fig_c1", "--forcerun", "plot_c1") == {"plot_c1": 1, "fig_c1": 1}


def batched(jobs: dict[str, int], step: str, claim: str) -> int:
    """Jobs of the generated batch rules ``<step>_<claim>_<k>``, which must each run once."""
    names = [name for name in jobs if name.startswith(f"{step}_{claim}_")]
    assert all(jobs[name] == 1 for name in names), jobs
    return len(names)


def test_adding_runs_to_one_claim_reruns_only_that_claims_batches(finished_copy):
    from memorization.layout import chunked

    config_path = finished_copy / "config" / "test.yaml"
    config = yaml.safe_load(config_path.read_text())
    section = config["c1"]
    section["n_train"] = section["n_train"] + [max(section["n_train"]) + 1]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))  # key order is part of the params
    runs = len(section["n_train"]) * len(section["inits"]) * len(section["optimizers"]) * len(section["seeds"])
    expected_batches = len(chunked(list(range(runs)), config["resources"]["train"]["runs_per_job"]))
    assert expected_batches > 1, "the test needs a claim cut into more than one batch"
    jobs = scheduled(finished_copy, "fig_c1")
    assert batched(jobs, "train", "c1") == expected_batches
    assert batched(jobs, "measure", "c1") == expected_batches
    others = {name: count for name, count in jobs.items() if not name.startswith(("train_c1_", "measure_c1_"))}
    assert others == {"summarize": 1, "plot_c1": 1, "fig_c1": 1}
    # Nothing of another claim is touched by a change to C1.
    assert scheduled(finished_copy, "fig_c2") == {}


def test_retraining_one_claim_from_scratch_leaves_the_data_alone(finished_copy):
    models = sorted(str(path.relative_to(finished_copy)) for path in (finished_copy / "results" / "test" / "models").glob("c1-*/model.keras"))
    assert len(models) == len(list((finished_copy / "results" / "test" / "runs" / "c1").iterdir())) > 0
    jobs = scheduled(finished_copy, "fig_c1", "--forcerun", *models)
    assert batched(jobs, "train", "c1") >= 1 and batched(jobs, "measure", "c1") >= 1
    others = {name: count for name, count in jobs.items() if not name.startswith(("train_c1_", "measure_c1_"))}
    assert others == {"summarize": 1, "plot_c1": 1, "fig_c1": 1}
