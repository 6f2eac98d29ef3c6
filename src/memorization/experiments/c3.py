"""C3: deep nonlinear FC autoencoders are locally contractive at the training examples.

For each nonlinearity of the section (one model each, same shape and data), the Jacobian of the
trained map at every training example: rho < 1 together with a small fixed-point error makes the
example an attractor. A deep *linear* net is the contrast: its Jacobian is one matrix that fixes
the span of the examples, so rho = 1 there and no example attracts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memorization import claims, data
from memorization.errors import ConfigError
from memorization.experiments import fc
from memorization.provenance import write_json_atomic

CLAIM = "c3"
STATEMENT = "Deep nonlinear fully connected autoencoders are locally contractive at the training examples (rho(J_f(x_i)) < 1)"


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    if section["claim_nonlinearity"] not in section["nonlinearities"]:
        raise ConfigError(
            f"c3.claim_nonlinearity {section['claim_nonlinearity']!r} must be one of c3.nonlinearities {section['nonlinearities']}"
        )
    runs = {}
    for nonlinearity in section["nonlinearities"]:
        for run_seed in section["seeds"]:
            model = fc.model_settings(section["model"], seed + run_seed, nonlinearity=nonlinearity)
            key, settings = fc.claim_run(
                CLAIM, model, fixed_point_tol=section.get("fixed_point_tol", 0.01), radius_margin=section.get("radius_margin", 1e-3)
            )
            runs[key] = settings
    return runs


train = fc.train


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    model, training, images, _ = fc.load_run(settings, inputs)
    local = fc.local_contraction(model, images, settings["fixed_point_tol"], settings["radius_margin"])
    metrics = {**local["summary"], **fc.training_record(training)}
    log(f"metrics: {metrics}")
    per_example = {name: local[name].tolist() for name in ("fixed_point_error", "spectral_radius", "top_singular_value")}
    write_json_atomic(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics, "per_example": per_example})
    data.write_npz_atomic(
        outputs["examples"],
        spectral_radius=local["spectral_radius"],
        top_singular_value=local["top_singular_value"],
        fixed_point_error=local["fixed_point_error"],
        attractor=local["attractor"],
    )
    return {"metrics": metrics}


def per_example_table(records: list[dict]) -> pd.DataFrame:
    rows = []
    for record in records:
        columns = fc.model_columns(record["settings"])
        for index, values in enumerate(zip(*(record["per_example"][name] for name in record["per_example"]))):
            for statistic, value in zip(record["per_example"], values):
                rows.append({**columns, "example": index, "statistic": statistic, "value": value})
    return pd.DataFrame(rows)


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    records = fc.read_metrics(inputs["metrics"])
    summary = fc.tidy(records).assign(example=np.nan)
    table = pd.concat([summary, per_example_table(records)], ignore_index=True)
    table.to_csv(outputs["table"], index=False)
    chosen = summary[(summary.nonlinearity == section["claim_nonlinearity"]) & (summary.statistic == "attractor_fraction")]
    value = float(chosen["value"].mean()) if len(chosen) else float("nan")
    row = claims.claim_row(
        CLAIM,
        STATEMENT,
        f"fraction of training examples that are attractors ({section['claim_nonlinearity']} net; mean over seeds)",
        value,
        section["claim_threshold"],
        ">=",
        settings["scale"],
    )
    claims.write_claim_row(row, outputs["row"])
    log(f"claim row: {row}")
