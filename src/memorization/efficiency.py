"""How much of a finished scale's job time went into the work itself.

Reads the benchmark file of every job (``benchmarks/**/*.tsv``: wall seconds per job) and the
records of every model and run: ``training.json`` (seconds inside the training loop) and each
run's ``metrics.provenance.json`` (seconds of its measure step: loading the model and measuring),
whose ``job`` field names the job that did it.
Efficiency is (training-loop seconds + measure-step seconds) / summed wall seconds of the train
and measure jobs; what is left is start-up (Python, the backend, its compiler), data loading
and model building. ``memorization efficiency results/<scale>`` prints it.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from memorization.errors import MemorizationError


class EfficiencyError(MemorizationError):
    """The folder holds no finished run to account for."""


@dataclass
class StepTotals:
    jobs: int = 0
    job_seconds: float = 0.0
    work_seconds: float = 0.0
    overheads: list[float] = field(default_factory=list)  # per job: wall - work

    @property
    def share(self) -> float:
        return self.work_seconds / self.job_seconds if self.job_seconds else float("nan")


def _job_seconds(path: Path) -> float:
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    return float(rows[-1]["s"])


def _read_json(path: Path) -> dict:
    with open(path) as stream:
        return json.load(stream)


def account(results: Path) -> dict[str, StepTotals]:
    """Totals per step (``train``, ``measure``, ``other``) of the jobs under ``results``.

    Batched jobs (``benchmarks/jobs/<job>.tsv``) find their members through the ``job`` field of
    each member's provenance record; jobs of one model or run (the layout before batching:
    ``benchmarks/models/<model>/train.tsv``, ``benchmarks/<claim>/measure/<run>.tsv``) by path.
    """
    results = Path(results)
    benchmarks = sorted((results / "benchmarks").rglob("*.tsv"))
    if not benchmarks:
        raise EfficiencyError(f"{results}: no job benchmarks under benchmarks/; run the workflow first")
    work_by_job: dict[str, float] = {}
    for path in (results / "models").glob("*/provenance.json"):
        training = _read_json(path.parent / "training.json")
        job = _read_json(path).get("job") or f"models/{path.parent.name}/train"
        work_by_job[job] = work_by_job.get(job, 0.0) + float(training["result"]["seconds"])
    for path in (results / "runs").glob("*/*/metrics.provenance.json"):
        record = _read_json(path)
        job = record.get("job") or f"{path.parent.parent.name}/measure/{path.parent.name}"
        work_by_job[job] = work_by_job.get(job, 0.0) + float(record["duration_s"])
    totals = {step: StepTotals() for step in ("train", "measure", "other")}
    for path in benchmarks:
        relative = path.relative_to(results / "benchmarks").with_suffix("").as_posix()
        job = path.stem if relative.startswith("jobs/") else relative
        if job.startswith(("train_", "measure_")):
            step = job.split("_", 1)[0]
        elif relative.startswith("models/") or "/measure/" in relative:
            step = "train" if relative.startswith("models/") else "measure"
        else:
            step = "other"
        entry = totals[step]
        seconds = _job_seconds(path)
        entry.jobs += 1
        entry.job_seconds += seconds
        if step != "other":
            work = work_by_job.get(job, 0.0)
            entry.work_seconds += work
            entry.overheads.append(seconds - work)
    return totals


def render(totals: dict[str, StepTotals], results: Path) -> str:
    lines = [f"Workflow efficiency of {results}", ""]
    lines.append(f"{'step':<8} {'jobs':>5} {'job s':>9} {'work s':>9} {'work share':>10} {'median start-up s':>18}")
    for step, entry in totals.items():
        overhead = f"{statistics.median(entry.overheads):.1f}" if entry.overheads else "-"
        work = f"{entry.work_seconds:.0f}" if step != "other" else "-"
        share = f"{entry.share:.0%}" if step != "other" else "-"
        lines.append(f"{step:<8} {entry.jobs:>5} {entry.job_seconds:>9.0f} {work:>9} {share:>10} {overhead:>18}")
    keras = [totals["train"], totals["measure"]]
    job_seconds = sum(entry.job_seconds for entry in keras)
    work_seconds = sum(entry.work_seconds for entry in keras)
    if job_seconds:
        lines += ["", f"train + measure: {work_seconds:.0f} s of work in {job_seconds:.0f} s of job time "
                      f"({work_seconds / job_seconds:.0%}); every job: {sum(e.jobs for e in totals.values())} jobs, "
                      f"{sum(e.job_seconds for e in totals.values()):.0f} s"]
    return "\n".join(lines) + "\n"
