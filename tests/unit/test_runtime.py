"""`runtime.configure` and `runtime.begin_run`: GPU-ready settings (checked on a CPU), the device
choice, and runs that follow each other in one process starting as they would in their own."""

import json
import os
import subprocess
import sys
from importlib import util

import pytest

from conftest import REPO

BACKENDS = ["tensorflow", "jax", "torch"]

REPORT_SETTINGS = r"""
import json, os, sys
from memorization.runtime import configure, gpu_visible

backend, device = sys.argv[1], sys.argv[2]
keras = configure(backend=backend, threads=1, device=device)
report = {name: os.environ.get(name) for name in (
    "CUDA_VISIBLE_DEVICES", "JAX_PLATFORMS", "TF_FORCE_GPU_ALLOW_GROWTH", "XLA_PYTHON_CLIENT_PREALLOCATE",
    "XLA_PYTHON_CLIENT_MEM_FRACTION", "PJRT_NPROC", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
report["gpu_visible"] = gpu_visible()
if backend == "tensorflow":
    import tensorflow as tf

    report["tf32"] = tf.config.experimental.tensor_float_32_execution_enabled()
    report["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
elif backend == "jax":
    import jax

    report["matmul_precision"] = jax.config.jax_default_matmul_precision
    report["x64"] = jax.config.read("jax_enable_x64")
    report["async_dispatch"] = jax.config.read("jax_cpu_enable_async_dispatch")
    report["platform"] = jax.default_backend()
else:
    import torch

    report["tf32"] = torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32
    report["matmul_precision"] = torch.get_float32_matmul_precision()
    report["intra_op_threads"] = torch.get_num_threads()
print("RESULT " + json.dumps(report))
"""


def run_child(script: str, *arguments: str, **environment_changes) -> dict:
    environment = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    for name in ("CUDA_VISIBLE_DEVICES", "JAX_PLATFORMS", "TF_FORCE_GPU_ALLOW_GROWTH", "XLA_PYTHON_CLIENT_PREALLOCATE",
                 "XLA_PYTHON_CLIENT_MEM_FRACTION", "PJRT_NPROC"):
        environment.pop(name, None)
    environment.update(environment_changes)
    completed = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True,
                               timeout=600, env=environment)
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def installed_or_skip(backend: str) -> None:
    if util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")


@pytest.mark.parametrize("backend", BACKENDS)
def test_full_float32_no_preallocation_and_one_thread_on_every_backend(backend):
    installed_or_skip(backend)
    report = run_child(REPORT_SETTINGS, backend, "auto")
    assert report["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and report["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert report["PJRT_NPROC"] == report["OMP_NUM_THREADS"] == report["OPENBLAS_NUM_THREADS"] == "1"
    assert report["CUDA_VISIBLE_DEVICES"] is None  # "auto" hides nothing
    if backend == "jax":
        assert report["matmul_precision"] == "highest" and report["x64"] is True
        assert report["async_dispatch"] is False
    else:
        assert report["tf32"] is False and report["intra_op_threads"] == 1
    if backend == "torch":
        assert report["matmul_precision"] == "highest"


@pytest.mark.parametrize("backend", BACKENDS)
def test_device_cpu_hides_every_gpu_before_the_backend_starts(backend):
    installed_or_skip(backend)
    report = run_child(REPORT_SETTINGS, backend, "cpu")
    assert report["CUDA_VISIBLE_DEVICES"] == "" and report["JAX_PLATFORMS"] == "cpu"
    assert report["gpu_visible"] is False
    if backend == "jax":
        assert report["platform"] == "cpu"


def test_a_memory_fraction_the_user_set_stands():
    report = run_child(REPORT_SETTINGS, "tensorflow", "auto", XLA_PYTHON_CLIENT_PREALLOCATE="true",
                       XLA_PYTHON_CLIENT_MEM_FRACTION="0.3")
    assert report["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true" and report["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.3"


BATCHED_RUNS = r"""
import json
import numpy as np
from memorization.runtime import begin_run, configure

keras = configure(backend="tensorflow", threads=1, seed=0, float_dtype="float32")


def build():
    inputs = keras.Input(shape=(6,))
    dense = keras.layers.Dense(5)
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(dense(inputs), training=True))
    return {"weights": model.get_weights()[0].ravel().tolist(), "name": dense.name,
            "dtype": str(model.outputs[0].dtype), "noise": float(keras.random.normal(())),
            "numpy": float(np.random.rand())}


begin_run(7, "float64")
first = build()
build(), build()  # another run's work in between: more layers, draws from every generator
begin_run(3, "float32")
other = build()
begin_run(7, "float64")
again = build()
print("RESULT " + json.dumps({"first": first, "other": other, "again": again}))
"""


def test_begin_run_starts_each_run_as_in_a_process_of_its_own():
    runs = run_child(BATCHED_RUNS)
    assert runs["again"] == runs["first"]
    assert runs["first"]["dtype"].endswith("float64") and runs["other"]["dtype"].endswith("float32")
    assert runs["other"]["weights"] != runs["first"]["weights"]


def test_configure_rejects_an_unknown_device_and_a_gpu_that_is_not_there():
    from memorization.errors import ConfigError
    from memorization.runtime import configure

    with pytest.raises(ConfigError, match="device must be one of auto, cpu, gpu"):
        configure(backend=os.environ["KERAS_BACKEND"], device="tpu")
    with pytest.raises(ConfigError, match="threads must be an integer >= 1"):
        configure(backend=os.environ["KERAS_BACKEND"], threads=0)


def test_device_gpu_without_a_gpu_is_a_one_line_error():
    script = r"""
from memorization.errors import ConfigError
from memorization.runtime import configure
try:
    configure(backend="tensorflow", device="gpu")
except ConfigError as error:
    print("RESULT " + __import__("json").dumps({"error": str(error)}))
else:
    print("RESULT " + __import__("json").dumps({"error": None}))
"""
    error = run_child(script)["error"]
    if error is None:
        pytest.skip("this machine has a GPU")
    assert "finds no GPU" in error and "\n" not in error


def test_default_device_keeps_float64_nets_on_the_cpu():
    from memorization.runtime import default_device

    assert default_device("float64") == "cpu" and default_device("float32") == "auto"
