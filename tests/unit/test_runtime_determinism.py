"""runtime.configure: the determinism switches, TensorFlow's thread pools and the seeds (device,
GPU and one-thread settings are tests/unit/test_runtime.py).

Keras fixes its backend when first imported, so each case runs `configure` in a fresh Python
process started with none of the variables it sets, and reports what it found there.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.keras  # each probe imports Keras in its own process
SRC = Path(__file__).resolve().parents[2] / "src"
SET_BY_CONFIGURE = (
    "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "CUBLAS_WORKSPACE_CONFIG", "XLA_FLAGS", "OMP_NUM_THREADS",
    "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "KERAS_BACKEND",
)
PROBE = """
import json, os, random, sys
import numpy as np
from memorization.runtime import configure
backend, threads, deterministic = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
keras = configure(backend=backend, threads=threads, seed=3, float_dtype="float64", deterministic=deterministic)
found = {name: os.environ.get(name) for name in json.loads(sys.argv[4])}
found.update(floatx=keras.config.floatx(), backend=keras.backend.backend(), python_draw=random.random(),
             numpy_draw=float(np.random.rand()),
             keras_draw=keras.ops.convert_to_numpy(keras.random.uniform((3,))).tolist())
if backend == "tensorflow":
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config  # the public API only has the setter
    found.update(op_determinism=tf_config.is_op_determinism_enabled(),
                 intra=tf.config.threading.get_intra_op_parallelism_threads(),
                 inter=tf.config.threading.get_inter_op_parallelism_threads())
if backend == "jax":
    import jax
    found.update(x64=bool(jax.config.jax_enable_x64))
print(json.dumps(found))
"""


def probe(backend: str, threads: int, deterministic: bool) -> dict:
    environment = {name: value for name, value in os.environ.items() if name not in SET_BY_CONFIGURE}
    environment["PYTHONPATH"] = str(SRC)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, backend, str(threads), "1" if deterministic else "0", json.dumps(SET_BY_CONFIGURE)],
        capture_output=True, text=True, env=environment, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tensorflow_runs():
    return probe("tensorflow", 2, True), probe("tensorflow", 1, False)


def test_deterministic_tensorflow_switches_on_op_determinism_and_limits_threads(tensorflow_runs):
    found, _ = tensorflow_runs
    assert found["backend"] == "tensorflow" and found["floatx"] == "float64"
    assert found["op_determinism"] is True
    assert found["TF_DETERMINISTIC_OPS"] == "1" and found["TF_CUDNN_DETERMINISTIC"] == "1"
    assert found["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert found["intra"] == 2 and found["inter"] == 1
    assert {found[name] for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "TF_NUM_INTRAOP_THREADS")} == {"2"}
    assert found["TF_NUM_INTEROP_THREADS"] == "1"
    assert found["XLA_FLAGS"] is None  # more than one thread: XLA keeps its own pool


def test_without_determinism_nothing_is_forced_and_the_seeds_are_the_same(tensorflow_runs):
    forced, free = tensorflow_runs
    assert free["op_determinism"] is False
    assert free["TF_DETERMINISTIC_OPS"] is None and free["TF_CUDNN_DETERMINISTIC"] is None
    assert free["intra"] == 1 and "--xla_cpu_multi_thread_eigen=false" in free["XLA_FLAGS"]
    # The seed, not the determinism switch, fixes every random draw: Python's, NumPy's and Keras's.
    assert forced["python_draw"] == free["python_draw"] == random.Random(3).random()
    assert forced["numpy_draw"] == free["numpy_draw"] == np.random.RandomState(3).rand()
    assert forced["keras_draw"] == free["keras_draw"]


def test_deterministic_jax_asks_xla_for_deterministic_ops_and_keeps_float64():
    found = probe("jax", 1, True)
    assert found["backend"] == "jax" and found["x64"] is True and found["floatx"] == "float64"
    flags = found["XLA_FLAGS"].split()
    assert "--xla_gpu_deterministic_ops=true" in flags and "--xla_cpu_multi_thread_eigen=false" in flags
    assert found["numpy_draw"] == np.random.RandomState(3).rand()


def test_configure_refuses_bad_settings_with_one_line():
    from memorization.errors import ConfigError
    from memorization.runtime import configure

    for arguments, message in (
        ({"backend": "theano"}, "backend must be one of tensorflow, jax, torch, got 'theano'"),
        ({"float_dtype": "float16"}, "float_dtype must be one of float32, float64, got 'float16'"),
        ({"threads": 0}, "threads must be an integer >= 1, got 0"),
    ):
        with pytest.raises(ConfigError) as error:
            configure(**arguments)
        assert str(error.value) == message
