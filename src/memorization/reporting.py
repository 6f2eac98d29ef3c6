"""The steps behind the report and archive targets: the exact config, the Snakemake HTML report,
and the archive of one scale's results (see `memorization.archive`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from memorization.archive import Member, build_archive, verify_archive
from memorization.files import atomic_output, sha256_file, write_text
from memorization.errors import MemorizationError

REPORT_TIMEOUT_S = 1800
TITLE = "Memorization in overparameterized autoencoders (arXiv:1810.10333)"


def write_config(config: dict, path: str | os.PathLike) -> None:
    """The validated config (defaults filled in) as YAML; passed back to Snakemake with
    ``--configfile`` it gives this very config."""
    write_text(
        path,
        "# The exact config of this run (after validation; defaults filled in).\n"
        + yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False),
    )


def snakemake_report(snakefile, configfile, output, log, targets=("all",)) -> None:
    """Run ``snakemake --report`` for ``targets`` with ``configfile`` and write the HTML to ``output``.

    Called from inside a running workflow, so it takes no lock (it only reads finished outputs
    and Snakemake's job records) and ignores any default profile.
    """
    environment = {key: value for key, value in os.environ.items() if key != "SNAKEMAKE_PROFILE"}
    with atomic_output(output) as temporary:
        command = [
            sys.executable, "-m", "snakemake",
            "--snakefile", str(snakefile),
            "--configfile", str(configfile),
            "--report", str(temporary),
            # A rule may size its threads from the core count, which --report alone leaves undefined.
            "--cores", "1",
            "--nolock",
            *targets,
        ]
        log(f"running: {' '.join(command)}")
        try:
            finished = subprocess.run(
                command, capture_output=True, text=True, env=environment, timeout=REPORT_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise MemorizationError(f"snakemake --report took longer than {REPORT_TIMEOUT_S} s") from None
        for line in (finished.stdout + finished.stderr).splitlines():
            log(f"snakemake: {line}")
        if finished.returncode != 0 or not temporary.stat().st_size:
            last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
            raise MemorizationError(f"snakemake --report failed (exit {finished.returncode}): {last}")


def _flatten(inputs: dict) -> list[tuple[str, str]]:
    flat = []
    for name, value in inputs.items():
        for path in [value] if isinstance(value, (str, os.PathLike)) else value:
            flat.append((name, str(path)))
    return flat


def library_sources() -> list[tuple[Path, str]]:
    """The ``memorization`` package's source files, as (path, path inside the package's parent)."""
    package = Path(__file__).resolve().parent
    return [
        (path, path.relative_to(package.parent).as_posix())
        for path in sorted(package.rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


def claims_summary(claims_csv: str | os.PathLike) -> str:
    import pandas as pd

    table = pd.read_csv(claims_csv)

    def interval(row) -> str:
        low, high = getattr(row, "ci_low", float("nan")), getattr(row, "ci_high", float("nan"))
        return "" if pd.isna(low) or pd.isna(high) else f" [{low:.3g}, {high:.3g}]"

    return "; ".join(
        f"{row.claim.upper()} {row.verdict} ({row.statistic}: {row.value:.3g}{interval(row)} vs {row.threshold:.3g})"
        for row in table.itertuples()
    )


def archive_results(
    *,
    inputs: dict,
    output,
    results,
    scale: str,
    basedir,
    sources: list[str],
    log,
) -> dict:
    """Pack one scale's results (``inputs``, all under ``results``), the workflow source and the
    library source into ``output``, then verify what was written."""
    results = Path(results)
    members, seen = [], set()
    for role_name, path in _flatten(inputs):
        name = Path(os.path.relpath(path, results)).as_posix()
        if name.startswith("../"):
            raise MemorizationError(f"archive input {path} is outside {results}")
        if name not in seen:
            seen.add(name)
            members.append(Member(Path(path), name, "input" if role_name == "config" else "result"))
    for relative in sources:
        members.append(Member(Path(basedir) / relative, f"workflow/{relative}", "workflow"))
    for path, relative in library_sources():
        members.append(Member(path, f"workflow/src/{relative}", "workflow"))

    records = []
    for member in members:
        if member.role == "result" and member.name.endswith("provenance.json") and not member.name.startswith("provenance/"):
            records.append(json.loads(member.source.read_text()))
    claims_csv = results / "claims.csv"
    description = (
        f"Results of the workflow reproducing {TITLE} at the {scale} scale: figures, tables, "
        "per-run metrics and provenance records, the claims report, the Snakemake report, the exact "
        "config and the workflow and library source."
    )
    if claims_csv.is_file():
        description += " Claims: " + claims_summary(claims_csv) + "."
    hashes = build_archive(
        output,
        members,
        top=f"memorization-{scale}",
        name=f"{TITLE}: {scale} scale results",
        description=description,
        main_workflow="workflow/Snakefile",
        records=records,
    )
    log(f"archived {len(hashes)} files from {len(records)} provenance records into {output}")
    check = verify_archive(output)
    if not check.ok:
        raise MemorizationError(f"the archive just written does not verify: {'; '.join(check.problems)}")
    log(f"verified {check.files} files; sha256 of the archive {sha256_file(output)}")
    return hashes


# What travels with the results so that a colleague can rerun them (patterns from the workflow's
# directory; the library's source is added by `archive_results`).
WORKFLOW_SOURCES = (
    "Snakefile", "rules/*.smk", "scripts/*.py", "report/*.rst", "config/*.yaml", "config/schema/*.yaml",
    "environment.yml", "requirements*.txt", "constraints.txt", "pyproject.toml", "README.md",
)


def workflow_sources(basedir, patterns=WORKFLOW_SOURCES) -> list[str]:
    """The workflow's own files that exist under ``basedir``, relative to it."""
    basedir = Path(basedir)
    found = {
        path.relative_to(basedir).as_posix()
        for pattern in patterns
        for path in basedir.glob(pattern)
        if path.is_file()
    }
    return sorted(found)
