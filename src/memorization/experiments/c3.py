"""C3: deep nonlinear FC autoencoders are locally contractive at the training examples.

For each net of the section (one model per nonlinearity, optionally with biases, per seed; same
shape), the Jacobian of the trained map at every training example: rho < 1 together with a small
fixed-point error makes the example an attractor. A deep *linear* net is the contrast: its
Jacobian is one matrix that fixes the span of the examples, so rho = 1 there and no example
attracts (as for bias-free leaky ReLU nets; `fc.no_attractors_by_construction`).

Verdict: the attractor fraction of the claim's net pooled over seeds (hull of the exact binomial
interval and the bootstrap over seeds) must lie wholly at or above the threshold; the linear
contrast's pooled fraction must lie wholly below it; every net the verdict uses must have
reached its loss threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memorization import claims, files
from memorization.analysis.intervals import pooled_fraction
from memorization.experiments import fc

CLAIM = "c3"
STATEMENT = (
    "Deep nonlinear fully connected autoencoders are locally contractive at most training examples "
    "(rho(J_f(x_i)) < 1: attractors); deep linear nets, whose Jacobian fixes the span, are not"
)


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


def pooled_attractors(runs: pd.DataFrame) -> tuple[float, float, float]:
    """(fraction, low, high) of training examples that are attractors, pooled over the runs
    (one per seed) of `fc.runs_table`."""
    return pooled_fraction(runs["attractors"].astype(float), runs["n"].astype(float))


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    section = settings["section"]
    threshold = section["claim_threshold"]
    records = claims.read_records(inputs["metrics"])
    summary = fc.tidy(records).assign(example=np.nan)
    runs = fc.runs_table(summary)
    runs["fitted"] = fc.fitted(runs)
    table = pd.concat([summary, fc.fit_rows(runs).assign(example=np.nan), per_example_table(records)],
                      ignore_index=True)
    files.write_csv(outputs["table"], table)

    net = fc.claim_net(section)
    chosen = runs[runs.net == net]
    linear = runs[runs.nonlinearity == "linear"]
    value, low, high = pooled_attractors(chosen)
    linear_value, linear_low, linear_high = pooled_attractors(linear) if len(linear) else (float("nan"),) * 3
    conditions = [claims.Condition("linear contrast: attractor fraction of linear nets", linear_value, threshold, "<",
                                   linear_low, linear_high)]
    used = pd.concat([chosen, linear])
    per_seed = ", ".join(f"{int(a)}/{int(n)}" for a, n in zip(chosen.sort_values("seed").attractors,
                                                              chosen.sort_values("seed").n))
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">=",
        statistic=(
            f"fraction of training examples that are attractors ({net} nets, pooled over {claims.seeds(len(chosen))}: "
            f"{per_seed}; interval: hull of exact binomial and seed bootstrap; "
            f"{fc.fit_note(used, f'{net} and linear nets')})"
        ),
        value=value, interval=(low, high), n_seeds=chosen.seed.nunique(),
        fitted=bool(len(used)) and bool(used["fitted"].all()), conditions=conditions,
    )
