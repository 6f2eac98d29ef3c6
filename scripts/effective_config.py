"""Workflow entry point: the exact, validated config of this run (defaults filled in), as YAML."""

from memorization.reporting import write_config
from memorization.scripting import named, run_job

run_job(
    lambda settings, inputs, outputs, log: write_config(settings, outputs["config"]),
    label="effective_config",
    settings=snakemake.params.config,
    runtime={},
    inputs={},
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
)
