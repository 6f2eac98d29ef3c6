"""kill -9 of a real batched training job mid-run: the rerun restores the model the batch had
finished, resumes the one it was training from its checkpoint, and both end where an
uninterrupted run ends (same final loss, loss curve and weights)."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import psutil
import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.workflow
WORKFLOW_FILES = ["Snakefile", "rules", "scripts", "config", "report", "environment.yml"]
# Long enough that a kill at the first checkpoint lands mid-run even on an idle machine
# (several seconds), short enough for the default suite.
STEPS = 5000
CHECKPOINT_EVERY = 250


def resume_config() -> dict:
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    # Two C1 runs in one training job, each long enough to be killed between two checkpoints;
    # no other claim.
    config = {key: value for key, value in config.items() if not (key.startswith("c") and key[1:].isdigit())}
    config["c1"] = yaml.safe_load((REPO / "config" / "test.yaml").read_text())["c1"]
    config["c1"].update(n_train=[3], inits=["random", "zeros"], optimizers=["adam"], seeds=[0])
    config["resources"]["train"]["runs_per_job"] = 2
    config["c1"]["adam"] = {"learning_rate": 1.0e-3, "max_steps": STEPS}
    config["training"] = {"checkpoint_every": CHECKPOINT_EVERY, "checkpoint_seconds": None, "progress_seconds": 1}
    return config


def the_batch() -> tuple[str, str, str]:
    """(model key of the batch's first model, run key and model key of its second), in the order
    the job trains them; keys end with a digest of the settings."""
    import copy

    from memorization.config import fill_defaults
    from memorization.layout import Layout

    layout = Layout(fill_defaults(copy.deepcopy(resume_config()), REPO / "config" / "schema" / "config.schema.yaml"))
    (batch,) = layout.train_batches
    first, second = batch.members
    (run,) = [run for run, model in layout.run_models["c1"].items() if model == second]
    return first, run, second


# The job is killed while it trains MODEL, after it finished FINISHED.
FINISHED, RUN, MODEL = the_batch()


def workflow_copy(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / "config" / "resume.yaml").write_text(yaml.safe_dump(resume_config()))
    return target


def snakemake_command(workdir: Path) -> tuple[list[str], dict]:
    target = f"results/test/models/{MODEL}/training.json"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "snakemake", "--cores", "1", target, "--configfile", "config/resume.yaml"]
    return command, environment


def run_to_end(workdir: Path) -> subprocess.CompletedProcess:
    command, environment = snakemake_command(workdir)
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600, env=environment)


def training_process(snakemake: psutil.Process) -> psutil.Process | None:
    for child in snakemake.children(recursive=True):
        try:
            if any(part.endswith(".train.py") for part in child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def outputs(workdir: Path, model: str) -> tuple[dict, pd.DataFrame, dict]:
    """A model's final training metrics, its loss curve, and its trained weights."""
    run = workdir / "results" / "test" / "models" / model
    result = json.loads((run / "training.json").read_text())["result"]
    metrics = {name: result[name] for name in ("steps", "final_loss", "reached_threshold", "stopped_at_cap")}
    history = pd.read_csv(run / "history.csv").drop(columns=["seconds"])
    weights = {}
    with zipfile.ZipFile(run / "model.keras") as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
        h5.visititems(lambda name, item: weights.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return metrics, history, weights


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The same run, uninterrupted."""
    workdir = workflow_copy(tmp_path_factory.mktemp("resume") / "uninterrupted")
    finished = run_to_end(workdir)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return workdir


def start_killable_run(reference: Path, workdir: Path) -> tuple[subprocess.Popen, psutil.Process, Path, Path]:
    """Snakemake started on a copy (prepared data reused, so only training runs), returned with
    its training process once that has written its first checkpoint."""
    workflow_copy(workdir)
    shutil.copytree(reference / "results" / "test" / "data", workdir / "results" / "test" / "data")
    run_dir = workdir / "results" / "test" / "models" / MODEL
    checkpoint = run_dir / "checkpoint" / f"{RUN}.state.npz"
    command, environment = snakemake_command(workdir)
    first = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=environment)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists(), "no checkpoint appeared before the job ended"
    trainer = training_process(psutil.Process(first.pid))
    assert trainer is not None, "could not find the training process"
    return first, trainer, run_dir, checkpoint


def assert_resumed_once_and_equal(workdir: Path, reference: Path, run_dir: Path) -> None:
    log = (workdir / "results" / "test" / "logs" / "models" / MODEL / "train.log").read_text()
    resumed = [line for line in log.splitlines() if "from checkpoint at step" in line]
    assert len(resumed) == 1, log[-3000:]
    step = int(resumed[0].split("from checkpoint at step ")[1].split()[0])
    assert 0 < step < STEPS and step % CHECKPOINT_EVERY == 0
    assert not (run_dir / "checkpoint").exists()  # deleted once the outputs exist
    training = json.loads((run_dir / "training.json").read_text())["result"]
    assert training["resumed_from_step"] == step and training["steps"] == STEPS

    finished_log = (workdir / "results" / "test" / "logs" / "models" / FINISHED / "train.log").read_text()
    assert "outputs restored" in finished_log, finished_log[-2000:]
    assert not (run_dir.parent / FINISHED / "checkpoint").exists()
    for model in (FINISHED, MODEL):
        metrics, history, weights = outputs(workdir, model)
        expected_metrics, expected_history, expected_weights = outputs(reference, model)
        for name, value in expected_metrics.items():
            assert metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-15), (model, name)
        pd.testing.assert_frame_equal(history, expected_history, check_exact=False, rtol=1e-12)
        assert weights.keys() == expected_weights.keys() and weights
        for name, value in expected_weights.items():
            np.testing.assert_allclose(weights[name], value, rtol=1e-9, atol=1e-15, err_msg=f"{model} {name}")


def test_kill_9_mid_training_then_rerun_resumes_and_matches_an_uninterrupted_run(reference, tmp_path):
    workdir = tmp_path / "killed"
    first, trainer, run_dir, checkpoint = start_killable_run(reference, workdir)
    os.kill(trainer.pid, signal.SIGKILL)
    first.communicate(timeout=120)
    assert first.returncode != 0, "the job was not killed mid-run"
    assert not (run_dir / "model.keras").exists()
    assert checkpoint.exists()  # Snakemake removes a failed job's outputs, not its checkpoint
    # The model the batch had finished is gone from its outputs, but kept beside its checkpoint.
    assert not (run_dir.parent / FINISHED / "model.keras").exists()
    assert (run_dir.parent / FINISHED / "checkpoint" / "finished" / "model.keras").is_file()

    rerun = run_to_end(workdir)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_resumed_once_and_equal(workdir, reference, run_dir)


def test_kill_9_of_snakemake_stops_its_training_job_and_the_rerun_resumes(reference, tmp_path):
    workdir = tmp_path / "scheduler-killed"
    first, trainer, run_dir, checkpoint = start_killable_run(reference, workdir)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=60)  # reaped at once, as a shell would; its pipe stays open while the job lives
    # The orphaned job notices within a few seconds that its Snakemake is gone, and stops.
    gone, alive = psutil.wait_procs([trainer], timeout=60)
    assert gone and not alive, "the training job outlived its Snakemake"
    log = (workdir / "results" / "test" / "logs" / "models" / MODEL / "train.log").read_text()
    assert "is gone; stopped training" in log, log[-2000:]
    assert checkpoint.exists() and not (run_dir / "model.keras").exists()
    assert not [path for path in run_dir.iterdir() if ".tmp" in path.name], "a temporary file was left behind"
    first.communicate(timeout=60)

    command, environment = snakemake_command(workdir)
    unlocked = subprocess.run([*command, "--unlock"], cwd=workdir, capture_output=True, text=True, env=environment)
    assert unlocked.returncode == 0, unlocked.stderr[-2000:]
    rerun = subprocess.run([*command, "--rerun-incomplete"], cwd=workdir, capture_output=True, text=True,
                           timeout=600, env=environment)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_resumed_once_and_equal(workdir, reference, run_dir)
