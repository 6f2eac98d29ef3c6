"""End to end: the test scale runs, and bad input stops the workflow with one clear line."""

import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import REPO, copy_workflow, snakemake

pytestmark = pytest.mark.workflow
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_test_scale_builds_figure_table_and_claims_row(test_scale_run):
    results = test_scale_run / "results" / "test"
    png = results / "figures" / "c1.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 20_000
    assert (results / "figures" / "c1.pdf").read_bytes()[:4] == b"%PDF"

    table = pd.read_csv(results / "tables" / "c1.csv")
    assert {"run", "n", "init", "optimizer", "seed", "statistic", "value"} <= set(table.columns)
    section = yaml.safe_load((test_scale_run / "config" / "test.yaml").read_text())["c1"]
    runs_per_optimizer = len(section["n_train"]) * len(section["inits"]) * len(section["seeds"])
    gd = table[(table.optimizer == "gd") & (table.statistic == "off_span_change")]
    adam = table[(table.optimizer == "adam") & (table.statistic == "off_span_change")]
    # Every run is in the table (an empty selection, e.g. after a rename, must not pass).
    assert len(gd) == len(adam) == runs_per_optimizer >= 1
    assert (gd.value < 1e-12).all()  # GD never changes W outside the span
    assert (adam.value > 1e-3).all()  # Adam does

    claims = pd.read_csv(results / "claims.csv")
    row = claims.set_index("claim").loc["c1"]
    assert row.scale == "test"
    assert row.verdict == "reproduced" and row.value < row.threshold
    assert "| c1 |" in (results / "claims.md").read_text()


def test_runs_record_their_training_images(test_scale_run):
    import hashlib

    import numpy as np

    results = test_scale_run / "results" / "test"
    config = yaml.safe_load((test_scale_run / "config" / "test.yaml").read_text())
    prepared = results / "data" / "mnist.npz"
    with np.load(prepared) as arrays:
        official, split = arrays["index"], arrays["split"]
    runs = sorted((results / "runs" / "c1").iterdir())
    section = config["c1"]
    assert len(runs) == len(section["n_train"]) * len(section["inits"]) * len(section["optimizers"]) * len(section["seeds"])
    for run in runs:
        model = results / "models" / f"c1-{run.name}"
        training = yaml.safe_load((model / "training.json").read_text())
        provenance = yaml.safe_load((model / "provenance.json").read_text())
        positions = training["positions"]
        # n distinct training-split images, named by their index in the official split.
        assert len(set(positions)) == provenance["config"]["n"] and (split[positions] == 0).all()
        assert training["official_indices"] == official[positions].tolist()
        assert provenance["dataset"]["official_indices"] == training["official_indices"]
        assert provenance["config"]["seed"] - config["seed"] in section["seeds"]
        assert provenance["seeds"] == {"workflow": config["seed"], "run": provenance["config"]["seed"]}
        data_inputs = [path for path in provenance["inputs"] if path.endswith("data/mnist.npz")]
        assert len(data_inputs) == 1
        assert provenance["inputs"][data_inputs[0]] == hashlib.sha256(prepared.read_bytes()).hexdigest()


def test_every_model_is_trained_once_and_runs_hold_no_model(test_scale_run):
    from memorization.config import fill_defaults
    from memorization.layout import Layout

    results = test_scale_run / "results" / "test"
    config = yaml.safe_load((test_scale_run / "config" / "test.yaml").read_text())
    fill_defaults(config, test_scale_run / "config" / "schema" / "config.schema.yaml")
    models = sorted(path.parent.name for path in (results / "models").glob("*/model.keras"))
    assert models and not list((results / "runs").glob("*/*/model.keras"))
    assert models == sorted(Layout(config).models)
    # The deep FC claims measure shared models: fewer models than FC runs.
    from memorization.registry import CLAIMS

    fc_claims = [claim.id for claim in CLAIMS if claim.family == "fc"]
    fc_runs = [run for claim in fc_claims for run in (results / "runs" / claim).iterdir()]
    fc_models = [model for model in models if model.startswith("mlp-")]
    assert len(fc_models) < len(fc_runs)
    assert {run.name for run in fc_runs} == set(fc_models)


def test_rerun_is_a_no_op(test_scale_run):
    result = snakemake(test_scale_run, "-n", "all", "--configfile", "config/test.yaml")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_paper_config_plans_every_job(tmp_path):
    workdir = copy_workflow(tmp_path / "paper")
    result = snakemake(workdir, "-n", "all", "--quiet", "rules")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train" in result.stdout and "plot_c1" in result.stdout


def test_invalid_config_stops_before_any_job_with_one_line(tmp_path):
    workdir = copy_workflow(tmp_path / "bad-config")
    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    config["c1"]["n_train"] = [0]
    (workdir / "config" / "bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--cores", "1", "all", "--configfile", "config/bad.yaml")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "invalid config" in line]
    assert lines == [lines[0]] and "key c1.n_train[0]: 0 is less than the minimum of 1" in lines[0]
    assert not (workdir / "results").exists()


def test_corrupt_mirror_fails_with_one_line_and_no_output(tmp_path):
    workdir = copy_workflow(tmp_path / "bad-data")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    result = snakemake(
        workdir, "--cores", "1", "results/test/data/mnist.npz", "--configfile", "config/test.yaml",
        "--config", f"data_mirror={mirror}",
    )
    assert result.returncode != 0
    assert "error: " in result.stderr and "truncated or corrupt" in result.stderr
    assert not (workdir / "results" / "test" / "data" / "mnist.npz").exists()


# The one lint we accept: the rules name no per-rule conda environment, because the supported
# environments (the pinned venv of `make`, or `conda env create -f environment.yml`) hold the
# workflow's own package, which a per-rule environment under `--sdm conda` cannot install
# (see README, "Environments").
ACCEPTED_LINTS = {"Specify a conda environment or container for each rule."}


def test_lint_and_format_are_clean():
    lint = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--configfile", "config/test.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    output = lint.stdout + lint.stderr
    assert "Lints for" in output or lint.returncode == 0, output
    found = set(re.findall(r"^    \* (.+?):$", output, flags=re.M))
    assert found <= ACCEPTED_LINTS, output
    snakefmt = os.path.join(os.path.dirname(sys.executable), "snakefmt")
    formatted = subprocess.run([snakefmt, "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stderr
