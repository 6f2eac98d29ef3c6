"""A private copy of the workflow per test session, so tests never touch the user's results/."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = ["Snakefile", "rules", "scripts", "config", "report", "environment.yml", "profiles", "src"]


def copy_workflow(target: Path, source_root: Path = REPO) -> Path:
    """The workflow's files (not its results) of ``source_root`` copied into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = source_root / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def snakemake(workdir: Path, *args: str, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run Snakemake from this Python environment inside ``workdir``."""
    environment = dict(os.environ)
    # The copy's own library first: figures depend on its plotting modules.
    environment["PYTHONPATH"] = os.pathsep.join([str(workdir / "src"), str(REPO / "src"), environment.get("PYTHONPATH", "")])
    environment.update(env or {})
    command = [sys.executable, "-m", "snakemake", *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=environment)


@pytest.fixture(scope="session")
def test_scale_run(tmp_path_factory):
    """The whole workflow at test scale, run once for the session."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    result = snakemake(workdir, "--cores", "2", "all", "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir
