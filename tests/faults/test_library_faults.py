"""Fault injection at library level (fast, in the default suite and under ``-m faults``).

Each case breaks one input of a workflow step, runs the step the way its script does (through
`memorization.scripting.run_job`, or the ``memorization`` command), and checks: exit status 1,
the first error line names the cause, the job log holds the same line, no output or temporary
file is left, and after the input is repaired the same step succeeds. A disk that is full,
read-only or forbidden is simulated by making the file system call raise the OSError that the
kernel would (the tests may run as root, for whom chmod forbids nothing).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

from memorization import claims, cli, data, files, scripting

pytestmark = pytest.mark.faults


@pytest.fixture(autouse=True, scope="module")
def keras_configured_first(keras_float64):
    """Cases that save a model import Keras: the session's Keras must be configured first
    (`runtime.configure` runs before the first import), or the float64 tests after these run
    with a Keras that was set up without it and lose precision."""
REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


@dataclass
class Scenario:
    """One broken step: ``action`` returns the exit status; ``repair`` fixes the input."""

    action: Callable[[], int]
    repair: Callable[[], None]
    outputs: list[Path] = field(default_factory=list)
    log: Path | None = None


CASES: dict[str, tuple[Callable[[Path, pytest.MonkeyPatch], Scenario], str]] = {}


def case(name: str, expect: str):
    """Register a scenario builder under ``name``; ``expect`` must be in the first error line."""

    def register(builder):
        CASES[name] = (builder, expect)
        return builder

    return register


# --- how steps are run ---------------------------------------------------------------------


def job(task, tmp: Path, outputs: dict, inputs: dict | None = None, settings: dict | None = None) -> Callable[[], int]:
    """``task`` run as a workflow job (run_job), returning its exit status."""

    def run() -> int:
        try:
            scripting.run_job(
                task, label="fault job", settings=settings or {}, runtime={"backend": "tensorflow"},
                inputs=inputs or {}, outputs=outputs, log_path=str(tmp / "job.log"),
            )
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    return run


def command(*arguments: str) -> Callable[[], int]:
    return lambda: cli.main(list(arguments))


def capture(action: Callable[[], int]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = action()
    return status, err.getvalue()


# --- data ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(mnist_arrays):
    keep = np.concatenate([np.flatnonzero(mnist_arrays["split"] == code)[:200] for code in (data.TRAIN, data.TEST)])
    return {key: mnist_arrays[key][keep] for key in data.ARRAYS}


SMALL = {}


def mirror_case(tmp: Path, breaker) -> Scenario:
    """prepare_data from a mirror whose mnist.npz ``breaker(path, arrays)`` damaged."""
    mirror = tmp / "mirror"
    mirror.mkdir()
    path = mirror / "mnist.npz"
    breaker(path, dict(SMALL))
    out = tmp / "results" / "data" / "mnist.npz"

    def task(settings, inputs, outputs, log):
        data.prepare("mnist", mirror, outputs["data"])

    def repair():
        if path.is_dir():
            path.rmdir()
        np.savez(path, **SMALL)

    return Scenario(job(task, tmp, {"data": str(out)}), repair, [out], tmp / "job.log")


def save_with(**changes):
    def breaker(path, arrays):
        arrays.update({key: change(arrays) for key, change in changes.items()})
        np.savez(path, **arrays)

    return breaker


@case("labels y of float dtype", "array y must hold integers, got dtype float32")
def _(tmp, mp):
    return mirror_case(tmp, save_with(y=lambda a: a["y"].astype(np.float32)))


@case("x of float dtype", "images must be uint8")
def _(tmp, mp):
    return mirror_case(tmp, save_with(x=lambda a: a["x"].astype(np.float32)))


@case("blank images", "the images are blank")
def _(tmp, mp):
    return mirror_case(tmp, save_with(x=lambda a: np.zeros_like(a["x"])))


@case(".npy saved under an .npz name", "single .npy array saved under an .npz name")
def _(tmp, mp):
    return mirror_case(tmp, lambda path, arrays: np.save(open(path, "wb"), arrays["x"]))


@case("HTML page under an .npz name", "is not an npz file: it is an HTML page")
def _(tmp, mp):
    return mirror_case(tmp, lambda path, arrays: path.write_text("<!DOCTYPE html><html><body>404</body></html>"))


@case("truncated mirror file", "truncated or corrupt")
def _(tmp, mp):
    def breaker(path, arrays):
        np.savez(path, **arrays)
        path.write_bytes(path.read_bytes()[:4000])

    return mirror_case(tmp, breaker)


@case("empty mirror file", "is not an npz file: it is an empty file")
def _(tmp, mp):
    return mirror_case(tmp, lambda path, arrays: path.write_bytes(b""))


@case("mirror file lacks an array", "lacks the array(s) index")
def _(tmp, mp):
    return mirror_case(tmp, lambda path, arrays: np.savez(path, **{k: v for k, v in arrays.items() if k != "index"}))


@case("missing mirror file", "does not exist")
def _(tmp, mp):
    return mirror_case(tmp, lambda path, arrays: None)


@case("mirror path is a directory", "is a directory, not an .npz file")
def _(tmp, mp):
    return mirror_case(tmp, lambda path, arrays: path.mkdir())


@case("mirror file not readable", "permission denied")
def _(tmp, mp):
    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    scenario = mirror_case(tmp, lambda path, arrays: np.savez(path, **arrays))
    mp.setattr(data, "open", denied, raising=False)
    scenario.repair = mp.undo
    return scenario


@case("truncated prepared data file", "rerun the data rule (snakemake <target> --forcerun prepare_data")
def _(tmp, mp):
    prepared = tmp / "results" / "data" / "mnist.npz"
    prepared.parent.mkdir(parents=True)
    np.savez(prepared, **SMALL)
    prepared.write_bytes(prepared.read_bytes()[:3000])
    out = tmp / "results" / "runs" / "r" / "metrics.json"

    def task(settings, inputs, outputs, log):
        arrays = data.load_prepared(inputs["data"], "mnist")
        files.write_json(outputs["metrics"], {"n": len(arrays["x"])})

    return Scenario(job(task, tmp, {"metrics": str(out)}, {"data": str(prepared)}),
                    lambda: np.savez(prepared, **SMALL), [out], tmp / "job.log")


# --- results of earlier jobs ---------------------------------------------------------------


def model_case(tmp: Path, breaker) -> Scenario:
    import keras

    model_path = tmp / "results" / "models" / "m" / "model.keras"
    model_path.parent.mkdir(parents=True)
    out = tmp / "results" / "runs" / "r" / "metrics.json"

    def save_good():
        inputs = keras.Input((4,))
        keras.Model(inputs, keras.layers.Dense(4)(inputs)).save(model_path)

    save_good()
    breaker(model_path)

    def task(settings, inputs, outputs, log):
        from memorization.models import load_model

        files.write_json(outputs["metrics"], {"parameters": load_model(inputs["model"]).count_params()})

    def repair():
        if model_path.is_dir():
            model_path.rmdir()
        save_good()

    return Scenario(job(task, tmp, {"metrics": str(out)}, {"model": str(model_path)}), repair, [out], tmp / "job.log")


@case("corrupt model.keras read by measure", "model file")
def _(tmp, mp):
    def breaker(path):
        payload = bytearray(path.read_bytes())
        path.write_bytes(bytes(payload[: len(payload) // 2]))

    return model_case(tmp, breaker)


@case("model.keras path is a directory", "is a directory, not a .keras file")
def _(tmp, mp):
    def breaker(path):
        path.unlink()
        path.mkdir()

    return model_case(tmp, breaker)


def metrics_case(tmp: Path, breaker) -> Scenario:
    record = tmp / "results" / "runs" / "r" / "metrics.json"
    record.parent.mkdir(parents=True)
    good = json.dumps({"claim": "c1", "settings": {"n": 3}, "metrics": {"a": 1.0}})
    breaker(record, good)
    table = tmp / "results" / "tables" / "c1.csv"

    def task(settings, inputs, outputs, log):
        files.write_csv(outputs["table"], claims.tidy_metrics(claims.read_records(inputs["metrics"]), lambda s: s))

    def repair():
        if record.is_dir():
            record.rmdir()
        record.write_text(good)

    return Scenario(job(task, tmp, {"table": str(table)}, {"metrics": [str(record)]}), repair, [table], tmp / "job.log")


@case("truncated metrics.json read by summarize", "metrics.json is truncated or corrupt")
def _(tmp, mp):
    return metrics_case(tmp, lambda path, good: path.write_text(good[: len(good) // 2]))


@case("metrics.json without its metrics", "lacks its settings or metrics")
def _(tmp, mp):
    return metrics_case(tmp, lambda path, good: path.write_text("{}"))


@case("metrics.json path is a directory", "metrics.json is a directory")
def _(tmp, mp):
    return metrics_case(tmp, lambda path, good: path.mkdir())


@case("checkpoint path is a directory", "is a directory, not a checkpoint file")
def _(tmp, mp):
    from memorization.training import Checkpointer, TrainingOptions

    checkpoints = tmp / "results" / "models" / "m" / "checkpoint"
    taken = checkpoints / "m.state.npz"
    taken.mkdir(parents=True)
    out = tmp / "results" / "models" / "m" / "training.json"

    def task(settings, inputs, outputs, log):
        checkpointer = Checkpointer(TrainingOptions(checkpoint_dir=checkpoints), "m", None, None, log)
        if checkpointer.file.exists():
            checkpointer.resume(None, None, None)
        files.write_json(outputs["training"], {"steps": 0})

    return Scenario(job(task, tmp, {"training": str(out)}), taken.rmdir, [out], tmp / "job.log")


# --- the environment: full disk, read-only or forbidden folder ------------------------------


def environment_case(tmp: Path, mp, inject) -> Scenario:
    out = tmp / "results" / "test" / "runs" / "r" / "metrics.json"

    def task(settings, inputs, outputs, log):
        files.write_json(outputs["metrics"], {"a": 1})

    inject(mp)
    return Scenario(job(task, tmp, {"metrics": str(out)}), mp.undo, [out], tmp / "job.log")


def raising(code: int, text: str, with_name: bool):
    def fail(*args, **kwargs):
        raise OSError(code, text, kwargs.get("dir") if with_name else None)

    return fail


@case("disk full while writing an output", "cannot write")
def _(tmp, mp):
    return environment_case(tmp, mp, lambda m: m.setattr(Path, "write_bytes", raising(errno.ENOSPC, "No space left on device", False)))


@case("read-only results folder", "read-only file system")
def _(tmp, mp):
    return environment_case(tmp, mp, lambda m: m.setattr(tempfile, "mkstemp", raising(errno.EROFS, "Read-only file system", True)))


@case("results folder not writable", "permission denied")
def _(tmp, mp):
    return environment_case(tmp, mp, lambda m: m.setattr(tempfile, "mkstemp", raising(errno.EACCES, "Permission denied", True)))


@case("job log on a full disk", "no space left on device (disk full)")
def _(tmp, mp):
    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    scenario = environment_case(tmp, mp, lambda m: m.setattr(scripting, "open", full, raising=False))
    scenario.log = None  # the log itself cannot be written
    return scenario


# --- config --------------------------------------------------------------------------------


def config_case(tmp: Path, text: str) -> Scenario:
    path = tmp / "config.yaml"
    if text is not None:
        path.write_text(text)
    good = (REPO / "config" / "test.yaml").read_text()

    def repair():
        if path.is_dir():
            path.rmdir()
        path.write_text(good)

    return Scenario(command("check-config", str(path), "--schema", str(SCHEMA)), repair)


def edited(change) -> str:
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    change(config)
    return yaml.safe_dump(config)


@case("check-config on a YAML syntax error", "invalid YAML")
def _(tmp, mp):
    return config_case(tmp, "scale: test\nc1: {n_train: [3\n")


@case("check-config on a missing file", "config.yaml: no such file")
def _(tmp, mp):
    return config_case(tmp, None)


@case("check-config on a directory", "is a directory")
def _(tmp, mp):
    (tmp / "config.yaml").mkdir()
    return config_case(tmp, None)


@case("duplicate key in a config", "duplicate key c1.gd.learning_rate")
def _(tmp, mp):
    text = (REPO / "config" / "test.yaml").read_text()
    return config_case(tmp, text.replace("    learning_rate: auto\n", "    learning_rate: auto\n    learning_rate: 0.5\n", 1))


@case("learning_rate .nan", "key c1.gd.learning_rate: nan is not a finite number")
def _(tmp, mp):
    return config_case(tmp, edited(lambda c: c["c1"]["gd"].update(learning_rate=float("nan"))))


@case("-inf in a list", "key c10.noise_levels[0]: -inf is not a finite number")
def _(tmp, mp):
    return config_case(tmp, edited(lambda c: c["c10"].update(noise_levels=[float("-inf"), 0.1])))


@case("bad config key type", "key c1.n_train")
def _(tmp, mp):
    return config_case(tmp, edited(lambda c: c["c1"].update(n_train="ten")))


@case("unknown config key", "unknown key under c1")
def _(tmp, mp):
    return config_case(tmp, edited(lambda c: c["c1"].update(n_trian=[3])))


@case("out-of-range config value", "key c1.seeds[0]: -1 is less than the minimum of 0")
def _(tmp, mp):
    return config_case(tmp, edited(lambda c: c["c1"].update(seeds=[-1])))


# --- archive -------------------------------------------------------------------------------


def build_small_archive(source: Path, output: Path) -> None:
    from memorization.archive import Member, build_archive

    members = []
    for name, payload in {"claims.csv": b"claim,value\nc1,1e-11\n", "workflow/Snakefile": b"rule all:\n"}.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        members.append(Member(path, name, "workflow" if name.startswith("workflow/") else "result"))
    records = [{"started": "2026-11-28T10:00:00+00:00", "finished": "2026-11-28T10:05:00+00:00"}]
    build_archive(output, members, top="memorization-test", name="n", description="d",
                  main_workflow="workflow/Snakefile", records=records)


@case("archive verification failure", "altered: claims.csv")
def _(tmp, mp):
    import tarfile

    archive = tmp / "archive.tar.gz"
    build_small_archive(tmp / "source", archive)
    with tarfile.open(archive, "r:gz") as tar:
        content = {info.name: tar.extractfile(info).read() for info in tar if info.isfile()}
    content["memorization-test/claims.csv"] = b"claim,value\nc1,1e-01\n"
    with tarfile.open(archive, "w:gz") as tar:
        for name, payload in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return Scenario(command("verify-archive", str(archive)), lambda: build_small_archive(tmp / "source", archive))


@case("archive member missing when building", "cannot archive")
def _(tmp, mp):
    from memorization.archive import Member, build_archive

    source = tmp / "source"
    source.mkdir()
    out = tmp / "results" / "archive.tar.gz"

    def task(settings, inputs, outputs, log):
        build_archive(outputs["archive"], [Member(source / "claims.csv", "claims.csv", "result")],
                      top="t", name="n", description="d", main_workflow="claims.csv", records=[])

    return Scenario(job(task, tmp, {"archive": str(out)}), lambda: (source / "claims.csv").write_text("c\n"),
                    [out], tmp / "job.log")


# --- the check -----------------------------------------------------------------------------


def leftovers(paths: list[Path]) -> list[str]:
    """Outputs, and temporary files beside them, that a failed step left behind."""
    left = [str(path) for path in paths if path.exists()]
    for folder in {path.parent for path in paths if path.parent.exists()}:
        left += [str(item) for item in folder.iterdir() if ".tmp" in item.name]
    return left


@pytest.mark.parametrize("name", list(CASES))
def test_fault(name, tmp_path, monkeypatch, small, record_property):
    SMALL.clear()
    SMALL.update(small)
    builder, expect = CASES[name]
    monkeypatch.chdir(tmp_path)
    scenario = builder(tmp_path, monkeypatch)

    status, stderr = capture(scenario.action)
    lines = [line for line in stderr.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    assert status == 1, f"exit status {status}, stderr: {stderr[-2000:]}"
    assert expect in first, f"first error line {first!r} lacks {expect!r}"
    assert "Traceback" not in stderr
    if scenario.log is not None:
        assert first.removeprefix("error: ") in scenario.log.read_text(), "the job log lacks the error line"
    left = leftovers(scenario.outputs)
    assert not left, f"partial output left: {left}"

    scenario.repair()
    status, stderr = capture(scenario.action)
    assert status == 0, f"no recovery after the repair: {stderr[-2000:]}"
    assert all(path.exists() for path in scenario.outputs)

    line = f"FAULT | {name} | {first.replace(str(tmp_path) + '/', '')} | partial: none | recovers: yes"
    record_property("fault", line)
    print(line)


def test_at_least_thirty_cases_in_all():
    from test_workflow_faults import WORKFLOW_CASES

    assert len(CASES) + len(WORKFLOW_CASES) >= 30
