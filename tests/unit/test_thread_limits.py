"""`runtime.configure(threads=N)` holds every installed backend and NumPy's BLAS to N threads.

Each case runs in its own process (the limits are set before a backend starts): a matrix product
of the backend, the training engine on a small MLP, and a NumPy product (NumPy loaded its BLAS
before `configure`, as a script that imports NumPy first does). Two measures: process CPU time
over wall time, which can never exceed the number of threads that compute at once, and a
sampler that reads every thread's scheduler state each few milliseconds and counts those
running or waiting to run. The CPU-time ratio falls on a loaded machine, the count does not, so
the count is what tells one thread from two on a busy machine.
"""

import json
import os
import subprocess
import sys
from importlib import util

import pytest

from conftest import REPO

BACKENDS = ["tensorflow", "jax", "torch"]
SECONDS = 1.0

MEASURE_THREADS = r"""
import json, os, sys, threading, time
import numpy as np

backend, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
np.ones((256, 256)) @ np.ones((256, 256))  # NumPy's BLAS starts its own pool before configure
from memorization.runtime import configure

keras = configure(backend=backend, threads=threads)
square = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)


def backend_product():
    if backend == "jax":
        import jax

        matrix, product = jax.device_put(square), jax.jit(lambda p: p @ p)
        return lambda: product(matrix).block_until_ready()
    if backend == "tensorflow":
        import tensorflow as tf

        matrix = tf.constant(square)
        return lambda: tf.linalg.matmul(matrix, matrix).numpy()
    import torch

    matrix = torch.as_tensor(square)
    return lambda: torch.matmul(matrix, matrix)


def engine():
    from memorization.training import fit_full_batch

    inputs = keras.Input(shape=(512,))
    hidden = inputs
    for _ in range(3):
        hidden = keras.layers.Dense(512, use_bias=False)(hidden)
    model, optimizer = keras.Model(inputs, hidden), keras.optimizers.Adam(1e-4)
    x = np.random.default_rng(1).uniform(size=(256, 512)).astype("float32")
    return lambda: fit_full_batch(model, x, x, optimizer=optimizer, max_steps=20, log=lambda _: None)


def threads_ready_to_run(sampler_id):
    count = 0
    for thread_id in os.listdir("/proc/self/task"):
        if int(thread_id) == sampler_id:
            continue
        try:
            with open(f"/proc/self/task/{thread_id}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # the thread ended
        count += state == "R"
    return count


def measure(step):
    step(), step()  # compile, warm caches
    counts, stop = [], threading.Event()

    def sample():
        own = threading.get_native_id()
        while not stop.is_set():
            counts.append(threads_ready_to_run(own))
            time.sleep(0.003)

    sampler = threading.Thread(target=sample)
    sampler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        step()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stop.set()
    sampler.join()
    return {"cpu_per_wall": cpu / wall, "ready": counts}


result = {"product": measure(backend_product()), "engine": measure(engine()), "numpy": measure(lambda: square @ square)}
print("RESULT " + json.dumps(result))
"""


def measure_threads(backend: str, threads: int) -> tuple[dict, float]:
    environment = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PJRT_NPROC", "XLA_FLAGS",
                 "TF_NUM_INTRAOP_THREADS"):
        environment.pop(name, None)  # the limit must come from configure, not from this process
    load_before = os.getloadavg()[0]
    completed = subprocess.run(
        [sys.executable, "-c", MEASURE_THREADS, backend, str(threads), str(SECONDS)],
        capture_output=True, text=True, timeout=600, env=environment,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT ")), max(load_before, os.getloadavg()[0])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("backend", BACKENDS)
def test_configure_holds_every_library_to_its_thread_count(backend, threads):
    if util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    if threads > len(os.sched_getaffinity(0)):
        pytest.skip(f"needs {threads} cores")
    measured, load = measure_threads(backend, threads)
    for workload, numbers in measured.items():
        ready = numbers["ready"]
        assert len(ready) >= 50, f"{workload}: too few samples"
        # Hand-offs between a dispatching and a computing thread show up as brief overlaps. With
        # more threads than one, a third thread is ready beside TensorFlow's two workers even on
        # a quiet machine (its product at 2 threads, load 0.3-0.5: 3 ready in 23-63% of samples,
        # never 4), so one extra ready thread is allowed there; whether it computes shows in CPU
        # time over wall time, which stays below N + 0.3 wherever there are spare cores. A machine
        # loaded by other processes adds more (seen: load 3), so the count is only judged on a
        # quiet machine; one thread is judged always, and CPU time always.
        allowed = threads if threads == 1 else threads + 1
        over = sum(count > allowed for count in ready) / len(ready)
        mean = sum(ready) / len(ready)
        where = f"{backend}, threads={threads}, {workload}: cpu/wall {numbers['cpu_per_wall']:.2f}, " \
                f"mean ready {mean:.2f}, more than {allowed} ready {100 * over:.0f}% of the time"
        if threads == 1 or load < 1.0:
            assert over <= 0.15 and mean <= allowed + 0.2, where
        assert numbers["cpu_per_wall"] <= threads + 0.3, where
        if workload != "engine":  # the small MLP's steps need not fill every thread; products do
            # "Near N", not just "at most N": the limit must not clamp every job to one thread.
            assert mean >= 0.65 * threads, where
            if load < 0.3:  # an idle machine: the CPU time itself shows the threads at work
                assert numbers["cpu_per_wall"] >= 0.65 * threads, where
