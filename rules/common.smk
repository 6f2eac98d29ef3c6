# Configuration, validation and the helpers the other rule files share.

import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from memorization.config import canonical, describe_validation_error
from memorization.scripting import experiment_step

try:
    validate(config, "../config/schema/config.schema.yaml")
except Exception as error:
    raise WorkflowError(describe_validation_error(error)) from None

SCALE = config["scale"]
RESULTS = f"results/{SCALE}"
RUNTIME = {
    "backend": config["backend"],
    "seed": config["seed"],
    "deterministic": config["deterministic"],
}
THREADS_PER_JOB = config["threads_per_job"]

# Claims present in the config, in order; each claim's rule file registers its figures.
CLAIM_IDS = [f"c{number}" for number in range(1, 11)]
CLAIMS = [claim for claim in CLAIM_IDS if claim in config]
# run key -> settings, for each claim trained by the generic rules in experiments.smk.
RUNS = {
    # Keys sorted: Snakemake compares params as text, so YAML key order must not retrain.
    claim: {
        run: canonical(settings)
        for run, settings in experiment_step(claim, "expand_runs")(
            config[claim], config["seed"]
        ).items()
    }
    for claim in CLAIMS
}
FIGURES = {}


def data_path(dataset):
    return f"{RESULTS}/data/{dataset}.npz"


def run_settings(wildcards):
    return RUNS[wildcards.claim][wildcards.run]


def run_dataset(wildcards):
    return data_path(run_settings(wildcards)["dataset"])


def metrics_of_claim(wildcards):
    return [
        f"{RESULTS}/runs/{wildcards.claim}/{run}/metrics.json"
        for run in RUNS[wildcards.claim]
    ]


def figure_files(claim):
    return [f"{RESULTS}/figures/{claim}.png", f"{RESULTS}/figures/{claim}.pdf"]


def all_targets(wildcards):
    targets = [f"{RESULTS}/claims.csv", f"{RESULTS}/claims.md"]
    targets += [f"{RESULTS}/tables/{claim}.csv" for claim in CLAIMS]
    for claim in CLAIMS:
        targets += FIGURES.get(claim, [])
    return targets


def job_resources(step, claim=None):
    """What one job of `step` (train, measure or other) asks its scheduler for.

    From the config's `resources` section (sized per scale) with the claim's overrides; the
    claim is the rule's `claim` wildcard unless given. Callables, so the one generic rule
    asks for the sizes of the claim it runs for.
    """

    def request(name, default=None):
        def lookup(wildcards):
            section = config["resources"]
            job_claim = claim or getattr(wildcards, "claim", None)
            override = section.get("claims", {}).get(job_claim, {}).get(step, {})
            return override.get(name, section[step].get(name, default))

        return lookup

    return {
        "mem_mb": request("mem_mb"),
        "runtime": request("runtime"),
        "gpu": request("gpu", 0),
    }
