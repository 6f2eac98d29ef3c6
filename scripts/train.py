"""Workflow entry point: train the models of one batch, one after the other in this process
(memorization.experiments.<experiment>.train for each; see memorization.batches)."""

from memorization.batches import remove_batch_checkpoints, train_steps
from memorization.scripting import run_steps

members = snakemake.params.steps
run_steps(
    train_steps(members, snakemake.config["training"]),
    runtime=snakemake.params.runtime,
    threads=snakemake.threads,
    uses_keras=True,
    job=snakemake.rule,
    gpus=snakemake.resources.gpu,
)
remove_batch_checkpoints(members)
