"""Where every file of a scale lives, and which runs and models a config asks for.

The rule files only map wildcards to the paths named here, so the wiring is one testable
object rather than string templates spread over `.smk` files::

    results/<scale>/data/<dataset>.npz
    results/<scale>/models/<model>/model.keras, history.csv, training.json, provenance.json
    results/<scale>/runs/<claim>/<run>/metrics.json, examples.npz, metrics.provenance.json
    results/<scale>/tables/<claim>.csv, claims/<claim>.csv, figures/<claim>.png|pdf

A run measures exactly one model. Runs of the deep fully connected claims name a shared model
(``model_key`` and ``model`` in their settings), so every distinct net is trained once and
measured by each claim that needs it; every other run trains a model of its own, keyed
``<claim>-<run>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from memorization import registry
from memorization.config import canonical
from memorization.errors import ConfigError

MODEL_FILES = ("model.keras", "history.csv", "training.json", "provenance.json")
# What the archive keeps of each model (the weights only on request) and of each run.
MODEL_RECORDS = ("provenance.json", "training.json", "history.csv")
RUN_FILES = ("metrics.json", "metrics.provenance.json", "examples.npz")


def model_of_run(claim_id: str, run: str, settings: dict) -> tuple[str, dict]:
    """(model key, model settings) of the model a run measures; ``settings["claim"]`` of the
    model names the experiment module whose ``train`` fits it."""
    if "model_key" in settings:
        return settings["model_key"], settings["model"]
    return f"{claim_id}-{run}", settings


@dataclass(frozen=True)
class Batch:
    """Several models (step ``train``) or runs (step ``measure``) done by one job, in one process.

    ``name`` is the job's rule name, e.g. ``train_fc_02``; ``members`` are model keys for
    ``train`` and ``(claim, run)`` pairs for ``measure``; ``group`` is the experiment (for
    ``train``: the module that trains the models, ``fc`` for the shared deep nets) or claim.
    """

    name: str
    step: str
    group: str
    members: tuple


def chunked(members: list, size: int) -> list[list]:
    """``members`` in consecutive chunks of at most ``size`` that differ in length by at most one,
    so that a claim's jobs take about equally long."""
    count = math.ceil(len(members) / size)
    if count == 0:
        return []
    base, extra = divmod(len(members), count)
    chunks, start = [], 0
    for index in range(count):
        end = start + base + (1 if index < extra else 0)
        chunks.append(members[start:end])
        start = end
    return chunks


class Layout:
    """The runs, models and file paths of one validated config."""

    def __init__(self, config: dict):
        self.scale = config["scale"]
        self.resources = config.get("resources", {})
        self.results = f"results/{self.scale}"
        self.claims = registry.configured(config)
        self.claim_ids = [claim.id for claim in self.claims]
        # Keys sorted: Snakemake compares params as text, so YAML key order must not retrain.
        self.runs: dict[str, dict[str, dict]] = {
            claim.id: {
                run: canonical(settings)
                for run, settings in claim.experiment().expand_runs(config[claim.id], config["seed"]).items()
            }
            for claim in self.claims
        }
        self.run_models: dict[str, dict[str, str]] = {}
        self.models: dict[str, dict] = {}
        for claim_id, runs in self.runs.items():
            self.run_models[claim_id] = {}
            for run, settings in runs.items():
                key, model = model_of_run(claim_id, run, settings)
                if key in self.models and self.models[key] != model:
                    raise ConfigError(f"model {key} is asked for with two different settings (claim {claim_id}, run {run})")
                self.models[key] = model
                self.run_models[claim_id][run] = key

        self._steps: dict[Batch, list[dict]] = {}
        self.train_batches = self._batches("train", {key: model["claim"] for key, model in self.models.items()})
        self.measure_batches = self._batches(
            "measure", {(claim_id, run): claim_id for claim_id, runs in self.runs.items() for run in runs}
        )
        self.batch_of_model = {key: batch for batch in self.train_batches for key in batch.members}
        self.batch_of_run = {member: batch for batch in self.measure_batches for member in batch.members}

    def runs_per_job(self, step: str, group: str) -> int:
        """How many models (train) or runs (measure) of ``group`` one job does: the config's
        ``resources.<step>.runs_per_job``, or the group's override under ``resources.claims``."""
        if not self.resources:
            return 1
        override = self.resources.get("claims", {}).get(group, {}).get(step, {})
        return int(override.get("runs_per_job", self.resources[step].get("runs_per_job", 1)))

    def _batches(self, step: str, groups: dict) -> list[Batch]:
        """The jobs of ``step``: each group's members in sorted order, cut into chunks.

        Sorted by key, so the chunks do not depend on YAML order; a run's key changes with its
        settings but keeps its readable prefix, so changing one run's settings changes the
        members of its own job only, while adding or removing runs can shift the later chunks
        of that group (README, "Batched jobs").
        """
        batches = []
        for group in sorted(set(groups.values())):
            members = sorted((member for member, owner in groups.items() if owner == group))
            chunks = chunked(members, self.runs_per_job(step, group))
            width = len(str(len(chunks)))
            for index, chunk in enumerate(chunks, start=1):
                batches.append(Batch(f"{step}_{group}_{index:0{width}d}", step, group, tuple(chunk)))
        return batches

    # --- paths ------------------------------------------------------------------------------

    def data(self, dataset: str) -> str:
        return f"{self.results}/data/{dataset}.npz"

    def model_dir(self, model: str) -> str:
        return f"{self.results}/models/{model}"

    def run_dir(self, claim_id: str, run: str) -> str:
        return f"{self.results}/runs/{claim_id}/{run}"

    def model_files(self, model: str, names=MODEL_FILES) -> list[str]:
        return [f"{self.model_dir(model)}/{name}" for name in names]

    def run_files(self, claim_id: str, run: str, names=RUN_FILES) -> list[str]:
        return [f"{self.run_dir(claim_id, run)}/{name}" for name in names]

    def model_of(self, claim_id: str, run: str) -> str:
        return self.model_dir(self.run_models[claim_id][run])

    def table(self, claim_id: str) -> str:
        return f"{self.results}/tables/{claim_id}.csv"

    def row(self, claim_id: str) -> str:
        return f"{self.results}/claims/{claim_id}.csv"

    def figures(self, claim_id: str) -> list[str]:
        return [f"{self.results}/figures/{claim_id}.png", f"{self.results}/figures/{claim_id}.pdf"]

    def claim_provenance(self, claim_id: str) -> str:
        return f"{self.results}/provenance/{claim_id}.json"

    def train_log(self, model: str) -> str:
        return f"{self.results}/logs/models/{model}/train.log"

    def measure_log(self, claim_id: str, run: str) -> str:
        return f"{self.results}/logs/{claim_id}/measure/{run}.log"

    def batch_benchmark(self, batch: Batch) -> str:
        return f"{self.results}/benchmarks/jobs/{batch.name}.tsv"

    # --- batched jobs ------------------------------------------------------------------------

    def batch_steps(self, batch: Batch) -> list[dict]:
        """Per member of a job: its settings, inputs, outputs and log, which the job's script runs
        one after the other (memorization.scripting.run_steps). Built once per batch: the rule
        files ask for a batch's inputs, outputs, logs and params separately."""
        if batch not in self._steps:
            self._steps[batch] = self._member_steps(batch)
        return self._steps[batch]

    def _member_steps(self, batch: Batch) -> list[dict]:
        if batch.step == "train":
            return [
                {
                    "model": key,
                    "settings": self.models[key],
                    "inputs": {"data": self.model_dataset(key)},
                    "outputs": dict(zip(("model", "history", "training", "provenance"), self.model_files(key))),
                    "log": self.train_log(key),
                }
                for key in batch.members
            ]
        return [
            {
                "claim": claim_id,
                "run": run,
                "settings": self.runs[claim_id][run],
                "inputs": {
                    "data": self.run_dataset(claim_id, run),
                    "model": f"{self.model_of(claim_id, run)}/model.keras",
                    "training": f"{self.model_of(claim_id, run)}/training.json",
                },
                "outputs": dict(zip(("metrics", "provenance", "examples"), self.run_files(claim_id, run))),
                "log": self.measure_log(claim_id, run),
            }
            for claim_id, run in batch.members
        ]

    def batch_is_float64(self, batch: Batch) -> bool:
        """Whether every net of a job computes in float64."""
        return all(step["settings"]["float_dtype"] == "float64" for step in self.batch_steps(batch))

    def batch_inputs(self, batch: Batch) -> list[str]:
        return list(dict.fromkeys(path for step in self.batch_steps(batch) for path in step["inputs"].values()))

    def batch_outputs(self, batch: Batch) -> list[str]:
        return [path for step in self.batch_steps(batch) for path in step["outputs"].values()]

    def batch_logs(self, batch: Batch) -> list[str]:
        return [step["log"] for step in self.batch_steps(batch)]

    # --- what steps read --------------------------------------------------------------------

    def model_dataset(self, model: str) -> str:
        return self.data(self.models[model]["dataset"])

    def run_dataset(self, claim_id: str, run: str) -> str:
        return self.data(self.runs[claim_id][run]["dataset"])

    def metrics(self, claim_id: str) -> list[str]:
        return [f"{self.run_dir(claim_id, run)}/metrics.json" for run in self.runs[claim_id]]

    def examples(self, claim_id: str) -> list[str]:
        return [f"{self.run_dir(claim_id, run)}/examples.npz" for run in self.runs[claim_id]]

    def figure_tables(self, claim_id: str) -> list[str]:
        """Tables of the other claims that this claim's figure draws, where configured."""
        return [self.table(other) for other in registry.claim(claim_id).figure_reads if other in self.runs]

    def provenance_records(self, claim_id: str) -> dict[str, dict[str, str]]:
        """run -> {step: provenance record}: the shared model's training record and the run's
        measurement record."""
        return {
            run: {
                "train": f"{self.model_of(claim_id, run)}/provenance.json",
                "measure": f"{self.run_dir(claim_id, run)}/metrics.provenance.json",
            }
            for run in self.runs[claim_id]
        }

    def claim_targets(self, claim_id: str, models: bool = True) -> list[str]:
        """Everything a claim's figure stands on, down to each run's metrics and model.

        A user's target lists all of them, not only the figure: Snakemake deletes the outputs
        of a failed job, and would otherwise call a figure whose table or metrics are gone
        "up to date" on the next run instead of rebuilding them or failing.
        """
        model_dirs = dict.fromkeys(self.model_of(claim_id, run) for run in self.runs[claim_id]) if models else {}
        # The prepared data too: Snakemake does not rebuild a missing input of an up-to-date job.
        datasets = dict.fromkeys(self.run_dataset(claim_id, run) for run in self.runs[claim_id]) if models else {}
        return [
            *self.figures(claim_id),
            self.table(claim_id),
            self.row(claim_id),
            *self.metrics(claim_id),
            *self.examples(claim_id),
            *(f"{model}/{name}" for model in model_dirs for name in ("model.keras", "training.json")),
            *datasets,
        ]

    def all_targets(self, models: bool = True) -> list[str]:
        targets = [f"{self.results}/claims.csv", f"{self.results}/claims.md"]
        for claim_id in self.claim_ids:
            targets += self.claim_targets(claim_id, models)
        return targets

    def archive_inputs(self, include_models: bool) -> dict:
        """The files the archive holds for this config, by kind (Snakemake input names)."""
        models = sorted({key for runs in self.run_models.values() for key in runs.values()})
        model_files = MODEL_RECORDS + (("model.keras",) if include_models else ())
        datasets = sorted({settings["dataset"] for settings in self.models.values()})
        return {
            # Model weights only on request; their records are listed under "models".
            "targets": self.all_targets(models=False),
            "rows": [self.row(claim_id) for claim_id in self.claim_ids],
            "provenance": [self.claim_provenance(claim_id) for claim_id in self.claim_ids]
            + [f"{self.results}/data/{dataset}.provenance.json" for dataset in datasets],
            "models": [f"{self.model_dir(model)}/{name}" for model in models for name in model_files],
            "runs": [
                f"{self.run_dir(claim_id, run)}/{name}"
                for claim_id, runs in self.runs.items()
                for run in runs
                for name in RUN_FILES
            ],
            "report": f"{self.results}/report.html",
            "config": f"{self.results}/config.yaml",
        }
