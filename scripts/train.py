"""Workflow entry point: the train step of one run of a claim (memorization.experiments.<claim>.train)."""

from memorization.scripting import experiment_step, named, run_job

claim, run = snakemake.wildcards.claim, snakemake.wildcards.run
run_job(
    experiment_step(claim, "train"),
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
