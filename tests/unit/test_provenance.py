"""Provenance records: each field says what produced an output, and the claim index links them."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from memorization import files, provenance

SRC = Path(__file__).resolve().parents[2] / "src"


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "checkout"
    root.mkdir()
    git(root, "init", "-q")
    (root / "tracked.txt").write_text("one\n")
    git(root, "add", "tracked.txt")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    return root


def test_git_state_reports_commit_dirty_and_untracked(checkout):
    clean = provenance.git_state(checkout)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False and clean["untracked"] is False
    (checkout / "new.txt").write_text("untracked\n")
    assert provenance.git_state(checkout)["untracked"] is True
    (checkout / "tracked.txt").write_text("two\n")
    state = provenance.git_state(checkout)
    assert state["dirty"] is True and state["commit"] == clean["commit"]


def test_git_state_outside_a_checkout_falls_back_to_the_library(checkout, tmp_path, monkeypatch):
    """Run from a folder that is no checkout, the commit is that of the checkout the library was
    imported from; run from a checkout, it is that one; from neither, every field is None."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True).stdout.strip()
    library = checkout / "src" / "memorization"
    library.mkdir(parents=True)
    (library / "provenance.py").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(provenance, "__file__", str(library / "provenance.py"))
    state = provenance.git_state()
    assert state["commit"] == head and state["root"] == str(checkout.resolve())
    assert state["dirty"] is False and state["untracked"] is True  # src/ is new and untracked
    second = tmp_path / "second"
    second.mkdir()
    git(second, "init", "-q")
    git(second, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "x")
    monkeypatch.chdir(second)
    assert provenance.git_state()["root"] == str(second.resolve())  # the working directory comes first
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(provenance, "__file__", str(elsewhere / "provenance.py"))
    assert provenance.git_state() == {"commit": None, "dirty": None, "untracked": None, "root": None}
    assert provenance.git_state(elsewhere)["commit"] is None


def test_config_hash_is_stable_and_order_free():
    assert provenance.config_hash({"a": 1, "b": [1, 2]}) == provenance.config_hash({"b": [1, 2], "a": 1})
    assert provenance.config_hash({"a": 1}) != provenance.config_hash({"a": 2})


def test_collect_records_data_seeds_software_hardware_and_inputs(tmp_path):
    data = tmp_path / "mnist.npz"
    data.write_bytes(b"pretend data")
    training = tmp_path / "training.json"
    training.write_text(json.dumps({"official_indices": [7, 42, 59999], "positions": [7, 42, 59999]}))
    settings = {"dataset": "mnist", "seed": 3, "n": 3}
    started = provenance.now()
    record = provenance.collect(
        step="measure c1/r",
        claim="c1",
        run="r",
        settings=settings,
        inputs={"data": str(data), "training": str(training), "examples": [str(tmp_path / "absent")]},
        started=started,
        runtime={"backend": "tensorflow", "seed": 1, "deterministic": True},
    )
    assert record["config"] == settings and record["config_sha256"] == provenance.config_hash(settings)
    assert record["seeds"] == {"workflow": 1, "run": 3}
    assert record["runtime"]["backend"] == "tensorflow"
    assert record["dataset"]["name"] == "mnist"
    assert record["dataset"]["sha256"] == files.sha256_file(data)
    assert record["dataset"]["official_indices"] == [7, 42, 59999]
    assert record["inputs"] == {str(data): files.sha256_file(data), str(training): files.sha256_file(training)}
    import numpy
    import platform

    assert record["packages"]["python"] == platform.python_version()
    assert record["packages"]["numpy"] == numpy.__version__
    assert record["hardware"]["cpu_count"] == os.cpu_count() and isinstance(record["hardware"]["gpus"], list)
    assert record["hardware"]["usable_cpus"] == len(os.sched_getaffinity(0))
    assert record["started"] == started and 0 <= record["duration_s"] < 60
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    assert record["git"]["commit"] == head and isinstance(record["git"]["dirty"], bool) == (head is not None)
    assert record["command"] == " ".join(sys.argv)  # no Snakemake among this test's ancestors


def test_collect_takes_official_indices_from_the_train_step(tmp_path):
    data = tmp_path / "mnist.npz"
    data.write_bytes(b"x")
    record = provenance.collect(
        step="train", claim="c1", run="r", settings={"dataset": "mnist", "seed": 0}, inputs={"data": str(data)},
        started=provenance.now(), extra={"official_indices": [1, 2]},
    )
    assert record["dataset"]["official_indices"] == [1, 2] and record["official_indices"] == [1, 2]


def test_collect_still_accepts_a_list_of_inputs(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("x")
    record = provenance.collect(step="s", claim=None, run=None, settings={}, inputs=[str(path)], started=provenance.now())
    assert record["inputs"] == {str(path): files.sha256_file(path)} and "dataset" not in record


def test_backend_version_is_recorded_once_keras_is_imported(keras_float64):
    versions = provenance.package_versions()
    backend = keras_float64.backend.backend()
    assert versions["keras_backend"] == backend
    assert versions["backend_version"] == sys.modules[backend].__version__


def test_invoking_command_finds_the_snakemake_ancestor(tmp_path):
    launcher = tmp_path / "snakemake"
    launcher.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        "child = 'from memorization.provenance import invoking_command; print(invoking_command())'\n"
        "sys.exit(subprocess.run([sys.executable, '-c', child]).returncode)\n"
    )
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    environment = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([str(launcher), "--cores", "2", "all"], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"{launcher} --cores 2 all")


def test_claim_index_links_every_record_relative_to_the_results(tmp_path):
    results = tmp_path / "results" / "test"
    records = {}
    for run, seed in (("run-a", 0), ("run-b", 1)):
        steps = {}
        for step, name in (("train", "provenance.json"), ("measure", "metrics.provenance.json")):
            path = results / "runs" / "c1" / run / name
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_json(
                path,
                {
                    "git": {"commit": "abc", "dirty": run == "run-b"},
                    "packages": {"keras_backend": "jax", "backend_version": "0.10.2"},
                    "seeds": {"workflow": 0, "run": seed},
                    "config_sha256": f"hash-{run}",
                    "dataset": {"name": "mnist", "sha256": "d" * 64, "official_indices": [seed]},
                    "started": f"2026-11-28T10:0{seed}:00+00:00",
                    "finished": f"2026-11-28T10:0{seed}:30+00:00",
                },
            )
            steps[step] = str(path)
        records[run] = steps
    index = provenance.claim_index("c1", records, results)
    assert set(index["runs"]) == {"run-a", "run-b"}
    train = index["runs"]["run-b"]["train"]
    assert train["record"] == "runs/c1/run-b/provenance.json"
    assert train["record_sha256"] == files.sha256_file(results / train["record"])
    assert train["seed"] == 1 and train["official_indices"] == [1] and train["config_sha256"] == "hash-run-b"
    summary = index["summary"]
    assert summary["git_commits"] == ["abc"] and summary["any_dirty"] is True
    assert summary["backends"] == ["jax 0.10.2"] and summary["datasets"] == {"mnist": "d" * 64}
    assert summary["started"] == "2026-11-28T10:00:00+00:00" and summary["finished"] == "2026-11-28T10:01:30+00:00"


def test_write_json_leaves_no_temporary_file(tmp_path):
    import numpy as np

    path = tmp_path / "deep" / "record.json"
    files.write_json(path, {"array": np.arange(3), "scalar": np.float64(0.5)})
    assert json.loads(path.read_text()) == {"array": [0, 1, 2], "scalar": 0.5}
    assert [item.name for item in path.parent.iterdir()] == ["record.json"]
