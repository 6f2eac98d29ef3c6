"""One row per claim: a measured statistic, a threshold fixed before the run, and a verdict."""

from __future__ import annotations

import math
import operator

import pandas as pd

COLUMNS = ["claim", "statement", "statistic", "value", "threshold", "verdict", "scale"]
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def verdict(value: float, threshold: float, comparison: str) -> str:
    """``reproduced`` when ``value <comparison> threshold`` holds; NaN never reproduces."""
    if comparison not in _COMPARISONS:
        raise ValueError(f"comparison must be one of {', '.join(_COMPARISONS)}, got {comparison!r}")
    if value is None or not math.isfinite(value):
        return NOT_REPRODUCED
    return REPRODUCED if _COMPARISONS[comparison](value, threshold) else NOT_REPRODUCED


def claim_row(
    claim: str, statement: str, statistic: str, value: float, threshold: float, comparison: str, scale: str
) -> dict:
    return {
        "claim": claim,
        "statement": statement,
        "statistic": f"{statistic} {comparison} threshold",
        "value": float(value),
        "threshold": float(threshold),
        "verdict": verdict(value, threshold, comparison),
        "scale": scale,
    }


def write_claim_row(row: dict, path) -> None:
    pd.DataFrame([row], columns=COLUMNS).to_csv(path, index=False)


def assemble_claims_table(row_paths: list, csv_path, markdown_path) -> pd.DataFrame:
    """Concatenate the per-claim rows into claims.csv and a Markdown rendering."""
    table = pd.concat([pd.read_csv(path) for path in row_paths], ignore_index=True)
    table = table.sort_values("claim", key=lambda ids: ids.str[1:].astype(int)).reset_index(drop=True)
    table.to_csv(csv_path, index=False)
    with open(markdown_path, "w") as stream:
        stream.write(to_markdown(table))
    return table


def to_markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |\n| " + " | ".join("---" for _ in table.columns) + " |\n"
    rows = []
    for record in table.to_dict("records"):
        cells = [f"{value:.3g}" if isinstance(value, float) else str(value) for value in record.values()]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "# Claims\n\n" + header + "\n".join(rows) + "\n"
