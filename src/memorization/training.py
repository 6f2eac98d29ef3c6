"""The one training engine: full-batch training to a loss threshold or a step cap.

Every claim trains through `fit_full_batch`. The whole training set is one batch, as in the
paper; many optimizer steps run per call into Keras so that the host round trip is paid once
per chunk, not once per step.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from memorization.errors import TrainingDivergedError


@dataclass
class TrainResult:
    steps: int
    final_loss: float
    reached_threshold: bool
    loss_threshold: float
    max_steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)

    @property
    def stopped_at_cap(self) -> bool:
        return not self.reached_threshold

    def summary(self) -> dict:
        summary = asdict(self)
        summary.pop("history")
        summary["stopped_at_cap"] = self.stopped_at_cap
        return summary


class ProgressReporter:
    """Prints step, loss, steps/s and ETA at most every ``interval`` seconds."""

    def __init__(self, total_steps: int, log: Callable[[str], None], interval: float = 10.0):
        self.total_steps = total_steps
        self.log = log
        self.interval = interval
        self.start = time.perf_counter()
        self.last = -math.inf
        self.last_step = -1

    def update(self, step: int, loss: float, force: bool = False) -> None:
        now = time.perf_counter()
        if step == self.last_step or (not force and now - self.last < self.interval):
            return
        self.last, self.last_step = now, step
        elapsed = now - self.start
        rate = step / elapsed if elapsed > 0 else float("nan")
        eta = (self.total_steps - step) / rate if rate > 0 else float("nan")
        self.log(f"step {step}/{self.total_steps}  loss {loss:.3e}  {rate:.1f} steps/s  ETA {eta:.0f} s")


def fit_full_batch(
    model,
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    optimizer,
    max_steps: int,
    loss_threshold: float = 0.0,
    steps_per_chunk: int = 100,
    run_name: str = "run",
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Minimise the mean squared error of ``model(inputs)`` against ``targets``, full batch.

    Stops when the loss over a chunk of steps falls below ``loss_threshold`` or after
    ``max_steps`` steps; which one happened is recorded, never assumed. A non-finite loss
    raises `TrainingDivergedError` naming ``run_name``.
    """
    n = len(inputs)
    chunk = max(1, min(steps_per_chunk, max_steps))
    # Repeating the batch ``chunk`` times makes one fit() epoch run ``chunk`` full-batch steps.
    tiled_inputs = np.concatenate([inputs] * chunk)
    tiled_targets = np.concatenate([targets] * chunk)
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=chunk)

    progress = ProgressReporter(max_steps, log)
    history: list[dict] = []
    steps, loss = 0, math.inf
    start = time.perf_counter()
    while steps < max_steps:
        todo = min(chunk, max_steps - steps)
        fitted = model.fit(
            tiled_inputs[: todo * n],
            tiled_targets[: todo * n],
            batch_size=n,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        steps += todo
        loss = float(fitted.history["loss"][-1])
        history.append({"step": steps, "loss": loss, "seconds": time.perf_counter() - start})
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"training of {run_name} diverged at step {steps} (loss {loss}); "
                "lower the learning rate or change the initializer"
            )
        progress.update(steps, loss)
        if loss < loss_threshold:
            break
    progress.update(steps, loss, force=True)
    return TrainResult(
        steps=steps,
        final_loss=loss,
        reached_threshold=loss < loss_threshold,
        loss_threshold=loss_threshold,
        max_steps=max_steps,
        seconds=time.perf_counter() - start,
        history=history,
    )
