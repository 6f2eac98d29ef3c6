"""Workflow entry point: train one model (memorization.experiments.<its experiment>.train)."""

import functools

from memorization.scripting import experiment_step, named, run_job
from memorization.supervision import supervised
from memorization.training import TrainingOptions, remove_checkpoints

model = snakemake.wildcards.model
settings = snakemake.params.settings
# Checkpoints live beside the outputs but are not outputs, so Snakemake keeps them when the job
# is killed, and the rerun resumes; they are deleted once the outputs exist. Read from the
# config, not params: checkpoint and progress intervals do not change results, so changing
# them must not trigger a rerun.
options = TrainingOptions.for_job(snakemake.output.model, snakemake.config["training"])
# One process per model, and none that outlives its Snakemake (see memorization.supervision).
train = functools.partial(experiment_step(settings["claim"], "train"), options=options)
run_job(
    supervised(train, options.checkpoint_dir.parent, f"train {model}"),
    label=f"train {model}",
    settings=settings,
    runtime=snakemake.params.runtime,
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
    threads=snakemake.threads,
    uses_keras=True,
    claim=settings["claim"],
    run=model,
)
remove_checkpoints(options.checkpoint_dir)
