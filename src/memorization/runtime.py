"""The one place that chooses the Keras backend, thread counts, float precision and seeds.

Keras reads ``KERAS_BACKEND`` once, at import time, so `configure` must run before anything
imports Keras. Scripts call it first; library modules never call it.
"""

from __future__ import annotations

import os
import sys

from memorization.errors import ConfigError

BACKENDS = ("tensorflow", "jax", "torch")
FLOAT_DTYPES = ("float32", "float64")


def configure(
    backend: str = "tensorflow",
    threads: int = 1,
    seed: int = 0,
    float_dtype: str = "float32",
    deterministic: bool = True,
):
    """Set backend, threads, precision and seeds, then import and return Keras."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if float_dtype not in FLOAT_DTYPES:
        raise ConfigError(f"float_dtype must be one of {', '.join(FLOAT_DTYPES)}, got {float_dtype!r}")
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")

    if "keras" in sys.modules:
        active = sys.modules["keras"].backend.backend()
        if active != backend:
            raise ConfigError(
                f"Keras was already imported with backend {active!r}; "
                f"configure(backend={backend!r}) must run before the first Keras import"
            )
    os.environ["KERAS_BACKEND"] = backend
    _limit_threads(threads)
    if deterministic:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        os.environ["TF_CUDNN_DETERMINISTIC"] = "1"
        # cuBLAS needs a fixed workspace to be deterministic under torch.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if backend == "jax":
            # XLA reads this once, when JAX first initialises a device; ignored on CPU.
            flags = os.environ.get("XLA_FLAGS", "")
            if "xla_gpu_deterministic_ops" not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import keras

    keras.config.set_floatx(float_dtype)
    _configure_backend(backend, threads, deterministic)
    keras.utils.set_random_seed(seed)
    return keras


def use_cpu_only() -> None:
    """Keep this process off every GPU, even where one exists.

    For jobs that asked their scheduler for no GPU: the tiny float64 nets of C1, C2, C6 and C7
    run faster on the CPU, and a job that did not reserve a GPU must not take memory on one that
    other jobs share. Must run before the backend is imported; harmless on a CPU-only machine.
    """
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["JAX_PLATFORMS"] = "cpu"


def begin_run(seed: int, float_dtype: str = "float32") -> None:
    """Start one run of a job on a fresh Keras session with its own seed and precision.

    A batched job trains or measures several runs in one process; each must compute what it
    would alone in a job of its own, so nothing of the run before it (layer-name counters,
    cached graphs, the global random state, floatx) may carry over. A job of one run goes
    through here too, so both paths are the same code.
    """
    if float_dtype not in FLOAT_DTYPES:
        raise ConfigError(f"float_dtype must be one of {', '.join(FLOAT_DTYPES)}, got {float_dtype!r}")
    import keras

    keras.backend.clear_session()
    keras.config.set_floatx(float_dtype)
    keras.utils.set_random_seed(seed)


def _limit_threads(threads: int) -> None:
    # BLAS pools, TensorFlow and XLA each start their own threads; a Snakemake job must use
    # only the cores its rule declared, or parallel jobs oversubscribe the machine.
    count = str(threads)
    for name in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
    ):
        os.environ[name] = count
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            flags = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = flags.strip()


def _configure_backend(backend: str, threads: int, deterministic: bool) -> None:
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # already initialised in this process (e.g. a second configure in tests)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
        _keep_float64_in_keras_type_promotion()
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    elif backend == "jax":
        import jax

        # float64 on JAX must be switched on explicitly, or it silently computes in float32.
        jax.config.update("jax_enable_x64", True)
        _keep_float64_in_keras_type_promotion()


def _keep_float64_in_keras_type_promotion() -> None:
    # Keras 3 (up to at least 3.15) maps float64 to float32 in its type promotion on every
    # backend but TensorFlow, so on JAX and PyTorch ops.cos, ops.tanh, ... of a float64 tensor
    # return float32 and a float64 run silently loses precision (tests/unit/test_backends.py).
    try:
        from keras.src.backend.common import dtypes
    except ImportError:  # a Keras without this table does not downcast
        return
    table = getattr(dtypes, "BIT64_TO_BIT32_DTYPE", None)
    if isinstance(table, dict):
        table["float64"] = "float64"


def backend_versions() -> dict[str, str]:
    """Versions of Keras and of the active backend, for provenance records."""
    import keras

    backend = keras.backend.backend()
    versions = {"keras": keras.__version__, "backend": backend}
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    versions[module] = __import__(module).__version__
    return versions
