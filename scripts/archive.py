"""Workflow entry point: pack this scale's results, report, config and provenance into
results/<scale>/archive.tar.gz with SHA256SUMS and RO-Crate metadata."""

from memorization.reporting import archive_results
from memorization.scripting import named, run_job

run_job(
    lambda settings, inputs, outputs, log: archive_results(
        inputs=inputs, output=outputs["archive"], log=log, **settings
    ),
    label="archive",
    settings={
        "results": snakemake.params.results,
        "scale": snakemake.params.scale,
        "basedir": snakemake.params.basedir,
        "sources": snakemake.params.sources,
    },
    runtime={},
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
)
