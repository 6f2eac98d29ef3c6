"""Provenance records: what produced a file, from which inputs, with which software and machine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from memorization.data import sha256_of

PACKAGES = ("numpy", "pandas", "keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "snakemake", "seaborn", "matplotlib")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def config_hash(config_slice) -> str:
    """A stable hash of a JSON-serialisable configuration fragment."""
    canonical = json.dumps(config_slice, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def git_state(root: str | os.PathLike = ".") -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)

    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if "keras" in sys.modules:
        versions["keras_backend"] = sys.modules["keras"].backend.backend()
    return versions


def hardware() -> dict:
    info = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "cpu_model": platform.processor() or None}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["gpus"] = _gpu_names()
    return info


def _gpu_names() -> list[str]:
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()] if listed.returncode == 0 else []


def input_checksums(paths) -> dict[str, str]:
    """sha256 of each input file (directories are skipped)."""
    return {str(path): sha256_of(path) for path in paths if Path(path).is_file()}


def collect(
    *, step: str, claim: str | None, run: str | None, settings, inputs, started: str, extra: dict | None = None
) -> dict:
    """Everything needed to trace an output back to its code, data, software and machine."""
    finished = now()
    duration = (dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)).total_seconds()
    record = {
        "step": step,
        "claim": claim,
        "run": run,
        "command": " ".join(sys.argv),
        "git": git_state(),
        "config": settings,
        "config_sha256": config_hash(settings),
        "packages": package_versions(),
        "hardware": hardware(),
        "started": started,
        "finished": finished,
        "duration_s": duration,
        "inputs": input_checksums(inputs),
    }
    record.update(extra or {})
    return record


def write_json_atomic(path: str | os.PathLike, payload) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n")
    os.replace(temporary, path)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
