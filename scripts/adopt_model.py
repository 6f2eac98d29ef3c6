"""Workflow entry point: a claim's run adopts the files of the shared model it measures."""

from memorization.experiments.fc import adopt_model
from memorization.scripting import run_job

claim, run = snakemake.wildcards.claim, snakemake.wildcards.run
# The adopted provenance.json is the training job's own record, so no new one is written here.
run_job(
    adopt_model,
    label=f"adopt {claim}/{run}",
    settings={},
    runtime={},
    inputs={"files": list(snakemake.input.files)},
    outputs={"files": list(snakemake.output)},
    log_path=snakemake.log[0],
    claim=claim,
    run=run,
)
