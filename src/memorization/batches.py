"""Batched jobs: the models (train) or runs (measure) that one workflow job does in one process.

`memorization.layout.Layout` cuts each claim's models and runs into batches
(``resources.<step>.runs_per_job``) and the rule files make one job per batch. The job's script
turns the batch's members into `memorization.scripting.Step` objects here and runs them one after
the other, so the start-up of Python, the backend and its compiler is paid once per job, while
every model and run keeps its own outputs, log, seed and provenance record.

A batch that is killed or fails part-way keeps each model it finished under
``models/<model>/checkpoint/finished/`` (hard links to its outputs; the checkpoint folder is not
an output, so Snakemake leaves it alone). The rerun of the batch restores those models instead of
training them again, resumes the one that was cut off from its checkpoint, and deletes the
checkpoint folders once every output of the job is written.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from memorization import files
from memorization.scripting import Step, experiment_step
from memorization.supervision import supervised
from memorization.training import TrainingOptions, remove_checkpoints

FINISHED = "finished"


def train_steps(members: list[dict], training: dict) -> list[Step]:
    """One training step per model of the batch (``members`` from `Layout.batch_steps`)."""
    steps = []
    for member in members:
        key, settings, outputs = member["model"], member["settings"], member["outputs"]
        # Checkpoint and progress intervals come from the config's `training:` section, not from
        # params: they do not change results, so changing them must not retrain anything.
        options = TrainingOptions.for_job(outputs["model"], training)
        train = functools.partial(experiment_step(settings["claim"], "train"), options=options)
        label = f"train {key}"
        steps.append(
            Step(
                # One process per model, and none that outlives its Snakemake (memorization.supervision).
                task=supervised(train, options.checkpoint_dir.parent, label),
                label=label,
                settings=settings,
                inputs=member["inputs"],
                outputs=outputs,
                log_path=member["log"],
                claim=settings["claim"],
                run=key,
                restore=functools.partial(restore_finished, options.checkpoint_dir, outputs),
                finish=functools.partial(keep_finished, options.checkpoint_dir, outputs),
            )
        )
    return steps


def measure_steps(members: list[dict]) -> list[Step]:
    """One measurement step per run of the batch (``members`` from `Layout.batch_steps`)."""
    return [
        Step(
            task=experiment_step(member["claim"], "measure"),
            label=f"measure {member['claim']}/{member['run']}",
            settings=member["settings"],
            inputs=member["inputs"],
            outputs=member["outputs"],
            log_path=member["log"],
            claim=member["claim"],
            run=member["run"],
        )
        for member in members
    ]


def keep_finished(checkpoint_dir: Path, outputs: dict) -> None:
    """Keep a finished model's outputs beside its checkpoint until the whole batch is done, and
    drop its training checkpoints, which are no longer needed."""
    finished = Path(checkpoint_dir) / FINISHED
    for entry in Path(checkpoint_dir).glob("*"):
        if entry.name != FINISHED:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    finished.mkdir(parents=True, exist_ok=True)
    for path in outputs.values():
        target = finished / Path(path).name
        with files.atomic_output(target) as temporary:
            temporary.unlink()
            os.link(path, temporary)


def restore_finished(checkpoint_dir: Path, outputs: dict) -> bool:
    """Put back the outputs of a model that an earlier, interrupted run of this batch finished;
    False (nothing restored) unless all of them are there."""
    finished = Path(checkpoint_dir) / FINISHED
    kept = {name: finished / Path(path).name for name, path in outputs.items()}
    if not all(path.is_file() for path in kept.values()):
        return False
    for name, path in outputs.items():
        with files.atomic_output(path) as temporary:
            temporary.unlink()
            os.link(kept[name], temporary)
    return True


def remove_batch_checkpoints(members: list[dict]) -> None:
    """Delete the checkpoint folders of a batch whose outputs are all written."""
    for member in members:
        remove_checkpoints(TrainingOptions.for_job(member["outputs"]["model"], {}).checkpoint_dir)
