"""A plan before the run: per claim, the runs, the jobs, the work and an estimated wall time.

``memorization plan --configfile config/quick.yaml`` prints it, and the workflow prints the same
lines when it starts. The estimate is built from three measured things:

- **floating-point work** of every model, from its settings: multiply-adds per example of the
  MLP or conv net (`macs_per_example`), times 6 per training example per step (forward pass,
  and twice that for the backward pass), times the expected steps;
- **a calibration** (``plan_calibration.json`` beside this module, or one given with
  ``--calibration``), which `calibrate` derives from a finished scale's own records: per model
  family the seconds per step at a given work per step (a fixed cost per step plus work at a
  fitted rate) and the share of ``max_steps`` that runs really take (most stop at their loss
  threshold), per claim the seconds of a measure step, and the start-up of one job;
- **this machine's speed**, from a matmul timed when the plan runs (a fraction of a second),
  against the same matmul timed on the calibration machine, so a faster machine gets a shorter
  estimate.

The wall time assumes the jobs are spread over the cores (``--cores``, default: this machine's)
with the longest job as a lower bound. It is an estimate, good to a factor of about two at the
calibrated scale and rougher when it extrapolates (paper scale); README, "Plan before the run".
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memorization.errors import MemorizationError

CALIBRATION = Path(__file__).with_name("plan_calibration.json")
IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
# Forward multiply-adds count 2 FLOPs; a training step adds a backward pass of about twice that.
FLOPS_PER_MAC_TRAINING = 6
MATMUL_SIDE = 512
# Share of the one-thread matmul rate that a family is assumed to reach when its calibration
# has one size of net only (then the fixed cost per step and the rate cannot both be fitted).
ASSUMED_EFFICIENCY = 0.5


class PlanError(MemorizationError):
    """A plan cannot be made (no calibration, unreadable records)."""


# --- work of a model ----------------------------------------------------------------------


def image_shape(settings: dict) -> tuple[int, int, int]:
    height, width, channels = IMAGE_SHAPES.get(settings["dataset"], (28, 28, 1))
    side = settings.get("side")
    if side:
        return side, side, channels if settings["claim"] == "c8" else 1
    return height, width, channels


def _conv_stack_macs(side: int, channels_in: int, channels: int, stages: int) -> float:
    """Stride-2 convolutions down to side / 2**stages, as many 3x3 convolutions back up after
    upsampling, and a last 3x3 convolution to the input's channels."""
    macs, current_in = 0.0, channels_in
    for stage in range(1, stages + 1):
        macs += 9 * current_in * channels * (side / 2**stage) ** 2
        current_in = channels
    for stage in range(stages - 1, -1, -1):
        macs += 9 * channels * channels * (side / 2**stage) ** 2
    return macs + 9 * channels * channels_in * side**2


def macs_per_example(settings: dict) -> float:
    """Multiply-adds of one forward pass of the model these settings build, per example."""
    family = settings["claim"]
    height, width, channels = image_shape(settings)
    features = height * width * channels
    if family in ("fc", "c9"):
        width_ = settings["width"]
        return features * width_ * 2 + (settings["depth"] - 1) * width_**2
    if family in ("c1", "c2"):
        return float(features**2)
    if family == "c6":
        return 9.0 * settings["depth"] * height * width
    if family in ("c7", "c8"):
        return _conv_stack_macs(height, channels, settings["channels"], settings["stages"])
    raise PlanError(f"no work estimate for models of {family!r}")


def examples_per_step(settings: dict) -> int:
    return int(settings.get("n_train", settings.get("n", 1)))


def max_steps(settings: dict) -> int:
    if "max_steps" in settings:
        return int(settings["max_steps"])
    for key in ("optimizer", "optimizer_settings"):
        value = settings.get(key)
        if isinstance(value, dict) and "max_steps" in value:
            return int(value["max_steps"])
    raise PlanError(f"no max_steps in the settings of a {settings['claim']} model")


def flops_per_step(settings: dict) -> float:
    return FLOPS_PER_MAC_TRAINING * macs_per_example(settings) * examples_per_step(settings)


# --- this machine ---------------------------------------------------------------------------


MATMUL_SCRIPT = """
import sys, time
import numpy as np
side, seconds = int(sys.argv[1]), float(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((side, side)).astype(np.float32)
b = rng.standard_normal((side, side)).astype(np.float32)
a @ b
best, deadline = float("inf"), time.perf_counter() + seconds
while time.perf_counter() < deadline:
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)
print(2 * side**3 / best)
"""


def matmul_rate(seconds: float = 0.3) -> float:
    """FLOP/s of a float32 matmul on one thread of this machine (best of a short loop), the
    speed of a workflow job (threads_per_job: 1); in a child process, whose BLAS starts with
    one thread."""
    import subprocess
    import sys

    environment = {**os.environ, **{name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    result = subprocess.run(
        [sys.executable, "-c", MATMUL_SCRIPT, str(MATMUL_SIDE), str(seconds)],
        capture_output=True, text=True, env=environment, timeout=60,
    )
    if result.returncode != 0:
        raise PlanError(f"could not time a matmul on this machine: {result.stderr.strip()[-200:]}")
    return float(result.stdout.strip())


def detect_gpu() -> str | None:
    """The first NVIDIA GPU's name, or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    import subprocess

    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line for line in listing.stdout.splitlines() if line.startswith("GPU")]
    return lines[0].split(":", 1)[1].split("(")[0].strip() if lines else None


# --- calibration ----------------------------------------------------------------------------


def _read_json(path: Path) -> dict:
    with open(path) as stream:
        return json.load(stream)


def calibrate(results: Path) -> dict:
    """A calibration from a finished scale: its models' steps and seconds, its measure steps,
    its jobs' start-up, and this machine's matmul rate (the reference for other machines)."""
    from memorization.efficiency import account

    results = Path(results)
    per_family: dict[str, list[tuple[float, float, float]]] = {}
    for path in sorted((results / "models").glob("*/provenance.json")):
        settings = _read_json(path)["config"]
        result = _read_json(path.parent / "training.json")["result"]
        if not result["steps"] or result.get("resumed_from_step"):
            continue
        per_family.setdefault(settings["claim"], []).append(
            (flops_per_step(settings), result["seconds"] / result["steps"], result["steps"] / max_steps(settings))
        )
    if not per_family:
        raise PlanError(f"{results}: no finished models to calibrate from")
    machine = matmul_rate(1.0)
    families = {}
    for family, rows in per_family.items():
        work = np.array([row[0] for row in rows])
        seconds = np.array([row[1] for row in rows])
        # seconds per step = fixed cost per step + work / rate. Fitted where the family has nets
        # of several sizes; otherwise the rate is taken as ASSUMED_EFFICIENCY of the matmul rate
        # (or what the net really reached, if more) and the rest of the step is fixed cost.
        slope, intercept = (np.polyfit(work, seconds, 1) if len(set(work.tolist())) > 2 else (0.0, -1.0))
        if slope > 0 and intercept >= 0:
            rate, overhead = float(1 / slope), float(intercept)
        else:
            rate = max(ASSUMED_EFFICIENCY * machine, float(np.max(work / seconds)))
            overhead = float(np.median(np.maximum(seconds - work / rate, 0.0)))
        families[family] = {
            "models": len(rows),
            "rate_flops": rate,
            "step_overhead_s": overhead,
            "steps_fraction": float(statistics.median(row[2] for row in rows)),
        }
    measure: dict[str, list[tuple[float, float]]] = {}
    for path in sorted((results / "runs").glob("*/*/metrics.provenance.json")):
        record = _read_json(path)
        settings = record["config"]
        model = settings.get("model", settings)
        measure.setdefault(path.parent.parent.name, []).append((record["duration_s"], macs_per_example(model)))
    totals = account(results)
    startups = totals["train"].overheads + totals["measure"].overheads
    return {
        "source": str(results),
        "created": time.strftime("%Y-%m-%d"),
        "machine_matmul_flops": machine,
        "startup_s": float(statistics.median(startups)) if startups else 0.0,
        "families": families,
        "measure": {
            claim: {
                "runs": len(rows),
                "seconds_per_run": float(statistics.mean(row[0] for row in rows)),
                "macs_per_example": float(statistics.mean(row[1] for row in rows)),
            }
            for claim, rows in measure.items()
        },
    }


def load_calibration(path: Path | None = None) -> dict:
    path = Path(path) if path else CALIBRATION
    try:
        return _read_json(path)
    except FileNotFoundError:
        raise PlanError(f"no plan calibration at {path}; make one with `memorization plan --calibrate results/<scale>`") from None


# --- the plan -------------------------------------------------------------------------------


@dataclass
class ClaimPlan:
    claim: str
    runs: int = 0
    models: int = 0
    train_jobs: int = 0
    measure_jobs: int = 0
    flops: float = 0.0
    seconds: float = 0.0
    longest_job_s: float = 0.0


def model_seconds(settings: dict, calibration: dict, speed: float) -> float:
    family = calibration["families"].get(settings["claim"])
    if family is None:
        raise PlanError(f"the calibration has no models of {settings['claim']!r}")
    steps = max_steps(settings) * family["steps_fraction"]
    per_step = family["step_overhead_s"] + flops_per_step(settings) / family["rate_flops"]
    return steps * per_step / speed


def run_seconds(claim: str, settings: dict, calibration: dict, speed: float) -> float:
    entry = calibration["measure"].get(claim)
    if entry is None:
        raise PlanError(f"the calibration has no measure steps of {claim!r}")
    model = settings.get("model", settings)
    # Measuring scales with the net's size: Jacobians, iterations and noisy copies all run it.
    scale = max(1.0, macs_per_example(model) / entry["macs_per_example"])
    return entry["seconds_per_run"] * scale / speed


def make_plan(layout, calibration: dict, speed: float = 1.0) -> dict[str, ClaimPlan]:
    """Per claim (and ``fc``, the shared deep nets): runs, models, jobs, FLOPs and job seconds."""
    plans: dict[str, ClaimPlan] = {}
    startup = calibration["startup_s"] / speed
    for batch in layout.train_batches:
        plan = plans.setdefault(batch.group, ClaimPlan(batch.group))
        seconds = startup + sum(model_seconds(layout.models[key], calibration, speed) for key in batch.members)
        plan.models += len(batch.members)
        plan.train_jobs += 1
        plan.flops += sum(
            flops_per_step(layout.models[key]) * max_steps(layout.models[key])
            * calibration["families"][layout.models[key]["claim"]]["steps_fraction"]
            for key in batch.members
        )
        plan.seconds += seconds
        plan.longest_job_s = max(plan.longest_job_s, seconds)
    for batch in layout.measure_batches:
        plan = plans.setdefault(batch.group, ClaimPlan(batch.group))
        seconds = startup + sum(run_seconds(claim, layout.runs[claim][run], calibration, speed) for claim, run in batch.members)
        plan.runs += len(batch.members)
        plan.measure_jobs += 1
        plan.seconds += seconds
        plan.longest_job_s = max(plan.longest_job_s, seconds)
    return plans


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(layout, plans: dict[str, ClaimPlan], *, cores: int, gpu: str | None, speed: float, other_jobs: int) -> list[str]:
    order = sorted(plans, key=lambda name: (not name.startswith("c"), int(name[1:]) if name[1:].isdigit() else 99, name))
    lines = [
        f"Plan of the {layout.scale} scale: {sum(p.runs for p in plans.values())} runs, "
        f"{sum(p.models for p in plans.values())} models to train, "
        f"{sum(p.train_jobs + p.measure_jobs for p in plans.values()) + other_jobs} jobs",
        f"{'claim':<6} {'runs':>5} {'models':>6} {'train jobs':>10} {'measure jobs':>12} {'GFLOP':>10} {'job time':>9}",
    ]
    for name in order:
        plan = plans[name]
        lines.append(
            f"{name:<6} {plan.runs:>5} {plan.models:>6} {plan.train_jobs:>10} {plan.measure_jobs:>12} "
            f"{plan.flops / 1e9:>10.0f} {_duration(plan.seconds):>9}"
        )
    total = sum(plan.seconds for plan in plans.values())
    longest = max((plan.longest_job_s for plan in plans.values()), default=0.0)
    wall = max(total / cores, longest)
    hardware = f"{cores} core(s)" + (f", GPU {gpu}" if gpu else ", no GPU")
    lines.append(
        f"estimated wall time on this machine ({hardware}, {speed:.2f}x the calibration machine's matmul speed): "
        f"about {_duration(wall)} ({_duration(total)} of job time on {cores} core(s); longest job {_duration(longest)})"
    )
    if gpu:
        lines.append("GPU jobs are estimated at CPU speed: the calibration holds no GPU measurements (README, GPU)")
    if layout.scale == "paper" and not gpu:
        lines.append(
            "warning: the paper scale on a machine without a GPU takes days; for a first run use "
            "--configfile config/quick.yaml"
        )
    return lines


def plan_lines(config: dict, *, cores: int | None = None, calibration_path: Path | None = None, layout=None) -> list[str]:
    """The plan of a validated config (defaults filled), as printed."""
    from memorization.layout import Layout

    layout = layout or Layout(config)
    calibration = load_calibration(calibration_path)
    speed = matmul_rate() / calibration["machine_matmul_flops"]
    cores = cores or len(os.sched_getaffinity(0))
    plans = make_plan(layout, calibration, speed)
    # Per claim: summarize, provenance index, figure; and the data sets, claims table, report.
    other_jobs = 3 * len(layout.claim_ids) + len({model["dataset"] for model in layout.models.values()}) + 1
    return render(layout, plans, cores=cores, gpu=detect_gpu(), speed=speed, other_jobs=other_jobs)
