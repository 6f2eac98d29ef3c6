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


class Layout:
    """The runs, models and file paths of one validated config."""

    def __init__(self, config: dict):
        self.scale = config["scale"]
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

    # --- paths ------------------------------------------------------------------------------

    def data(self, dataset: str) -> str:
        return f"{self.results}/data/{dataset}.npz"

    def model_dir(self, model: str) -> str:
        return f"{self.results}/models/{model}"

    def run_dir(self, claim_id: str, run: str) -> str:
        return f"{self.results}/runs/{claim_id}/{run}"

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
        return [
            *self.figures(claim_id),
            self.table(claim_id),
            self.row(claim_id),
            *self.metrics(claim_id),
            *self.examples(claim_id),
            *(f"{model}/{name}" for model in model_dirs for name in ("model.keras", "training.json")),
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
