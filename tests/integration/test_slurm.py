"""The workflow on a real SLURM cluster (issue #7).

tests/slurm/cluster_up.sh brings up a single-node cluster on 127.0.0.1 (munged, MariaDB,
slurmdbd, slurmctld, slurmd from Debian's packages); the test scale then runs through
`snakemake --profile profiles/slurm`, and the test checks with `sacct` that every job that
is not a local rule ran as a SLURM job and COMPLETED, that the outputs equal those of a
local run of the same config, that a failing job is reported with its rule and log, and
that a rerun continues from what finished. The daemons the test started are stopped by PID.

Needs root and apt (or SLURM already installed) and the executor plugin
(pip install snakemake-executor-plugin-slurm==2.8.0); it skips with the reason otherwise,
and fails instead of skipping when MEMORIZATION_REQUIRE_SLURM=1 (CI sets it).
Run: python -m pytest -m slurm tests/integration/test_slurm.py
"""

import collections
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(7200)]

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPTS = REPO / "tests" / "slurm"
STATE = Path(os.environ.get("SLURM_LOCAL_STATE", "/tmp/memorization-slurm"))
CONFIG = "config/test.yaml"
# What the cluster builds: the whole test scale by default; CI names a subset of figures so that
# the local run, the SLURM run and the failure/rerun fit its time budget beside the main suite.
TARGETS = os.environ.get("MEMORIZATION_SLURM_TARGETS", "all").split()
SCALE = "test"
CANNOT_RUN_HERE = 77
# Seconds; each run is also bounded by `timeout -k`, because Snakemake ignores SIGTERM
# while it waits for running jobs.
CLUSTER_UP_LIMIT = 900
LOCAL_RUN_LIMIT = 1200
SLURM_RUN_LIMIT = 3600
# Jobs at once (SLURM jobs in the queue, local cores); 2 fills a 2-core CI machine.
JOBS = os.environ.get("MEMORIZATION_TEST_JOBS", "2")
# Where the local cluster takes jobs: its only partition, and root's account.
SLURM_ARGS = [
    "--profile",
    "profiles/slurm",
    "--default-resources",
    "slurm_partition=debug",
    "slurm_account=root",
    # The profile waits 20 s before the first status check (kind to a shared cluster);
    # the test's jobs take seconds.
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--jobs",
    JOBS,
]
# Outputs that legitimately differ between two runs: logs, timings, provenance records
# (host, time, job id), and binary files that embed a timestamp.
VOLATILE_DIRS = {"logs", "benchmarks"}
VOLATILE_SUFFIXES = {".keras", ".png", ".pdf", ".log", ".tsv"}
VOLATILE_NAME_PARTS = ("provenance",)
VOLATILE_KEYS = {"seconds", "steps_per_second", "steps_per_s"}  # wall-clock timings in history.csv and training.json
RELATIVE_TOLERANCE = 1e-9


def skip_or_fail(reason: str):
    if os.environ.get("MEMORIZATION_REQUIRE_SLURM") == "1":
        pytest.fail(f"the SLURM test is required here (MEMORIZATION_REQUIRE_SLURM=1) but cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm_env():
    """Environment for SLURM commands; brings the local cluster up and, if it did, down again."""
    if sys.platform != "linux":
        skip_or_fail("needs Linux")
    if os.geteuid() != 0:
        skip_or_fail("needs root: it installs Debian packages and starts the SLURM daemons")
    if shutil.which("apt-get") is None and shutil.which("slurmctld", path="/usr/sbin:/usr/bin") is None:
        skip_or_fail("needs apt-get (Debian/Ubuntu) to install SLURM, or SLURM already installed")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        skip_or_fail("the SLURM executor plugin is missing: pip install snakemake-executor-plugin-slurm==2.8.0")

    env = dict(os.environ, SLURM_LOCAL_STATE=str(STATE), SLURM_UP_TIMEOUT=str(CLUSTER_UP_LIMIT))
    up = subprocess.run(
        [str(CLUSTER_SCRIPTS / "cluster_up.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLUSTER_UP_LIMIT + 120,
    )
    print(up.stdout, up.stderr, sep="\n")
    if up.returncode == CANNOT_RUN_HERE:
        skip_or_fail(up.stderr.strip().splitlines()[-1].removeprefix("SKIP: "))
    assert up.returncode == 0, f"cluster_up.sh failed (rc {up.returncode}):\n{up.stdout}\n{up.stderr}"
    started_here = "already up" not in up.stdout
    daemons = [line.split() for line in (STATE / "pids").read_text().splitlines()]

    env["SLURM_CONF"] = str(STATE / "etc" / "slurm.conf")
    env["PATH"] = f"/usr/sbin:/sbin:{env['PATH']}"
    yield env

    if started_here:
        down = subprocess.run(
            [str(CLUSTER_SCRIPTS / "cluster_down.sh")], env=env, capture_output=True, text=True, timeout=300
        )
        print(down.stdout, down.stderr, sep="\n")
        assert down.returncode == 0, down.stderr
        still_running = [name for name, pid, start in daemons if _start_time(int(pid)) == start]
        assert still_running == [], f"daemons left running after cluster_down.sh: {still_running}"


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def copy_project(destination: Path) -> Path:
    """The project's files (tracked, and new ones git does not ignore) in a fresh directory."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True
    )
    if listing.returncode != 0:  # not a git checkout (e.g. an unpacked archive)
        ignore = shutil.ignore_patterns("results", ".snakemake", ".venv", "__pycache__", ".pytest_cache", "*.egg-info")
        shutil.copytree(REPO, destination, ignore=ignore, dirs_exist_ok=True)
        return destination
    for name in filter(None, listing.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def workflow_env(project: Path, base: dict) -> dict:
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), base.get("PYTHONPATH")]))
    mirror = base.get("MEMORIZATION_DATA_MIRROR") or str(REPO.parent / "shared" / "data")
    if Path(mirror).is_dir():
        env["MEMORIZATION_DATA_MIRROR"] = mirror
    return env


def snakemake(project: Path, env: dict, args: list[str], limit: int) -> subprocess.CompletedProcess:
    command = ["timeout", "-k", "30", str(limit), sys.executable, "-m", "snakemake", *TARGETS]
    command += ["--configfile", CONFIG, *args]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=limit + 120)
    (project / f"snakemake-{len(list(project.glob('snakemake-*.out')))}.out").write_text(result.stdout + result.stderr)
    return result


SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+)\)\.$", re.M)
JOB_HEADER = re.compile(r"^(localrule|rule) (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)


def jobs_in_log(text: str) -> tuple[dict[int, tuple[str, bool]], dict[int, int]]:
    """(Snakemake job id -> (rule, is local rule), Snakemake job id -> SLURM job id) from a run's output."""
    jobs = {int(jobid): (rule, kind == "localrule") for kind, rule, jobid in JOB_HEADER.findall(text)}
    slurm_ids = {int(jobid): int(slurm_id) for jobid, slurm_id, _ in SUBMITTED.findall(text)}
    return jobs, slurm_ids


def planned_jobs(project: Path, env: dict) -> collections.Counter:
    dry = snakemake(project, env, [*SLURM_ARGS, "--dry-run"], 300)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    table = dry.stdout[dry.stdout.index("Job stats:") :].split("\n\n")[0]
    counts = collections.Counter({rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.M)})
    del counts["total"]
    return counts


def sacct_states(slurm_ids, env: dict, wait_s: float = 60) -> dict[int, tuple[str, str, str]]:
    """SLURM job id -> (state, exit code, comment), once accounting has every job's final state."""
    deadline = time.monotonic() + wait_s
    while True:
        result = subprocess.run(
            ["sacct", "-X", "--noheader", "--parsable2", "--clusters", "all", "-S", "now-1days"]
            + ["-j", ",".join(map(str, sorted(slurm_ids))), "-o", "JobID,State,ExitCode,Comment"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        rows = [line.split("|") for line in result.stdout.splitlines() if "|" in line]
        states = {int(row[0]): (row[1], row[2], row[3]) for row in rows if row[0].isdigit()}
        final = all(states.get(job, ("PENDING",))[0] not in ("PENDING", "RUNNING", "COMPLETING") for job in slurm_ids)
        if final or time.monotonic() > deadline:
            return states
        time.sleep(1)


def comparable_outputs(results: Path) -> list[Path]:
    files = []
    for path in sorted(results.rglob("*")):
        relative = path.relative_to(results)
        if not path.is_file() or VOLATILE_DIRS & set(relative.parts) or path.suffix in VOLATILE_SUFFIXES:
            continue
        if any(volatile in part for part in relative.parts for volatile in VOLATILE_NAME_PARTS):
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue  # hidden: a training job's lock (it holds the job's pid), temporaries
        files.append(relative)
    return files


def assert_same_values(a, b, where: str):
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{where}: keys differ: {sorted(a.keys() ^ b.keys())}"
        for key in a.keys() - VOLATILE_KEYS:
            assert_same_values(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: lengths differ"
        for index, (x, y) in enumerate(zip(a, b)):
            assert_same_values(x, y, f"{where}[{index}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300) or (
            math.isnan(a) and math.isnan(b)
        ), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_file(a: Path, b: Path, name: str):
    if a.suffix == ".csv":
        x, y = (pd.read_csv(path).drop(columns=VOLATILE_KEYS, errors="ignore") for path in (a, b))
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=RELATIVE_TOLERANCE)
    elif a.suffix == ".json":
        assert_same_values(json.loads(a.read_text()), json.loads(b.read_text()), name)
    elif a.suffix == ".npz":
        with np.load(a) as x, np.load(b) as y:
            assert sorted(x.files) == sorted(y.files), name
            for key in x.files:
                np.testing.assert_allclose(x[key], y[key], rtol=RELATIVE_TOLERANCE, err_msg=f"{name}:{key}")
    else:
        assert a.read_bytes() == b.read_bytes(), f"{name} differs"


@pytest.fixture(scope="module")
def slurm_run(slurm_env, tmp_path_factory):
    """The test scale run once through the SLURM profile: (project copy, run output, env)."""
    project = copy_project(tmp_path_factory.mktemp("slurm-run"))
    env = workflow_env(project, slurm_env)
    planned = planned_jobs(project, env)
    result = snakemake(project, env, SLURM_ARGS, SLURM_RUN_LIMIT)
    assert result.returncode == 0, f"SLURM run failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return project, planned, result.stdout + result.stderr, env


def test_every_cluster_job_ran_on_slurm_and_completed(slurm_run):
    project, planned, output, env = slurm_run
    jobs, slurm_ids = jobs_in_log(output)

    assert sum(planned.values()) == len(
        jobs
    ), f"planned {planned}, ran {collections.Counter(r for r, _ in jobs.values())}"
    assert collections.Counter(rule for rule, _ in jobs.values()) == planned
    cluster_jobs = {jobid for jobid, (rule, local) in jobs.items() if not local}
    assert cluster_jobs, "no job went to SLURM"
    assert set(slurm_ids) == cluster_jobs, "every non-local job, and only those, must be submitted to SLURM"

    states = sacct_states(slurm_ids.values(), env)
    for jobid, slurm_id in slurm_ids.items():
        rule = jobs[jobid][0]
        state, exit_code, comment = states.get(slurm_id, ("missing in sacct", "", ""))
        assert (state, exit_code) == ("COMPLETED", "0:0"), f"rule {rule}: SLURM job {slurm_id} is {state} {exit_code}"
        assert comment.startswith(f"rule_{rule}"), f"SLURM job {slurm_id} has comment {comment!r}, expected rule {rule}"
    print(f"{len(slurm_ids)} SLURM jobs COMPLETED: {collections.Counter(jobs[j][0] for j in slurm_ids)}")


def test_slurm_outputs_equal_a_local_run(slurm_run, tmp_path_factory):
    slurm_project, _, _, env = slurm_run
    local_project = copy_project(tmp_path_factory.mktemp("local-run"))
    local_env = {key: value for key, value in workflow_env(local_project, env).items() if key != "SLURM_CONF"}
    result = snakemake(local_project, local_env, ["--cores", JOBS], LOCAL_RUN_LIMIT)
    assert result.returncode == 0, f"local run failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"

    local_results = local_project / "results" / SCALE
    slurm_results = slurm_project / "results" / SCALE
    local_files = comparable_outputs(local_results)
    assert local_files, "the local run produced nothing to compare"
    assert comparable_outputs(slurm_results) == local_files
    for name in local_files:
        assert_same_file(local_results / name, slurm_results / name, str(name))


def project_layout(project: Path):
    """The runs and batched jobs of the project's test config, as the workflow sees them."""
    import yaml
    from snakemake.utils import update_config

    from memorization.config import fill_defaults
    from memorization.layout import Layout

    config = yaml.safe_load((project / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((project / CONFIG).read_text()))
    fill_defaults(config, project / "config" / "schema" / "config.schema.yaml")
    return Layout(config)


def test_failed_job_names_rule_and_log_and_rerun_continues(slurm_run):
    project, _, _, env = slurm_run
    layout = project_layout(project)
    # Two runs of one claim whose models are their own (models/<claim>-<run>/, not a shared
    # model), measured by two different batched jobs.
    results = project / "results" / SCALE
    by_claim = collections.defaultdict(list)
    for run in sorted((results / "runs").glob("*/*")):
        if (run / "metrics.json").is_file() and (results / "models" / f"{run.parent.name}-{run.name}").is_dir():
            by_claim[run.parent.name].append(run)
    pairs = [
        (first, second)
        for runs in by_claim.values()
        for first in runs
        for second in runs
        if layout.batch_of_run[(first.parent.name, first.name)] != layout.batch_of_run[(second.parent.name, second.name)]
    ]
    assert pairs, "needs two measured runs of one claim in two measure jobs"
    broken, healthy = pairs[0]
    broken_job = layout.batch_of_run[(broken.parent.name, broken.name)].name
    healthy_job = layout.batch_of_run[(healthy.parent.name, healthy.name)].name
    measured = ["metrics.json", "examples.npz", "metrics.provenance.json"]
    for run in (broken, healthy):
        for name in measured:
            (run / name).unlink()
    # A model file that is not one makes its measure job fail on the cluster; train does
    # not rerun, since its inputs did not change.
    model = results / "models" / f"{broken.parent.name}-{broken.name}" / "model.keras"
    good_model = model.read_bytes()
    model.write_bytes(b"this is not a Keras model")

    failed = snakemake(project, env, SLURM_ARGS, SLURM_RUN_LIMIT)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    jobs, slurm_ids = jobs_in_log(output)
    assert sorted(rule for rule, local in jobs.values() if not local) == sorted([broken_job, healthy_job])
    error = output[output.index(f"Error in rule {broken_job}:") :].split("\n\n")[0]
    assert f"run={broken.name}" in error or broken.name in error, error
    rule_log = f"results/{SCALE}/logs/{broken.parent.name}/measure/{broken.name}.log"
    assert rule_log in error, f"the error report must name the rule's log {rule_log}:\n{error}"
    slurm_log = re.search(rf"(\S+/\.snakemake/slurm_logs/rule_{broken_job}/\S+\.log)", error)
    assert slurm_log and Path(slurm_log.group(1)).is_file(), f"the error report must name the SLURM log:\n{error}"
    assert (project / rule_log).is_file()
    states = sacct_states(slurm_ids.values(), env)
    assert sorted(state for state, _, _ in states.values()) == ["COMPLETED", "FAILED"]
    assert (healthy / "metrics.json").is_file(), "keep-going: the healthy run's measure job finished"
    healthy_mtime = (healthy / "metrics.json").stat().st_mtime_ns

    model.write_bytes(good_model)
    rerun = snakemake(project, env, SLURM_ARGS, SLURM_RUN_LIMIT)
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, output[-6000:]
    jobs, slurm_ids = jobs_in_log(output)
    rerun_rules = collections.Counter(rule for rule, local in jobs.values() if not local)
    # Only the failed measure job reruns (then its claim's summary and figure), no training.
    assert rerun_rules[broken_job] == 1, rerun_rules
    assert not any(rule.startswith(("train_", "measure_")) and rule != broken_job for rule in rerun_rules), rerun_rules
    assert (healthy / "metrics.json").stat().st_mtime_ns == healthy_mtime
    assert all(state == "COMPLETED" for state, _, _ in sacct_states(slurm_ids.values(), env).values())
