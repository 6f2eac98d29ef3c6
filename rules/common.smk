# Configuration, validation and the helpers the other rule files share. Which claims, runs and
# models exist, and where their files live, comes from the library (memorization.registry and
# memorization.layout); the rule files only map wildcards to those paths.

import functools
import os
import sys

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


def metrics_of_claim(wildcards):
    return LAYOUT.metrics(wildcards.claim)


def source_file(path):
    """A library file as an input of a job, relative to the working directory where it lies
    inside it, so that a copied or moved checkout does not look like a changed input."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def print_plan():
    """The plan of this run (memorization plan) on stderr, before the first job starts."""
    from memorization.plan import plan_lines

    try:
        cores = workflow.cores
    except WorkflowError:
        cores = None  # a cluster run sets no total; the plan then counts this machine's cores
    try:
        lines = plan_lines(config, cores=cores, layout=LAYOUT)
    except MemorizationError as error:
        lines = [f"no plan: {error}"]
    print("\n".join(lines), file=sys.stderr, flush=True)


def all_targets(wildcards):
    return LAYOUT.all_targets()


def resource_request(step, claim, name, default=None):
    """The config's `resources.<step>.<name>` (sized per scale), or the claim's override."""
    section = config["resources"]
    override = section["claims"].get(claim, {}).get(step, {})
    return override.get(name, section[step].get(name, default))


def job_resources(step, claim=None):
    """What one job of `step` (other: summaries, figures, tables) asks its scheduler for,
    from the `claim` wildcard's overrides unless `claim` is given."""

    def request(name, default=None):
        def lookup(wildcards):
            return resource_request(
                step, claim or getattr(wildcards, "claim", None), name, default
            )

        return lookup

    return {
        "mem_mb": request("mem_mb"),
        "runtime": request("runtime"),
        "gpu": request("gpu", 0),
    }


def batch_resources(batch):
    """What a batched train or measure job asks for: memory and GPUs of one run (the runs of a
    job run one after the other), and the runtime of one run times the runs it does. Jobs of
    float64 nets (C1, C2, C6, C7) ask for no GPU: the nets are tiny, and float64 is slow on GPUs.
    """
    request = functools.partial(resource_request, batch.step, batch.group)
    return {
        "mem_mb": request("mem_mb"),
        "runtime": request("runtime") * len(batch.members),
        "gpu": 0 if LAYOUT.batch_is_float64(batch) else request("gpu", 0),
    }
