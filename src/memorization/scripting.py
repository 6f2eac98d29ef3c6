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
from memorization.errors import MemorizationError

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
    log = StepLog(log_path)
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
        log(f"error: {error}")
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        log.close()


def named(snakemake_files) -> dict:
    """Snakemake's named input/output lists as a plain {name: path or [paths]} dict."""
    return {name: value for name, value in snakemake_files.items()}
