"""Workflow entry point: the Snakemake HTML report of this scale (`snakemake --report` for the
current config), so that the archive can hold it."""

from memorization.reporting import snakemake_report
from memorization.scripting import named, run_job

run_job(
    lambda settings, inputs, outputs, log: snakemake_report(
        settings["snakefile"], inputs["config"], outputs["html"], log
    ),
    label="html_report",
    settings={"snakefile": snakemake.params.snakefile},
    runtime={},
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
)
