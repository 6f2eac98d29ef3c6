"""`memorization status`: running, finished and failed training jobs from hand-made logs in the
formats of `scripting.StepLog` and `training.ProgressReporter`."""

from datetime import datetime, timezone

import pytest

from memorization import cli
from memorization.status import StatusError, parse_log, render, scan

DONE = """\
[2026-11-29T22:42:49+00:00] train c6-lin1-s4-L1-n1-fanin-s0-9ca030: started with 1 thread(s), backend tensorflow
[2026-11-29T22:42:50+00:00] linear_conv_s4_d1: 9 parameters, 1 convolutions
[2026-11-29T22:42:51+00:00] step 8/50  loss 4.940e-02  first chunk (compiling)
[2026-11-29T22:42:51+00:00] step 50/50  loss 2.080e-02  322.2 steps/s  ETA 0 s
[2026-11-29T22:42:51+00:00] stopped at the step cap 50 with loss 2.080e-02
[2026-11-29T22:42:51+00:00] train c6-lin1-s4-L1-n1-fanin-s0-9ca030: done
"""
RUNNING = """\
[2026-11-29T22:00:00+00:00] train mlp-selu-w1024-d4-n10-fanin-s0-51bcac: started with 1 thread(s), backend tensorflow
[2026-11-29T22:00:05+00:00] step 8/8000  loss 1.282e-01  first chunk (compiling)
[2026-11-29T22:01:02+00:00] step 120/8000  loss 1.200e-03  35.1 steps/s  ETA 224 s
"""
FAILED = """\
[2026-11-29T21:00:00+00:00] train c1-linear-w0zeros-gd-n10-s0: started with 1 thread(s), backend tensorflow
[2026-11-29T21:00:02+00:00] step 40/900  loss 3.000e-01  12.0 steps/s  ETA 72 s
[2026-11-29T21:00:03+00:00] error: training of c1-linear-w0zeros-gd-n10-s0 stopped: the loss became NaN at step 41
"""
# A failed first attempt, then a rerun that finished: only the rerun counts.
RERUN = FAILED + DONE.replace("c6-lin1-s4-L1-n1-fanin-s0-9ca030", "c1-linear-w0zeros-gd-n10-s0")


def logs(tmp_path):
    results = tmp_path / "results" / "quick"
    files = {
        "models/c6-lin1-s4-L1-n1-fanin-s0-9ca030/train.log": DONE,
        "models/mlp-selu-w1024-d4-n10-fanin-s0-51bcac/train.log": RUNNING,
        "models/c1-linear-w0zeros-gd-n10-s0/train.log": FAILED,
        "models/c2-single-tanh-gd-n10-s0/train.log": RERUN.replace("c1-linear-w0zeros-gd-n10-s0", "c2-single-tanh-gd-n10-s0"),
        "c6/measure/lin1-s4-L1-n1-fanin-s0-9ca030.log": "[2026-11-29T22:43:00+00:00] measure c6/x: started\n",
        "models/empty/train.log": "",
    }
    for name, text in files.items():
        path = results / "logs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return results


def test_each_state_is_read_from_its_log():
    done = parse_log("x", DONE)
    assert (done.state, done.step, done.total, done.loss) == ("done", 50, 50, "2.080e-02")
    running = parse_log("x", RUNNING)
    assert (running.state, running.step, running.total, running.loss, running.eta_s) == (
        "running", 120, 8000, "1.200e-03", 224.0)
    assert running.name == "mlp-selu-w1024-d4-n10-fanin-s0-51bcac"
    failed = parse_log("x", FAILED)
    assert failed.state == "failed" and "NaN at step 41" in failed.error and failed.step == 40
    rerun = parse_log("x", RERUN)
    assert rerun.state == "done" and rerun.error is None
    assert parse_log("x", "") is None


def test_summary_lists_training_jobs_and_totals(tmp_path):
    jobs = scan(logs(tmp_path))
    assert [job.name for job in jobs] == [
        "c1-linear-w0zeros-gd-n10-s0", "c2-single-tanh-gd-n10-s0", "c6-lin1-s4-L1-n1-fanin-s0-9ca030",
        "mlp-selu-w1024-d4-n10-fanin-s0-51bcac",
    ]
    text = render(jobs, "results/quick", now=datetime(2026, 11, 29, 22, 2, 2, tzinfo=timezone.utc))
    lines = text.splitlines()
    running = next(line for line in lines if line.startswith("mlp-"))
    assert running.split()[1:6] == ["running", "120/8000", "1.200e-03", "3", "min"]  # ETA 224 s
    assert "60 s ago" in running
    assert "4 training jobs: 1 running, 2 done, 1 failed" in text
    assert "failed: c1-linear-w0zeros-gd-n10-s0: training of c1-linear-w0zeros-gd-n10-s0 stopped" in text


def test_cli(tmp_path, capsys):
    results = logs(tmp_path)
    assert cli.main(["status", str(results)]) == 0
    assert "1 running, 2 done, 1 failed" in capsys.readouterr().out
    assert cli.main(["status", str(tmp_path / "absent")]) == 2
    assert "no such results folder" in capsys.readouterr().err
    (tmp_path / "nologs").mkdir()
    assert cli.main(["status", str(tmp_path / "nologs")]) == 2


def test_nothing_started_yet(tmp_path):
    (tmp_path / "logs").mkdir()
    assert "no training job has started yet" in render(scan(tmp_path), tmp_path)
    with pytest.raises(StatusError):
        scan(tmp_path / "absent")
