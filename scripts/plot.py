"""Workflow entry point: one claim's figure (memorization.plotting.<claim>.draw), drawn from its
saved table, claims row and example arrays, never from a model."""

from memorization.plotting import render
from memorization.scripting import named, run_job

claim = snakemake.params.claim
run_job(
    lambda settings, inputs, outputs, log: render(claim, inputs, outputs, settings),
    label=f"plot {claim}",
    settings=snakemake.params.settings,
    runtime={},
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
    claim=claim,
)
