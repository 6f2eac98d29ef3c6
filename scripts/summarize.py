"""Workflow entry point: a claim's tidy table and claims row from its runs' metrics."""

from memorization.scripting import experiment_step, named, run_job

claim = snakemake.wildcards.claim
run_job(
    experiment_step(claim, "summarize"),
    label=f"summarize {claim}",
    settings=snakemake.params.settings,
    runtime=snakemake.params.runtime,
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
    claim=claim,
)
