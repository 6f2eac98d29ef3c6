"""One training process per model, and none that outlives its Snakemake."""

import subprocess
import sys
import time

import psutil
import pytest

from memorization.supervision import AlreadyRunning, Orphaned, OrphanWatch, exclusive

from conftest import REPO


def test_a_second_holder_of_a_models_lock_waits_then_fails_naming_the_first(tmp_path):
    with exclusive(tmp_path, "train m"):
        started = time.monotonic()
        with pytest.raises(AlreadyRunning, match=r"train m: another process \(pid \d+\) is still training"):
            with exclusive(tmp_path, "train m", wait_seconds=0.5):
                pass
        assert time.monotonic() - started >= 0.5
    with exclusive(tmp_path, "train m", wait_seconds=0):  # released: free again
        pass


def test_the_lock_is_taken_as_soon_as_the_holder_ends(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        f"import sys, time; sys.path.insert(0, {str(REPO / 'src')!r})\n"
        "from memorization.supervision import exclusive\n"
        f"with exclusive({str(tmp_path)!r}, 'x'):\n    print('locked', flush=True); time.sleep(1.5)\n"
    )], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with exclusive(tmp_path, "train m", wait_seconds=30):
        assert holder.poll() is not None  # acquired only after the holder let go
    holder.wait()


def test_the_watch_stops_the_job_once_its_parent_process_is_gone():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(Orphaned, match=rf"pid {parent.pid}\) is gone"):
            with OrphanWatch([psutil.Process(parent.pid)], interval=0.05):
                parent.kill()
                parent.wait()
                for _ in range(200):  # the exception arrives between Python instructions
                    time.sleep(0.05)
    finally:
        parent.kill()


def test_the_watch_lets_a_job_finish_while_its_parent_lives():
    with OrphanWatch([psutil.Process()], interval=0.01) as watch:
        time.sleep(0.1)
    assert watch.gone is None
