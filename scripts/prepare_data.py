"""Workflow entry point: load, validate and write one data set."""

from memorization import data
from memorization.scripting import named, run_job


def prepare(settings, inputs, outputs, log):
    summary = data.prepare(settings["dataset"], settings["mirror"], outputs["data"])
    log(f"prepared {summary}")
    return {"data": summary}


run_job(
    prepare,
    label=f"prepare_data {snakemake.wildcards.dataset}",
    # The mirror is read here, not passed as a param: where identical, validated data comes
    # from must not make Snakemake retrain everything downstream.
    settings={"dataset": snakemake.wildcards.dataset, "mirror": data.resolve_mirror(snakemake.config.get("data_mirror"))},
    runtime=snakemake.params.runtime,
    inputs=named(snakemake.input),
    outputs=named(snakemake.output),
    log_path=snakemake.log[0],
)
