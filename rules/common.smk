# Configuration, validation and the helpers the other rule files share. Which claims, runs and
# models exist, and where their files live, comes from the library (memorization.registry and
# memorization.layout); the rule files only map wildcards to those paths.

import os

from snakemake.exceptions import WorkflowError

from memorization.config import fill_defaults, read_config_file
from memorization.errors import MemorizationError
from memorization.layout import Layout
from memorization.registry import CLAIMS_CATEGORY

try:
    # Duplicate keys, which YAML would silently resolve to the last one, stop the run.
    for configfile_path in workflow.configfiles:
        read_config_file(configfile_path)
    # Every default of the schema is filled in here, inside claim sections too, so the library
    # reads complete settings and holds no second copy of a default.
    fill_defaults(config, f"{workflow.basedir}/config/schema/config.schema.yaml")
    LAYOUT = Layout(config)
except MemorizationError as error:
    raise WorkflowError(str(error)) from None

SCALE = LAYOUT.scale
RESULTS = LAYOUT.results
CLAIMS = LAYOUT.claim_ids
RUNTIME = {
    "backend": config["backend"],
    "seed": config["seed"],
    "deterministic": config["deterministic"],
}
THREADS_PER_JOB = config["threads_per_job"]


def model_settings(wildcards):
    return LAYOUT.models[wildcards.model]


def model_dataset(wildcards):
    return LAYOUT.model_dataset(wildcards.model)


def run_settings(wildcards):
    return LAYOUT.runs[wildcards.claim][wildcards.run]


def run_dataset(wildcards):
    return LAYOUT.run_dataset(wildcards.claim, wildcards.run)


def run_model_file(name):
    """Input function: file ``name`` of the model that run ``{claim}/{run}`` measures."""

    def path(wildcards):
        return f"{LAYOUT.model_of(wildcards.claim, wildcards.run)}/{name}"

    return path


def metrics_of_claim(wildcards):
    return LAYOUT.metrics(wildcards.claim)


def source_file(path):
    """A library file as an input of a job, relative to the working directory where it lies
    inside it, so that a copied or moved checkout does not look like a changed input."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def all_targets(wildcards):
    return LAYOUT.all_targets()


def job_resources(step, claim=None):
    """What one job of `step` (train, measure or other) asks its scheduler for.

    From the config's `resources` section (sized per scale) with the claim's overrides; the
    claim is the rule's `claim` wildcard, or for a `model` wildcard the experiment that trains
    it (`fc` for the deep models that C3, C4, C5 and C10 share), unless given.
    """

    def job_claim(wildcards):
        if claim:
            return claim
        if hasattr(wildcards, "claim"):
            return wildcards.claim
        if hasattr(wildcards, "model"):
            return LAYOUT.models[wildcards.model]["claim"]
        return None

    def request(name, default=None):
        def lookup(wildcards):
            section = config["resources"]
            override = section["claims"].get(job_claim(wildcards), {}).get(step, {})
            return override.get(name, section[step].get(name, default))

        return lookup

    return {
        "mem_mb": request("mem_mb"),
        "runtime": request("runtime"),
        "gpu": request("gpu", 0),
    }
