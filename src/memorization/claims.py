"""One row per claim: a measured statistic, a threshold fixed before the run, and a verdict."""

from __future__ import annotations

import json
import math
import operator
import os
from pathlib import Path

import pandas as pd

from memorization import files

COLUMNS = ["claim", "statement", "statistic", "value", "threshold", "verdict", "scale"]
# Appended by `assemble_claims_table`: where the figure and the provenance of the runs behind
# each row are, relative to the directory of claims.csv (so the links also work in the archive).
LINK_COLUMNS = ["figure", "provenance"]
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
        "value": float("nan") if value is None else float(value),
        "threshold": float(threshold),
        "verdict": verdict(value, threshold, comparison),
        "scale": scale,
    }


def write_claim_row(row: dict, path) -> None:
    files.write_csv(path, pd.DataFrame([row], columns=COLUMNS))


def record_claim(
    path, log, settings: dict, claim: str, statement: str, *, statistic: str, value: float, comparison: str
) -> dict:
    """Judge ``value`` against the claim's threshold (``settings["section"]["claim_threshold"]``,
    fixed in the config before the run), write the one-row CSV to ``path`` and log it."""
    row = claim_row(
        claim, statement, statistic, value, settings["section"]["claim_threshold"], comparison, settings["scale"]
    )
    write_claim_row(row, path)
    log(f"claim row: {row}")
    return row


def read_records(paths: list) -> list[dict]:
    """The JSON metrics records of a claim's runs, in the order of ``paths``.

    A missing, unreadable, truncated or corrupt record raises `ResultsError` naming the file.
    """
    return [read_record(path) for path in paths]


def read_record(path) -> dict:
    from memorization.errors import ResultsError

    remeasure = f"rerun its measure job (snakemake <target> --forcerun {path}, or delete {path} and rerun)"
    if Path(path).is_dir():
        raise ResultsError(f"metrics file {path} is a directory, not a JSON file; remove it, then {remeasure}")
    try:
        with open(path, encoding="utf-8") as stream:
            record = json.load(stream)
    except FileNotFoundError:
        raise ResultsError(f"metrics file {path} does not exist; {remeasure}") from None
    except PermissionError:
        raise ResultsError(f"cannot read metrics file {path}: permission denied; make it readable (chmod u+r)") from None
    except json.JSONDecodeError as error:
        raise ResultsError(
            f"metrics file {path} is truncated or corrupt ({error.msg} at line {error.lineno} column {error.colno}); "
            f"{remeasure}"
        ) from None
    except UnicodeDecodeError:
        raise ResultsError(f"metrics file {path} is not UTF-8 text (corrupt); {remeasure}") from None
    if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict) or "settings" not in record:
        raise ResultsError(f"metrics file {path} lacks its settings or metrics; {remeasure}")
    return record


def tidy_metrics(records: list[dict], run_columns) -> pd.DataFrame:
    """One row per run x scalar statistic of each record's ``metrics``.

    ``run_columns(settings)`` gives the columns that identify a run (its key and the settings
    the claim varies); they are repeated on every row of that run.
    """
    rows = []
    for record in records:
        columns = run_columns(record["settings"])
        for statistic, value in record["metrics"].items():
            rows.append({**columns, "statistic": statistic, "value": value})
    return pd.DataFrame(rows)


def mean_or_nan(values) -> float:
    """Mean of ``values``; NaN (never reproduced) when the selection is empty."""
    return float(pd.Series(values, dtype=float).mean()) if len(values) else float("nan")


def assemble_claims_table(
    row_paths: list,
    csv_path,
    markdown_path,
    figures: dict | None = None,
    provenance: dict | None = None,
) -> pd.DataFrame:
    """Concatenate the per-claim rows into claims.csv and a Markdown rendering.

    ``figures`` and ``provenance`` map claim id -> path of its figure and of its provenance
    index; they become the ``figure`` and ``provenance`` columns, written relative to the
    directory of ``csv_path`` (empty for a claim without one).
    """
    table = pd.concat([pd.read_csv(path) for path in row_paths], ignore_index=True)
    table = table.sort_values("claim", key=lambda ids: ids.str[1:].astype(int)).reset_index(drop=True)
    base = Path(csv_path).resolve().parent
    for column, paths in zip(LINK_COLUMNS, (figures or {}, provenance or {})):
        table[column] = [_relative_link(paths.get(claim), base) for claim in table.claim]
    table = table[COLUMNS + LINK_COLUMNS + [c for c in table.columns if c not in COLUMNS + LINK_COLUMNS]]
    files.write_text(csv_path, table.to_csv(index=False))
    files.write_text(markdown_path, to_markdown(table))
    return table


def _relative_link(path, base: Path) -> str:
    if not path:
        return ""
    return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()


def to_markdown(table: pd.DataFrame) -> str:
    """claims.csv as a Markdown table; figure and provenance paths become links."""
    header = "| " + " | ".join(table.columns) + " |\n| " + " | ".join("---" for _ in table.columns) + " |\n"
    rows = []
    for record in table.to_dict("records"):
        cells = []
        for column, value in record.items():
            if column in LINK_COLUMNS:
                cells.append(f"[{Path(str(value)).name}]({value})" if isinstance(value, str) and value else "")
            elif isinstance(value, float):
                cells.append(f"{value:.3g}")
            else:
                cells.append(str(value))
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "# Claims\n\n" + header + "\n".join(rows) + "\n"
