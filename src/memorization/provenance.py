"""Provenance records: what produced a file, from which inputs, with which software and machine.

`collect` gathers one record per workflow job (every training, metric and data job writes one
beside its outputs, through `memorization.scripting.run_job`); `claim_index` gathers the records
behind one claim, so that a row of the claims table links to every run that produced its number.
"""

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

from memorization.files import sha256_file

PACKAGES = ("numpy", "pandas", "keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "snakemake", "seaborn", "matplotlib")
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def config_hash(config_slice) -> str:
    """A stable hash of a JSON-serialisable configuration fragment."""
    canonical = json.dumps(config_slice, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def git_state(root: str | os.PathLike | None = None) -> dict:
    """Commit and dirtiness of the checkout holding ``root``.

    Without ``root``: the working directory when it is a checkout, else the checkout the
    library itself was imported from (a workflow copied outside the repository still runs
    this repository's code, so that commit is the one that produced the numbers).
    """
    candidates = [root] if root is not None else [Path.cwd(), Path(__file__).resolve().parent]
    for candidate in candidates:
        state = _git_state_of(candidate)
        if state["commit"] is not None:
            return state
    return {"commit": None, "dirty": None, "untracked": None, "root": None}


def _git_state_of(root) -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)

    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return {"commit": None}
        top = git("rev-parse", "--show-toplevel").stdout.strip() or None
        tracked = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        untracked = git("status", "--porcelain", "--untracked-files=normal").stdout.strip() != tracked
        return {"commit": commit.stdout.strip(), "dirty": bool(tracked), "untracked": untracked, "root": top}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}


def package_versions() -> dict[str, str]:
    """Python and the installed versions of the packages that shape the numbers.

    ``keras_backend`` and ``backend_version`` are only present when Keras was imported by the
    job (the backend is fixed at import time, so only then is it known).
    """
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if "keras" in sys.modules:
        backend = sys.modules["keras"].backend.backend()
        versions["keras_backend"] = backend
        module = sys.modules.get(BACKEND_MODULES.get(backend, ""))
        if module is not None and hasattr(module, "__version__"):
            versions["backend_version"] = module.__version__
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
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        info["usable_cpus"] = info["cpu_count"]
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


def invoking_command() -> str:
    """The command line that started this job.

    Snakemake runs a rule's script as ``python <temporary copy of the script>``, so this
    process's own arguments say little; the nearest ancestor process that is Snakemake holds
    the command the user typed. Falls back to this process's arguments off Linux.
    """
    pid = os.getpid()
    for _ in range(16):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            if pid <= 1:
                break
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, StopIteration, ValueError):
            break
        words = [word.decode(errors="replace") for word in arguments if word]
        if any(Path(word).name == "snakemake" or word == "snakemake" for word in words[:3]):
            return " ".join(words)
    return " ".join(sys.argv)


def input_checksums(paths) -> dict[str, str]:
    """sha256 of each input file (directories are skipped)."""
    return {str(path): sha256_file(path) for path in paths if Path(path).is_file()}


def _input_paths(inputs) -> list[str]:
    if isinstance(inputs, dict):
        values = inputs.values()
        return [str(path) for value in values for path in ([value] if isinstance(value, (str, os.PathLike)) else value)]
    return [str(path) for path in inputs]


def dataset_record(inputs, settings) -> dict | None:
    """The data set a job read: its name, file, sha256 and, when known, the official indices of
    the training images (from the run's ``training.json``, which the train step writes)."""
    if not isinstance(inputs, dict) or not isinstance(inputs.get("data"), (str, os.PathLike)):
        return None
    path = Path(inputs["data"])
    record = {
        "name": settings.get("dataset") if isinstance(settings, dict) else None,
        "path": str(path),
        "sha256": sha256_file(path) if path.is_file() else None,
    }
    training = inputs.get("training")
    if isinstance(training, (str, os.PathLike)) and Path(training).is_file():
        try:
            indices = json.loads(Path(training).read_text()).get("official_indices")
        except (OSError, ValueError, AttributeError):
            indices = None
        if indices is not None:
            record["official_indices"] = indices
    return record


def seeds(settings, runtime: dict | None) -> dict:
    """The workflow's base seed and the run's own seed (base + the run's offset)."""
    found = {"workflow": (runtime or {}).get("seed")}
    if isinstance(settings, dict) and "seed" in settings:
        found["run"] = settings["seed"]
    return found


def collect(
    *,
    step: str,
    claim: str | None,
    run: str | None,
    settings,
    inputs,
    started: str,
    extra: dict | None = None,
    runtime: dict | None = None,
) -> dict:
    """Everything needed to trace an output back to its code, data, software and machine.

    ``inputs`` is a list of paths or Snakemake's named inputs as a dict; with a dict, the
    ``data`` input is recorded as the job's data set (and ``training``, when present, supplies
    the official indices of the training images).
    """
    finished = now()
    duration = (dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)).total_seconds()
    record = {
        "step": step,
        "claim": claim,
        "run": run,
        "command": invoking_command(),
        "script": " ".join(sys.argv),
        "working_directory": os.getcwd(),
        "git": git_state(),
        "config": settings,
        "config_sha256": config_hash(settings),
        "runtime": runtime,
        "seeds": seeds(settings, runtime),
        "packages": package_versions(),
        "hardware": hardware(),
        "started": started,
        "finished": finished,
        "duration_s": duration,
        "inputs": input_checksums(_input_paths(inputs)),
    }
    dataset = dataset_record(inputs, settings)
    if dataset is not None:
        record["dataset"] = dataset
    record.update(extra or {})
    if dataset is not None and "official_indices" in record and "official_indices" not in dataset:
        dataset["official_indices"] = record["official_indices"]
    return record


def claim_index(claim: str, records: dict[str, dict[str, str]], relative_to: str | os.PathLike) -> dict:
    """The provenance behind one claim: each run's records, with their checksums and a summary.

    ``records`` maps run key -> {step name: path of that step's provenance record}; paths in
    the index are relative to ``relative_to`` (the results directory of the scale), so links
    still resolve inside the archive.
    """
    base = Path(relative_to)
    runs, commits, dirty, backends, datasets = {}, set(), False, set(), {}
    started, finished = [], []
    for run, steps in sorted(records.items()):
        entry = {}
        for step, path in sorted(steps.items()):
            record = json.loads(Path(path).read_text())
            git = record.get("git") or {}
            commits.add(git.get("commit"))
            dirty = dirty or bool(git.get("dirty"))
            packages = record.get("packages") or {}
            if packages.get("keras_backend"):
                backends.add(f"{packages['keras_backend']} {packages.get('backend_version', '')}".strip())
            dataset = record.get("dataset") or {}
            if dataset.get("name"):
                datasets[dataset["name"]] = dataset.get("sha256")
            started.append(record.get("started"))
            finished.append(record.get("finished"))
            entry[step] = {
                "record": os.path.relpath(path, base),
                "record_sha256": sha256_file(path),
                "config_sha256": record.get("config_sha256"),
                "seed": (record.get("seeds") or {}).get("run"),
                "official_indices": dataset.get("official_indices"),
            }
        runs[run] = entry
    return {
        "claim": claim,
        "runs": runs,
        "summary": {
            "n_runs": len(runs),
            "git_commits": sorted(commit for commit in commits if commit) or None,
            "any_dirty": dirty,
            "backends": sorted(backends),
            "datasets": datasets,
            "started": min((time for time in started if time), default=None),
            "finished": max((time for time in finished if time), default=None),
        },
    }


