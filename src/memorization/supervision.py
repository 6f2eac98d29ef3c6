"""Keeping one training process per model, and none without its Snakemake.

A job killed with its Snakemake (``kill -9`` of the scheduler, a closed terminal) would otherwise
go on training and writing as an orphan, and a rerun would train the same model beside it from
the same checkpoint. Two guards prevent that:

- `exclusive` holds an advisory lock on ``<model dir>/.train.lock`` for the whole job, so a second
  process for the same model waits for the first to end and then fails in one line if it does not;
- `stop_when_orphaned` watches the Snakemake processes above the job and interrupts the job once
  they are gone: the checkpoint stays, no half-written output is left (outputs are written
  atomically), and a rerun resumes.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from memorization.errors import MemorizationError

LOCK_NAME = ".train.lock"
LOCK_WAIT_SECONDS = 60.0
WATCH_SECONDS = 0.5


class AlreadyRunning(MemorizationError):
    """Another process holds the training lock of this model."""


class Orphaned(MemorizationError):
    """The Snakemake process that started this job is gone."""


class _Interrupted(BaseException):
    """Raised in the main thread by the watch; a BaseException, so that no ``except Exception``
    swallows it, while every ``finally`` (temporary files of atomic writes) still runs."""


def _raise_in_thread(thread_id: int, exception: type[BaseException]) -> None:
    # Jobs are started with SIGINT ignored (the scheduler handles Ctrl-C), so
    # _thread.interrupt_main would do nothing: raise asynchronously instead.
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exception))


@contextlib.contextmanager
def exclusive(directory: str | os.PathLike, label: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold ``<directory>/.train.lock`` while the block runs; wait up to ``wait_seconds`` for a
    holder (an orphan stopping on its own), then raise `AlreadyRunning` naming its process."""
    path = Path(directory) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise AlreadyRunning(
                        f"{label}: another process (pid {holder}) is still training this model; "
                        f"wait for it to end or stop it, then rerun"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def snakemake_ancestors() -> list:
    """The Snakemake processes above this one (psutil.Process objects), nearest first."""
    import psutil

    ancestors = []
    for process in psutil.Process().parents():
        try:
            command = " ".join(process.cmdline())
        except (psutil.Error, OSError):
            continue
        if "snakemake" in command:
            ancestors.append(process)
    return ancestors


def _alive(process) -> bool:
    """Running and not a zombie (a killed parent stays a zombie until its own parent reaps it)."""
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class OrphanWatch:
    """Interrupts the main thread once any Snakemake process above this job has died."""

    def __init__(self, ancestors: list, interval: float = WATCH_SECONDS):
        self.ancestors = ancestors
        self.interval = interval
        self.gone: int | None = None
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="orphan-watch", daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            for process in self.ancestors:
                if not _alive(process):
                    self.gone = process.pid
                    _raise_in_thread(self._main, _Interrupted)
                    return

    def __enter__(self) -> "OrphanWatch":
        if self.ancestors:
            self._thread.start()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        self._stop.set()
        if kind is _Interrupted:
            raise Orphaned(
                f"the Snakemake process that started this job (pid {self.gone}) is gone; stopped "
                "training (the checkpoint is kept: rerun the same command to resume)"
            ) from None
        return False


@contextlib.contextmanager
def supervised_training(model_dir: str | os.PathLike, label: str) -> Iterator[None]:
    """One training process per model, and none that outlives its Snakemake."""
    with exclusive(model_dir, label), OrphanWatch(snakemake_ancestors()):
        yield


def supervised(task, model_dir: str | os.PathLike, label: str):
    """``task`` (a job step ``(settings, inputs, outputs, log)``) run under `supervised_training`."""

    def run(settings, inputs, outputs, log):
        with supervised_training(model_dir, label):
            return task(settings, inputs, outputs, log)

    return run
