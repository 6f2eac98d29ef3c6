"""C3: deep nonlinear FC autoencoders are locally contractive at the training examples.

For each nonlinearity of the section (one model each, same shape and data), the Jacobian of the
trained map at every training example: rho < 1 together with a small fixed-point error makes the
example an attractor. A deep *linear* net is the contrast: its Jacobian is one matrix that fixes
the span of the examples, so rho = 1 there and no example attracts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memorization import claims, files
from memorization.experiments import fc

CLAIM = "c3"
STATEMENT = "Deep nonlinear fully connected autoencoders are locally contractive at the training examples (rho(J_f(x_i)) < 1)"


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    return fc.runs_per_nonlinearity(
        CLAIM, section, seed,
        fixed_point_tol=section["fixed_point_tol"], radius_margin=section["radius_margin"],
    )



def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    return fc.measure_local_contraction(CLAIM, settings, inputs, outputs, log, per_example=True)


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
    records = claims.read_records(inputs["metrics"])
    summary = fc.tidy(records).assign(example=np.nan)
    table = pd.concat([summary, per_example_table(records)], ignore_index=True)
    files.write_csv(outputs["table"], table)
    chosen = summary[(summary.nonlinearity == section["claim_nonlinearity"]) & (summary.statistic == "attractor_fraction")]
    value = claims.mean_or_nan(chosen["value"])
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=f"fraction of training examples that are attractors ({section['claim_nonlinearity']} net; mean over seeds)",
        value=value,
    )
