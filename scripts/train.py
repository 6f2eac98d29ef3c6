"""Workflow entry point: the train step of one run of a claim (memorization.experiments.<claim>.train)."""

import functools

from memorization.scripting import experiment_step, named, run_job
from memorization.training import TrainingOptions, remove_checkpoints

claim, run = snakemake.wildcards.claim, snakemake.wildcards.run
# Checkpoints live beside the outputs but are not outputs, so Snakemake keeps them when the job
# is killed, and the rerun resumes; they are deleted once the outputs exist. Read from the
# config, not params: checkpoint and progress intervals do not change results, so changing
# them must not trigger a rerun.
options = TrainingOptions.for_job(snakemake.output.model, snakemake.config.get("training", {}))
run_job(
    functools.partial(experiment_step(claim, "train"), options=options),
    label=f"train {claim}/{run}",
    settings=snakemake.params.settings,
    runtime=snakemake.params.runtime,
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
    threads=snakemake.threads,
    uses_keras=True,
    claim=claim,
    run=run,
)
remove_checkpoints(options.checkpoint_dir)
