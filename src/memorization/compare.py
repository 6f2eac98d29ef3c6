"""Compare two results: each claim's value, interval and verdict side by side, and the config
keys and package versions that differ (``memorization compare A B``).

A and B are each a results archive (``archive.tar.gz``, read as a stream: nothing is extracted)
or a results folder (``results/<scale>/``). From each side this reads ``claims.csv`` (required:
columns ``claim``, ``value`` and ``verdict``; ``ci_low`` and ``ci_high`` are shown where
present), ``config.yaml`` (nested keys flattened to dotted paths) and the package versions:
``packages.txt`` in an archive, the ``packages`` of the provenance records
(``models/*/provenance.json``, ``runs/*/*/metrics.provenance.json``, ``data/*.provenance.json``) in a folder.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from memorization.errors import MemorizationError

CLAIMS, CONFIG, PACKAGES = "claims.csv", "config.yaml", "packages.txt"
REQUIRED_COLUMNS = ("claim", "value", "verdict")
INTERVAL_COLUMNS = ("ci_low", "ci_high")
# The small files read from an archive; anything larger is refused rather than read.
MAX_READ_BYTES = 64 << 20
FLIPPED_EXIT = 3


class CompareError(MemorizationError):
    """An input of `compare` is missing or unreadable."""


@dataclass
class Side:
    """What one side of the comparison holds."""

    label: str
    claims: dict[str, dict[str, str]]
    columns: list[str]
    config: dict[str, str] | None = None
    packages: dict[str, str] | None = None
    packages_source: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    a: Side
    b: Side
    rows: list[dict]
    config_diff: list[tuple[str, str, str]]
    package_diff: list[tuple[str, str, str]]
    flipped: list[str]
    notes: list[str]


# --- reading -------------------------------------------------------------------------------


def flatten(value, prefix: str = "") -> dict[str, str]:
    """Nested mappings as {dotted.key: value}; leaves (lists included) as compact JSON text."""
    if isinstance(value, dict) and value:
        flat = {}
        for key, item in value.items():
            flat |= flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return flat
    return {prefix or ".": json.dumps(value, sort_keys=True, default=str)}


def _parse_claims(label: str, payload: bytes) -> tuple[dict[str, dict[str, str]], list[str]]:
    try:
        text = payload.decode("utf-8")
        reader = csv.DictReader(io.StringIO(text))
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise CompareError(f"{label}: {CLAIMS} is not readable CSV ({error})") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise CompareError(
            f"{label}: {CLAIMS} has no column {', '.join(missing)} (columns: {', '.join(columns) or 'none'})"
        )
    claims = {}
    for row in rows:
        if row.get("claim"):
            claims[row["claim"]] = row
    return claims, columns


def _parse_config(label: str, payload: bytes) -> dict[str, str]:
    try:
        document = yaml.safe_load(payload.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CompareError(f"{label}: {CONFIG} is not readable YAML ({first})") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise CompareError(f"{label}: {CONFIG} is not a mapping of keys to values")
    return flatten(document)


# Entries of a provenance record's "packages" that are not distributions.
NOT_PACKAGES = {"keras-backend", "backend-version"}


def package_name(name: str) -> str:
    """The normalised name of a distribution (PEP 503: tensorflow_cpu is tensorflow-cpu)."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def _parse_packages(payload: bytes) -> dict[str, str]:
    packages = {}
    for line in payload.decode("utf-8", errors="replace").splitlines():
        name, separator, version = line.strip().partition("==")
        if separator and name:
            packages[package_name(name)] = version
    return packages


def _archive_files(path: Path) -> dict[str, bytes]:
    """The files `compare` reads from an archive, by their name inside its top folder."""
    wanted = {CLAIMS, CONFIG, PACKAGES}
    found: dict[tuple[str, ...], bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                parts = PurePosixPath(info.name).parts
                if not info.isfile() or not parts or parts[-1] not in wanted or len(parts) > 2:
                    continue
                if info.size > MAX_READ_BYTES:
                    raise CompareError(
                        f"{path}: {info.name} is {info.size} bytes, more than {MAX_READ_BYTES}; not read"
                    )
                found[parts] = tar.extractfile(info).read()
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error) as error:
        raise CompareError(f"{path}: not a readable .tar.gz archive ({type(error).__name__}: {error})") from None
    # Files at the archive's root, or in its top folder.
    files = {}
    for parts, payload in found.items():
        files.setdefault(parts[-1], payload)
    return files


def _folder_packages(folder: Path) -> tuple[dict[str, str], int]:
    """Package versions recorded in a results folder's provenance records (several versions of
    one package across records are shown joined with ' | ')."""
    versions: dict[str, set[str]] = {}
    records = (sorted(folder.glob("models/*/provenance.json")) + sorted(folder.glob("runs/*/*/metrics.provenance.json"))
               + sorted(folder.glob("data/*.provenance.json")))
    read = 0
    for record_path in records:
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            continue
        read += 1
        for package, version in (record.get("packages") or {}).items():
            if package_name(package) not in NOT_PACKAGES:
                versions.setdefault(package_name(package), set()).add(str(version))
    return {package: " | ".join(sorted(found)) for package, found in versions.items()}, read


def load(path: str | os.PathLike) -> Side:
    """One side of the comparison: an archive file or a results folder."""
    path = Path(path)
    label = str(path)
    if path.is_dir():
        claims_path = path / CLAIMS
        if not claims_path.is_file():
            raise CompareError(f"{label}: no {CLAIMS} in this folder (is it results/<scale>/?)")
        claims, columns = _parse_claims(label, claims_path.read_bytes())
        side = Side(label, claims, columns)
        config_path = path / CONFIG
        if config_path.is_file():
            side.config = _parse_config(label, config_path.read_bytes())
        else:
            side.notes.append(f"{label}: no {CONFIG}; config not compared")
        packages, records = _folder_packages(path)
        if records:
            side.packages, side.packages_source = packages, f"{records} provenance records"
        else:
            side.notes.append(f"{label}: no provenance records with package versions; packages not compared")
        return side
    if path.is_file():
        files = _archive_files(path)
        if CLAIMS not in files:
            raise CompareError(f"{label}: the archive holds no {CLAIMS}")
        claims, columns = _parse_claims(label, files[CLAIMS])
        side = Side(label, claims, columns)
        if CONFIG in files:
            side.config = _parse_config(label, files[CONFIG])
        else:
            side.notes.append(f"{label}: no {CONFIG} in the archive; config not compared")
        if PACKAGES in files:
            side.packages, side.packages_source = _parse_packages(files[PACKAGES]), PACKAGES
        else:
            side.notes.append(f"{label}: no {PACKAGES} in the archive; packages not compared")
        return side
    raise CompareError(f"{label}: no such archive or results folder")


# --- comparing -----------------------------------------------------------------------------


def _number(text: str | None) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value


def _show(text: str | None) -> str:
    if text is None or text == "":
        return "-"
    value = _number(text)
    if value is None:
        return text
    return f"{value:.4g}"


def _interval(row: dict | None, has_interval: bool) -> str:
    if row is None or not has_interval:
        return "-"
    low, high = row.get("ci_low"), row.get("ci_high")
    if not low and not high:
        return "-"
    return f"[{_show(low)}, {_show(high)}]"


def _difference(a: dict | None, b: dict | None) -> str:
    if a is None or b is None:
        return "-"
    first, second = _number(a.get("value")), _number(b.get("value"))
    if first is None or second is None or not (math.isfinite(first) and math.isfinite(second)):
        return "-"
    return f"{second - first:+.3g}"


def _diff(
    first: dict[str, str] | None, second: dict[str, str] | None, common_only: bool = False
) -> list[tuple[str, str, str]]:
    if first is None or second is None:
        return []
    keys = set(first) & set(second) if common_only else set(first) | set(second)
    return [
        (key, first.get(key, "(absent)"), second.get(key, "(absent)"))
        for key in sorted(keys)
        if first.get(key) != second.get(key)
    ]


def compare(a: Side, b: Side) -> Comparison:
    intervals = {side.label: all(column in side.columns for column in INTERVAL_COLUMNS) for side in (a, b)}
    notes = [*a.notes, *b.notes]
    for side in (a, b):
        if not intervals[side.label]:
            notes.append(f"{side.label}: {CLAIMS} has no {' / '.join(INTERVAL_COLUMNS)} columns; intervals shown as -")
    rows, flipped = [], []
    for claim in [*a.claims, *(name for name in b.claims if name not in a.claims)]:
        first, second = a.claims.get(claim), b.claims.get(claim)
        verdict_a = first.get("verdict") if first else None
        verdict_b = second.get("verdict") if second else None
        changed = first is not None and second is not None and verdict_a != verdict_b
        if changed:
            flipped.append(claim)
        if first is None or second is None:
            notes.append(f"{claim}: only in {a.label if second is None else b.label}")
        rows.append({
            "claim": claim,
            "value A": _show(first.get("value") if first else None),
            "value B": _show(second.get("value") if second else None),
            "B - A": _difference(first, second),
            "interval A": _interval(first, intervals[a.label]),
            "interval B": _interval(second, intervals[b.label]),
            "verdict A": verdict_a or "-",
            "verdict B": verdict_b or "-",
            "flipped": "FLIPPED" if changed else "",
        })
    # packages.txt lists every installed distribution, provenance records a few: between the
    # two kinds, only the packages named on both sides are compared.
    mixed = a.packages_source != b.packages_source and PACKAGES in (a.packages_source, b.packages_source)
    if mixed and a.packages is not None and b.packages is not None:
        notes.append(
            f"packages: {PACKAGES} against provenance records: only packages named on both sides are compared"
        )
    package_diff = _diff(a.packages, b.packages, common_only=mixed)
    return Comparison(a, b, rows, _diff(a.config, b.config), package_diff, flipped, notes)


# --- rendering -----------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
        return lines + ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    def line(cells) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return [line(header), line(["-" * width for width in widths])] + [line(row) for row in rows]


def render(result: Comparison, markdown: bool = False) -> str:
    heading = (lambda text: f"## {text}") if markdown else (lambda text: text)
    lines = [f"A: {result.a.label}", f"B: {result.b.label}", ""]
    lines.append(heading("Claims"))
    header = ["claim", "value A", "value B", "B - A", "interval A", "interval B", "verdict A", "verdict B", "flipped"]
    lines += _table(header, [[row[column] for column in header] for row in result.rows], markdown)
    lines.append("")

    def differences(title: str, column: str, diff: list, compared: bool, missing: str) -> None:
        lines.append(heading(title))
        if not compared:
            lines.append(f"not compared ({missing})")
        elif diff:
            lines.extend(_table([column, "A", "B"], [list(item) for item in diff], markdown))
        else:
            lines.append("none")

    differences(f"Config keys that differ ({len(result.config_diff)})", "key", result.config_diff,
                result.a.config is not None and result.b.config is not None, "no config.yaml on one side")
    lines.append("")
    sources = f"A: {result.a.packages_source or 'none'}; B: {result.b.packages_source or 'none'}"
    differences(f"Package versions that differ ({len(result.package_diff)}; {sources})", "package",
                result.package_diff, result.a.packages is not None and result.b.packages is not None,
                "no package versions on one side")
    if result.notes:
        lines += ["", heading("Notes")] + [f"- {note}" for note in result.notes]
    lines.append("")
    if result.flipped:
        lines.append(f"{len(result.flipped)} verdict(s) flipped: {', '.join(result.flipped)}")
    else:
        lines.append("no verdict flipped")
    return "\n".join(lines) + "\n"


def run(first: str | os.PathLike, second: str | os.PathLike, markdown: bool = False) -> tuple[str, int]:
    """The report and the exit status: `FLIPPED_EXIT` when a verdict flipped, else 0."""
    result = compare(load(first), load(second))
    return render(result, markdown), FLIPPED_EXIT if result.flipped else 0
