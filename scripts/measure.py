"""Workflow entry point: measure the runs of one batch, one after the other in this process
(memorization.experiments.<claim>.measure for each; see memorization.batches)."""

from memorization.batches import measure_steps
from memorization.scripting import run_steps

run_steps(
    measure_steps(snakemake.params.steps),
    runtime=snakemake.params.runtime,
    threads=snakemake.threads,
    uses_keras=True,
    job=snakemake.rule,
    gpus=snakemake.resources.gpu,
)
