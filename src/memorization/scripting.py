"""The bridge between a workflow step and the library: logging, runtime setup, clean failure.

Scripts under ``scripts/`` hand their Snakemake inputs, outputs and params to `run_job` (or
`run_steps` for a batched job of several runs), so every step logs, seeds, limits threads and reports errors the same way. This module never
imports Snakemake: it receives plain paths and dictionaries.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from memorization import files, provenance
from memorization.errors import MemorizationError, environment_cause


class StepLog:
    """Appends timestamped lines to the job's log file, flushing each so progress is visible."""

    def __init__(self, path: str | None):
        self.stream = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.stream = open(path, "a", buffering=1)

    def __call__(self, message: str) -> None:
        line = f"[{provenance.now()}] {message}"
        if self.stream:
            self.stream.write(line + "\n")
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.stream:
            self.stream.close()


def experiment_step(claim: str, step: str) -> Callable:
    """``memorization.experiments.<claim>.<step>``: the function a generic rule runs."""
    experiment = importlib.import_module(f"memorization.experiments.{claim}")
    return getattr(experiment, step)


@dataclass
class Step:
    """One step of a job: ``task(settings, inputs, outputs, log)`` with its own files and log."""

    task: Callable
    label: str
    settings: dict
    inputs: dict
    outputs: dict
    log_path: str | None
    claim: str | None = None
    run: str | None = None
    # restore(): True when the step's outputs were put back from an interrupted earlier run of
    # its job (the task is skipped); finish(): called once the step's outputs are all written.
    restore: Callable[[], bool] | None = None
    finish: Callable[[], None] | None = None


def run_job(
    task: Callable,
    *,
    label: str,
    settings: dict,
    runtime: dict,
    inputs: dict,
    outputs: dict,
    log_path: str | None,
    threads: int = 1,
    uses_keras: bool = False,
    claim: str | None = None,
    run: str | None = None,
) -> None:
    """Run ``task(settings, inputs, outputs, log)`` as one workflow job (see `run_steps`)."""
    step = Step(task, label, settings, inputs, outputs, log_path, claim, run)
    run_steps([step], runtime=runtime, threads=threads, uses_keras=uses_keras)


def run_steps(
    steps: list[Step],
    *,
    runtime: dict,
    threads: int = 1,
    uses_keras: bool = False,
    job: str | None = None,
    gpus: int | None = None,
) -> None:
    """Run the steps of one workflow job in this process, one after the other.

    Sets up the runtime once when the steps use Keras (backend import and thread pools are the
    start-up a batched job pays once), then gives each step the seed and precision of its own
    settings on a cleared Keras session, so a step computes what it would alone in a job. Each
    step logs to its own file and writes its own provenance record when it declares a
    ``provenance`` output. A `MemorizationError` or an environment `OSError` (full disk,
    read-only folder) ends the job with its one-line message on stderr and exit status 1, so
    Snakemake removes the job's outputs and shows the cause. ``gpus`` 0 (a job that asked its
    scheduler for no GPU) keeps the process off every GPU; None leaves the devices as they are.
    """
    if uses_keras and steps:
        try:
            from memorization.runtime import configure

            configure(
                backend=runtime["backend"],
                threads=threads,
                seed=_seed(steps[0].settings, runtime),
                float_dtype=steps[0].settings.get("float_dtype", "float32"),
                deterministic=runtime.get("deterministic", True),
                device="cpu" if gpus == 0 else "auto",
            )
        except MemorizationError as error:
            fail(StepLog(None), str(error))
    for number, step in enumerate(steps, start=1):
        _run_step(step, runtime, threads, uses_keras, job)
        if job and len(steps) > 1:
            print(f"{job}: {number}/{len(steps)} done ({step.label})", file=sys.stderr, flush=True)


def _seed(settings: dict, runtime: dict) -> int:
    return int(settings.get("seed", runtime.get("seed", 0)))


def _run_step(step: Step, runtime: dict, threads: int, uses_keras: bool, job: str | None) -> None:
    try:
        log = StepLog(step.log_path)
    except OSError as error:
        cause = environment_cause(error)
        if cause is None:
            raise
        print(f"error: cannot write {_relative(error.filename or step.log_path)}: {cause}", file=sys.stderr, flush=True)
        sys.exit(1)
    started = provenance.now()
    try:
        if step.restore is not None and step.restore():
            log(f"{step.label}: finished by an earlier, interrupted run of this job; outputs restored")
            return
        if uses_keras:
            from memorization.runtime import begin_run

            begin_run(_seed(step.settings, runtime), step.settings.get("float_dtype", "float32"))
        log(f"{step.label}: started with {threads} thread(s), backend {runtime.get('backend')}")
        extra = step.task(step.settings, step.inputs, step.outputs, log) or {}
        if "provenance" in step.outputs:
            record = provenance.collect(
                step=step.label,
                claim=step.claim,
                run=step.run,
                settings=step.settings,
                inputs=step.inputs,
                started=started,
                extra={**extra, "job": job} if job else extra,
                runtime=runtime,
            )
            files.write_json(step.outputs["provenance"], record)
        if step.finish is not None:
            step.finish()
        log(f"{step.label}: done")
    except MemorizationError as error:
        fail(log, str(error))
    except OSError as error:
        # A full disk, a read-only or forbidden results folder: no code can fix it, so one line.
        cause = environment_cause(error)
        if cause is None:
            raise
        fail(log, environment_message(error, cause, step.outputs))
    finally:
        log.close()


def fail(log: StepLog, message: str) -> None:
    """Write ``error: message`` to the job log and to stderr, then exit with status 1."""
    message = " ".join(message.split("\n"))
    try:
        log(f"error: {message}")
    except OSError:
        pass  # the log itself may be on the full or read-only disk
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def environment_message(error: OSError, cause: str, outputs: dict) -> str:
    """``cannot write PATH: cause`` for an OSError of the environment (disk full, read-only, denied).

    Names the file in the error, or else the job's first output. A file that is not beside an
    output (an input it could not open) is ``cannot read``.
    """
    output_paths = [str(path) for value in outputs.values() for path in (value if isinstance(value, list) else [value])]
    path = error.filename or (output_paths[0] if output_paths else None)
    if path is None:
        return f"cannot write the job's outputs: {cause}"
    folders = {Path(output).resolve().parent for output in output_paths}
    target = Path(path).resolve()
    writing = any(target == folder or target.is_relative_to(folder) for folder in folders)
    return f"{'cannot write' if writing else 'cannot read'} {_relative(path)}: {cause}"


def _relative(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def named(snakemake_files) -> dict:
    """Snakemake's named input/output lists as a plain {name: path or [paths]} dict."""
    return {name: value for name, value in snakemake_files.items()}
