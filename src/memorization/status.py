"""Progress of the training jobs of one results folder, read from their logs
(``memorization status results/<scale>``).

A training job's log (``results/<scale>/logs/models/<model>/train.log``) is written by
`memorization.scripting.StepLog` and `memorization.training.ProgressReporter`:

    [2026-11-29T22:42:49+00:00] train c6-lin1-s4-L1-n1-fanin-s0-9ca030: started with 1 thread(s), backend tensorflow
    [2026-11-29T22:42:51+00:00] step 8/50  loss 4.940e-02  first chunk (compiling)
    [2026-11-29T22:42:51+00:00] step 50/50  loss 2.080e-02  322.2 steps/s  ETA 0 s
    [2026-11-29T22:42:51+00:00] train c6-lin1-s4-L1-n1-fanin-s0-9ca030: done
    [...] error: <one line>

Logs are appended to, so a rerun's lines follow the earlier run's: only the lines from the last
``started`` on count.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from memorization.errors import MemorizationError

LINE = re.compile(r"^\[(?P<time>[^\]]+)\] (?P<message>.*)$")
STARTED = re.compile(r"^(?P<label>\S+ \S+): started\b")
DONE = re.compile(r"^(?P<label>\S+ \S+): done\s*$")
STEP = re.compile(
    r"^step (?P<step>\d+)/(?P<total>\d+)\s+loss (?P<loss>\S+)"
    r"(?:\s+(?P<rate>[\d.]+) steps/s\s+ETA (?P<eta>[\d.]+) s)?"
)
ERROR = "error: "


class StatusError(MemorizationError):
    """The results folder cannot be read."""


@dataclass
class Job:
    name: str
    state: str = "running"  # running | done | failed
    step: int | None = None
    total: int | None = None
    loss: str | None = None
    rate: float | None = None
    eta_s: float | None = None
    last_update: str | None = None
    error: str | None = None


def parse_log(name: str, text: str) -> Job | None:
    """The state of one training job from its log text; None when the log has no job start."""
    lines = text.splitlines()
    start = None
    for index, line in enumerate(lines):
        match = LINE.match(line)
        if match and STARTED.match(match.group("message")):
            start = index
    if start is None:
        return None
    job = Job(name=name)
    for line in lines[start:]:
        match = LINE.match(line)
        if not match:
            continue
        message = match.group("message")
        job.last_update = match.group("time")
        if DONE.match(message):
            job.state = "done"
        elif message.startswith(ERROR):
            job.state, job.error = "failed", message[len(ERROR):]
        elif step := STEP.match(message):
            job.step, job.total, job.loss = int(step.group("step")), int(step.group("total")), step.group("loss")
            job.rate = float(step.group("rate")) if step.group("rate") else None
            job.eta_s = float(step.group("eta")) if step.group("eta") else None
        if label := STARTED.match(message):
            job.name = label.group("label").split(" ", 1)[1]
    return job


def scan(results: str | os.PathLike) -> list[Job]:
    """Every training job with a log under ``results/logs/models/``, sorted by model."""
    results = Path(results)
    logs = results / "logs"
    if not results.is_dir():
        raise StatusError(f"{results}: no such results folder")
    if not logs.is_dir():
        raise StatusError(f"{results}: no logs/ folder (has the workflow run at this scale?)")
    jobs = []
    for path in sorted(logs.glob("models/*/train.log")):
        try:
            text = path.read_text(errors="replace")
        except OSError as error:
            raise StatusError(f"{path}: cannot read ({error.strerror})") from None
        job = parse_log(path.parent.name, text)
        if job is not None:
            jobs.append(job)
    return sorted(jobs, key=lambda job: job.name)


def _age(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "-"
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return "-"
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = max(0.0, (now - then).total_seconds())
    return _duration(seconds) + " ago"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def render(jobs: list[Job], results: str | os.PathLike, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    if not jobs:
        return f"{results}: no training job has started yet\n"
    header = ["job", "state", "step", "loss", "ETA", "last log line"]
    rows = []
    for job in jobs:
        step = f"{job.step}/{job.total}" if job.step is not None else "-"
        eta = _duration(job.eta_s) if job.state == "running" else "-"
        rows.append([job.name, job.state, step, job.loss or "-", eta, _age(job.last_update, now)])
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(header), line(["-" * width for width in widths])] + [line(row) for row in rows]
    counts = {state: sum(job.state == state for job in jobs) for state in ("running", "done", "failed")}
    out.append("")
    out.append(
        f"{len(jobs)} training jobs: {counts['running']} running, {counts['done']} done, {counts['failed']} failed"
    )
    running_eta = [job.eta_s for job in jobs if job.state == "running" and job.eta_s is not None]
    if running_eta:
        out.append(f"longest ETA of the running jobs: {_duration(max(running_eta))}")
    for job in jobs:
        if job.state == "failed":
            out.append(f"failed: {job.name}: {job.error}")
    return "\n".join(out) + "\n"
