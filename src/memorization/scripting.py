"""The bridge between a workflow step and the library: logging, runtime setup, clean failure.

Scripts under ``scripts/`` hand their Snakemake inputs, outputs and params to `run_step`, so
every step logs, seeds, limits threads and reports errors the same way. This module never
imports Snakemake: it receives plain paths and dictionaries.
"""

from __future__ import annotations

import importlib
import sys
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
    """Run ``task(settings, inputs, outputs, log)`` as one workflow job.

    Sets up the runtime first when the task uses Keras, writes a provenance record when the
    job declares a ``provenance`` output, and turns a `MemorizationError` into its one-line
    message on stderr with exit status 1, so Snakemake removes the job's outputs and shows
    the cause.
    """
    try:
        log = StepLog(log_path)
    except OSError as error:
        cause = environment_cause(error)
        if cause is None:
            raise
        print(f"error: cannot write {_relative(error.filename or log_path)}: {cause}", file=sys.stderr, flush=True)
        sys.exit(1)
    started = provenance.now()
    try:
        if uses_keras:
            from memorization.runtime import configure

            configure(
                backend=runtime["backend"],
                threads=threads,
                seed=int(settings.get("seed", runtime.get("seed", 0))),
                float_dtype=settings.get("float_dtype", "float32"),
                deterministic=runtime.get("deterministic", True),
            )
        log(f"{label}: started with {threads} thread(s), backend {runtime.get('backend')}")
        extra = task(settings, inputs, outputs, log) or {}
        if "provenance" in outputs:
            record = provenance.collect(
                step=label,
                claim=claim,
                run=run,
                settings=settings,
                inputs=inputs,
                started=started,
                extra=extra,
                runtime=runtime,
            )
            files.write_json(outputs["provenance"], record)
        log(f"{label}: done")
    except MemorizationError as error:
        fail(log, str(error))
    except OSError as error:
        # A full disk, a read-only or forbidden results folder: no code can fix it, so one line.
        cause = environment_cause(error)
        if cause is None:
            raise
        fail(log, environment_message(error, cause, outputs))
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
