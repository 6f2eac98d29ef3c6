"""One row per claim: a measured statistic, its 95% interval over seeds, a threshold fixed before
the run, and a verdict.

The verdict rule is the same for every claim and fixed before any run (README, "Verdicts"):

* a claim is ``reproduced`` only when the runs it rests on fitted, the *whole* 95% interval of its
  statistic lies on the claimed side of the threshold, and every condition the statement names
  (controls, contrasts, a second half of the claim) holds by the same interval rule;
* otherwise it is ``not reproduced``, with the first reason in parentheses: ``runs did not fit``,
  ``interval straddles the threshold`` (not enough evidence at this scale), or ``condition failed:
  <name>``; plain ``not reproduced`` means the interval lies entirely on the wrong side (a real
  failure) or the statistic is NaN.

The verdict therefore always starts with ``reproduced`` or ``not reproduced`` (`outcome`).
"""

from __future__ import annotations

import json
import math
import operator
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from memorization import files

COLUMNS = ["claim", "statement", "statistic", "value", "threshold", "verdict", "scale", "ci_low", "ci_high", "n_seeds"]
# Appended by `assemble_claims_table`: where the figure and the provenance of the runs behind
# each row are, relative to the directory of claims.csv (so the links also work in the archive).
LINK_COLUMNS = ["figure", "provenance"]
REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
STRADDLES = f"{NOT_REPRODUCED} (interval straddles the threshold)"
UNFITTED = f"{NOT_REPRODUCED} (runs did not fit)"
_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
# Where an interval lies relative to a threshold.
HOLDS, FAILS, STRADDLING = "holds", "fails", "straddles"


def _check_comparison(comparison: str) -> None:
    if comparison not in _COMPARISONS:
        raise ValueError(f"comparison must be one of {', '.join(_COMPARISONS)}, got {comparison!r}")


def _is_nan(number) -> bool:
    return number is None or math.isnan(float(number))


def side(low: float, high: float, threshold: float, comparison: str) -> str:
    """Whether the interval [low, high] lies wholly on the side ``x <comparison> threshold``
    (`HOLDS`), wholly off it (`FAILS`), or on both (`STRADDLING`); a NaN end `FAILS`."""
    _check_comparison(comparison)
    if _is_nan(low) or _is_nan(high):
        return FAILS
    inside = [_COMPARISONS[comparison](float(end), threshold) for end in (low, high)]
    if all(inside):
        return HOLDS
    return STRADDLING if any(inside) else FAILS


@dataclass(frozen=True)
class Condition:
    """A second statement the verdict needs (a control, a contrast, the other half of a claim),
    judged by the same interval rule as the main statistic."""

    name: str
    value: float
    threshold: float
    comparison: str
    low: float | None = None
    high: float | None = None

    @property
    def interval(self) -> tuple[float, float]:
        low = self.value if self.low is None else self.low
        high = self.value if self.high is None else self.high
        return low, high

    @property
    def holds(self) -> bool:
        return not _is_nan(self.value) and side(*self.interval, self.threshold, self.comparison) == HOLDS

    def describe(self) -> str:
        low, high = self.interval
        interval = "" if low == high == self.value else f" [{low:.3g}, {high:.3g}]"
        mark = "holds" if self.holds else "fails"
        return f"{self.name}: {self.value:.3g}{interval} {self.comparison} {self.threshold:.3g} ({mark})"


def verdict(
    value: float,
    threshold: float,
    comparison: str,
    interval: tuple[float, float] | None = None,
    *,
    fitted: bool = True,
    conditions=(),
) -> str:
    """The verdict of one claim (module docstring): ``interval`` defaults to the point
    ``(value, value)``; NaN never reproduces."""
    _check_comparison(comparison)
    if not fitted:
        return UNFITTED
    if _is_nan(value) or math.isinf(float(value)):
        return NOT_REPRODUCED  # a NaN or an overflow never supports a claim
    low, high = interval if interval is not None else (value, value)
    where = side(low, high, threshold, comparison)
    if where == FAILS:
        return NOT_REPRODUCED
    if where == STRADDLING:
        return STRADDLES
    for condition in conditions:
        if not condition.holds:
            return f"{NOT_REPRODUCED} (condition failed: {condition.name})"
    return REPRODUCED


def seeds(count: int) -> str:
    """'1 seed' or 'k seeds', for a statistic's text."""
    return f"{int(count)} seed" + ("" if int(count) == 1 else "s")


def outcome(verdict_text: str) -> str:
    """`REPRODUCED` or `NOT_REPRODUCED`: the verdict without its reason."""
    return REPRODUCED if verdict_text == REPRODUCED else NOT_REPRODUCED


def claim_row(
    claim: str,
    statement: str,
    statistic: str,
    value: float,
    threshold: float,
    comparison: str,
    scale: str,
    *,
    interval: tuple[float, float] | None = None,
    n_seeds: int = 1,
    fitted: bool = True,
    conditions=(),
) -> dict:
    value = float("nan") if value is None else float(value)  # a missing statistic never reproduces
    low, high = interval if interval is not None else (value, value)
    text = f"{statistic} {comparison} threshold"
    if conditions:
        text += "; conditions: " + "; ".join(condition.describe() for condition in conditions)
    return {
        "claim": claim,
        "statement": statement,
        "statistic": text,
        "value": value,
        "threshold": float(threshold),
        "verdict": verdict(value, threshold, comparison, (low, high), fitted=fitted, conditions=conditions),
        "scale": scale,
        "ci_low": float(low),
        "ci_high": float(high),
        "n_seeds": int(n_seeds),
    }


def write_claim_row(row: dict, path) -> None:
    files.write_csv(path, pd.DataFrame([row], columns=COLUMNS))


def record_claim(
    path,
    log,
    settings: dict,
    claim: str,
    statement: str,
    *,
    statistic: str,
    value: float,
    comparison: str,
    interval: tuple[float, float] | None = None,
    n_seeds: int = 1,
    fitted: bool = True,
    conditions=(),
) -> dict:
    """Judge ``value`` and its 95% ``interval`` against the claim's threshold
    (``settings["section"]["claim_threshold"]``, fixed in the config before the run), together
    with the fit of its runs and its ``conditions``; write the one-row CSV to ``path`` and log it."""
    row = claim_row(
        claim, statement, statistic, value, settings["section"]["claim_threshold"], comparison, settings["scale"],
        interval=interval, n_seeds=n_seeds, fitted=fitted, conditions=conditions,
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


def runs_wide(table: pd.DataFrame, run_columns) -> pd.DataFrame:
    """The tidy table of `tidy_metrics` with one row per run and each statistic as a column
    (NaN kept, never dropped); ``run_columns`` are the columns that identify a run."""
    return table.set_index([*run_columns, "statistic"])["value"].unstack("statistic").reset_index()


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
