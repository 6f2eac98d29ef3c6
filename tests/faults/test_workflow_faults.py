"""Fault injection through Snakemake (slow; run with ``-m faults``).

One C1 run is built once (data, model, metrics, claims row); each case copies that finished
workflow, breaks one thing, runs Snakemake and checks: a non-zero exit, the first error line
names the cause (and the job log holds it), no partial output, the earlier good results
untouched, and that the same command succeeds once the input is repaired.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.workflow]
REPO = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = ["Snakefile", "rules", "scripts", "config", "report", "environment.yml", "profiles"]
TARGET = "results/test/claims/c1.csv"
SITECUSTOMIZE = '''
import errno, os, tempfile
_under = os.environ.get("FAULT_ENOSPC_UNDER")
if _under:
    _mkstemp = tempfile.mkstemp
    def mkstemp(*args, **kwargs):
        folder = kwargs.get("dir")
        if folder and os.path.abspath(str(folder)).startswith(_under):
            raise OSError(errno.ENOSPC, "No space left on device", str(folder))
        return _mkstemp(*args, **kwargs)
    tempfile.mkstemp = mkstemp
'''


def one_run_config() -> dict:
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    config = {key: value for key, value in config.items() if not (key.startswith("c") and key[1:].isdigit())}
    c1 = yaml.safe_load((REPO / "config" / "test.yaml").read_text())["c1"]
    c1.update(n_train=[3], inits=["zeros"], optimizers=["gd"], seeds=[0])
    config["c1"] = c1
    return config


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(workdir / "inject"), str(REPO / "src"), environment.get("PYTHONPATH", "")]
    )
    environment.update(env or {})
    command = [sys.executable, "-m", "snakemake", "--cores", "1", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900, env=environment)


def run(workdir: Path, config: str = "config/fault.yaml", target: str = TARGET, *extra: str, env=None):
    mirror = os.environ.get("MEMORIZATION_DATA_MIRROR")
    overrides = ["--config", f"data_mirror={workdir / 'mirror'}"] if (workdir / "mirror").exists() else (
        ["--config", f"data_mirror={mirror}"] if mirror else [])
    return snakemake(workdir, target, "--configfile", config, *extra, *overrides, env=env)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """The one-run workflow, built to its figure (so a later `fig_c1` has nothing to redraw)."""
    workdir = tmp_path_factory.mktemp("faults-base")
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, workdir / name)
    (workdir / "config" / "fault.yaml").write_text(yaml.safe_dump(one_run_config()))
    (workdir / "inject").mkdir()
    (workdir / "inject" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    result = run(workdir, "config/fault.yaml", "fig_c1")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@dataclass
class Scenario:
    args: tuple = ()  # extra Snakemake arguments of the failing run
    env: dict = field(default_factory=dict)
    config: str = "config/fault.yaml"
    target: str = TARGET
    repair: Callable[[], None] = lambda: None
    repaired_args: tuple = ()
    must_be_gone: list[Path] = field(default_factory=list)
    must_stay: list[Path] = field(default_factory=list)
    log_glob: str | None = None  # job log that must hold the error line


WORKFLOW_CASES: dict[str, tuple[Callable[[Path], Scenario], str]] = {}


def case(name: str, expect: str):
    def register(builder):
        WORKFLOW_CASES[name] = (builder, expect)
        return builder

    return register


def models(workdir: Path) -> list[Path]:
    return sorted((workdir / "results" / "test" / "models").iterdir())


def write_config(workdir: Path, change) -> None:
    config = copy.deepcopy(one_run_config())
    change(config)
    (workdir / "config" / "fault.yaml").write_text(yaml.safe_dump(config))


@case("diverging c1.gd.learning_rate after a good run", "diverged")
def _(workdir):
    good = models(workdir)[0]
    write_config(workdir, lambda c: c["c1"]["gd"].update(learning_rate=1.0e6))
    return Scenario(
        repair=lambda: write_config(workdir, lambda c: None),
        must_stay=[good / "model.keras", good / "training.json"],
        must_be_gone=[],
        log_glob="results/test/logs/models/*/train.log",
    )


@case("learning_rate .nan in the config file", "key c1.gd.learning_rate: nan is not a finite number")
def _(workdir):
    write_config(workdir, lambda c: c["c1"]["gd"].update(learning_rate=float("nan")))
    return Scenario(repair=lambda: write_config(workdir, lambda c: None), must_stay=[workdir / TARGET])


@case("duplicate key in the config file", "duplicate key c1.gd.learning_rate")
def _(workdir):
    path = workdir / "config" / "fault.yaml"
    path.write_text(path.read_text().replace("    learning_rate: auto\n", "    learning_rate: auto\n    learning_rate: 0.5\n"))
    return Scenario(repair=lambda: write_config(workdir, lambda c: None), must_stay=[workdir / TARGET])


@case("corrupt model.keras read by measure", "model file")
def _(workdir):
    model = models(workdir)[0] / "model.keras"
    model.write_bytes(model.read_bytes()[:1000])
    runs = workdir / "results" / "test" / "runs" / "c1"
    metrics = next(runs.iterdir()) / "metrics.json"
    return Scenario(
        args=("--forcerun", "measure_c1_1"), repair=lambda: None, repaired_args=("--forcerun", "train_c1_1"),
        must_be_gone=[metrics], log_glob="results/test/logs/c1/measure/*.log",
    )


@case("truncated metrics.json read by summarize", "metrics.json is truncated or corrupt")
def _(workdir):
    metrics = next((workdir / "results" / "test" / "runs" / "c1").iterdir()) / "metrics.json"
    metrics.write_text(metrics.read_text()[:100])
    # Older than its inputs would make Snakemake remeasure; keep the broken file current.
    return Scenario(
        args=("--forcerun", "summarize"), repaired_args=("--forcerun", "measure_c1_1"),
        must_be_gone=[workdir / "results" / "test" / "tables" / "c1.csv"],
        log_glob="results/test/logs/c1/summarize.log",
    )


@case("truncated prepared data file", "--forcerun prepare_data")
def _(workdir):
    prepared = workdir / "results" / "test" / "data" / "mnist.npz"
    prepared.write_bytes(prepared.read_bytes()[:5000])
    return Scenario(
        args=("--forcerun", "train_c1_1"), repaired_args=("--forcerun", "prepare_data"),
        log_glob="results/test/logs/models/*/train.log",
    )


@case("labels y of float dtype in the mirror", "array y must hold integers")
def _(workdir):
    source = os.environ.get("MEMORIZATION_DATA_MIRROR")
    if not source:
        pytest.skip("needs MEMORIZATION_DATA_MIRROR")
    mirror = workdir / "mirror"
    mirror.mkdir()
    with np.load(Path(source) / "mnist.npz") as good:
        arrays = {key: good[key] for key in good.files}
    np.savez(mirror / "mnist.npz", **{**arrays, "y": arrays["y"].astype(np.float32)})
    return Scenario(
        args=("--forcerun", "prepare_data"), target="results/test/data/mnist.npz",
        repair=lambda: np.savez(mirror / "mnist.npz", **arrays), repaired_args=("--forcerun", "prepare_data"),
        must_be_gone=[workdir / "results" / "test" / "data" / "mnist.npz"],
        log_glob="results/test/logs/data/mnist.log",
    )


@case("disk full while training", "no space left on device (disk full)")
def _(workdir):
    return Scenario(
        args=("--forcerun", "train_c1_1"), env={"FAULT_ENOSPC_UNDER": str(workdir / "results" / "test" / "models")},
        repaired_args=("--forcerun", "train_c1_1"), log_glob="results/test/logs/models/*/train.log",
        must_be_gone=[models(workdir)[0] / "model.keras"],
    )


def first_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("error: "):
            return line
        if line.startswith("WorkflowError") and index + 1 < len(lines):
            return lines[index + 1].strip()
    return ""


@pytest.mark.parametrize("name", list(WORKFLOW_CASES))
def test_workflow_fault(name, finished, tmp_path, record_property):
    workdir = tmp_path / "workflow"
    shutil.copytree(finished, workdir, symlinks=True)
    builder, expect = WORKFLOW_CASES[name]
    scenario = builder(workdir)
    stays = {path: path.read_bytes() for path in scenario.must_stay}

    result = run(workdir, scenario.config, scenario.target, *scenario.args, env=scenario.env)
    first = first_error_line(result.stderr)
    assert result.returncode != 0, result.stderr[-3000:]
    assert expect in first, f"first error line {first!r} lacks {expect!r}; stderr: {result.stderr[-3000:]}"
    if scenario.log_glob:
        logs = [path.read_text() for path in workdir.glob(scenario.log_glob)]
        assert any(first.removeprefix("error: ") in log for log in logs), "no job log holds the error line"
    left = [str(path) for path in scenario.must_be_gone if path.exists()]
    left += [str(path) for path in (workdir / "results").rglob("*") if ".tmp" in path.name]
    assert not left, f"partial output left: {left}"
    for path, payload in stays.items():
        assert path.exists() and path.read_bytes() == payload, f"{path} was changed or deleted"
    # The user's target asked for again, nothing fixed: Snakemake deleted the failed job's outputs,
    # and they must be rebuilt (and fail again), never reported as done without them.
    again = run(workdir, scenario.config, "fig_c1")
    missing = [str(path) for path in scenario.must_be_gone if not path.exists()]
    assert again.returncode != 0 or not missing, f"a rerun passed with outputs missing: {missing}" + again.stderr[-4000:]

    scenario.repair()
    recovered = run(workdir, scenario.config, scenario.target, *scenario.repaired_args)
    assert recovered.returncode == 0, recovered.stderr[-3000:]

    line = f"FAULT | {name} (snakemake) | {first.replace(str(workdir) + '/', '')} | partial: none | recovers: yes"
    record_property("fault", line)
    print(line)
