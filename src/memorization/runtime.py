"""The one place that chooses the Keras backend, device, thread counts, float precision and seeds.

Keras reads ``KERAS_BACKEND`` once, at import time, and the backends read their thread, device
and GPU-memory settings from the environment when they start, so `configure` must run before
anything imports Keras. Scripts call it first; library modules never call it. A process that
trains several runs calls `configure` once and `begin_run` before each run.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from memorization.errors import ConfigError

BACKENDS = ("tensorflow", "jax", "torch")
FLOAT_DTYPES = ("float32", "float64")
# "auto": a GPU if the backend finds one, else the CPU; "cpu": hide every GPU from the backend
# (tiny float64 nets, whose steps are too short to pay for a GPU launch); "gpu": fail unless the
# backend finds one.
DEVICES = ("auto", "cpu", "gpu")

# The thread-count variables of the libraries a job may load. PJRT_NPROC sizes the CPU thread
# pools of JAX's XLA client; XLA ignores --xla_cpu_multi_thread_eigen and OMP_NUM_THREADS, so
# without it a JAX job uses every core of the machine whatever its rule declared.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "PJRT_NPROC")
# Entry points that set the thread count of an OpenBLAS already loaded (NumPy's and SciPy's
# wheels ship it under prefixed names).
OPENBLAS_SETTERS = ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                    "scipy_openblas_set_num_threads64_")


def configure(
    backend: str = "tensorflow",
    threads: int = 1,
    seed: int = 0,
    float_dtype: str = "float32",
    deterministic: bool = True,
    *,
    device: str = "auto",
):
    """Set backend, device, threads, precision and seeds, then import and return Keras.

    On a GPU, float32 stays full float32 (no TF32 matmuls: the loss thresholds near 1e-12
    and the rho margins of 1e-3 need its 24-bit mantissa) and the backends allocate GPU
    memory as they need it instead of taking the whole device, so several jobs share one GPU.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if float_dtype not in FLOAT_DTYPES:
        raise ConfigError(f"float_dtype must be one of {', '.join(FLOAT_DTYPES)}, got {float_dtype!r}")
    if device not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be an integer >= 1, got {threads!r}")

    if "keras" in sys.modules:
        active = sys.modules["keras"].backend.backend()
        if active != backend:
            raise ConfigError(
                f"Keras was already imported with backend {active!r}; "
                f"configure(backend={backend!r}) must run before the first Keras import"
            )
    os.environ["KERAS_BACKEND"] = backend
    limit_threads(threads)
    _choose_device_environment(device)
    # Both read when the backend first touches a GPU; an explicit setting of the user's stands.
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if deterministic:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        os.environ["TF_CUDNN_DETERMINISTIC"] = "1"
        # cuBLAS needs a fixed workspace to be deterministic under torch.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if backend == "jax":
            # XLA reads this once, when JAX first initialises a device; ignored on CPU.
            _add_xla_flag("--xla_gpu_deterministic_ops=true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import keras

    _configure_backend(backend, threads, deterministic, device)
    if device == "gpu" and not gpu_visible():
        raise ConfigError(
            f"device is 'gpu' but {backend} finds no GPU; install its GPU build (see README, GPU) or use device 'auto'"
        )
    begin_run(seed, float_dtype)
    return keras


def begin_run(seed: int, float_dtype: str = "float32"):
    """Start a run in a configured process: fresh Keras state, the run's float type and seeds.

    A run that follows others in the same process then builds the same initial weights, draws
    the same random numbers and gets the same layer names as in a process of its own.
    """
    if float_dtype not in FLOAT_DTYPES:
        raise ConfigError(f"float_dtype must be one of {', '.join(FLOAT_DTYPES)}, got {float_dtype!r}")
    import keras

    # clear_session drops the global seed generator and the layer-name counters; the seed is set
    # after it, so the first random draw of the run starts from ``seed``.
    keras.backend.clear_session()
    keras.config.set_floatx(float_dtype)
    keras.utils.set_random_seed(int(seed))
    return keras


def default_device(float_dtype: str) -> str:
    """The device a job of this float type should ask for: float64 nets of the claims are tiny
    (C1, C2, C6, C7), so they stay on the CPU even where a GPU exists; float32 takes a GPU if any."""
    return "cpu" if float_dtype == "float64" else "auto"


def limit_threads(threads: int) -> None:
    """Hold this process to ``threads`` compute threads in every library it loads or has loaded.

    BLAS pools, TensorFlow, XLA and PyTorch each start their own threads; a Snakemake or SLURM
    job must use only the cores its rule declared, or parallel jobs oversubscribe the machine.
    Environment variables cover libraries loaded later; OpenBLAS and PyTorch, if already
    loaded, are told directly. TensorFlow's pools are set in `configure`.
    """
    count = str(threads)
    for name in THREAD_VARIABLES:
        os.environ[name] = count
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    if threads == 1:
        # XLA's older CPU runtime (TensorFlow's jit_compile) reads this instead of PJRT_NPROC.
        _add_xla_flag("--xla_cpu_multi_thread_eigen=false")
    _limit_loaded_openblas(threads)
    if "torch" in sys.modules:
        _limit_torch(sys.modules["torch"], threads)


def _add_xla_flag(flag: str) -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if flag.split("=")[0] not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()


def _limit_loaded_openblas(threads: int) -> None:
    # An OpenBLAS sizes its pool from OPENBLAS_NUM_THREADS when it loads; one that NumPy or SciPy
    # loaded before this call keeps its own count unless told through its API.
    for library in _loaded_libraries("openblas"):
        try:
            handle = ctypes.CDLL(library)
        except OSError:
            continue
        for name in OPENBLAS_SETTERS:
            setter = getattr(handle, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))


def _loaded_libraries(fragment: str) -> list[str]:
    """Paths of the shared libraries mapped into this process whose file name contains ``fragment``."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = set()
    for line in maps.read_text().splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if path.startswith("/") and fragment in Path(path).name.lower() and ".so" in Path(path).name:
            paths.add(path)
    return sorted(paths)


def _limit_torch(torch, threads: int) -> None:
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # fixed once PyTorch ran its first parallel work; its default then stands


def _choose_device_environment(device: str) -> None:
    if device == "cpu":
        # Read by CUDA when the backend starts: every backend then finds no GPU.
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"


def gpu_visible() -> bool:
    """Whether the active Keras backend computes on a GPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    import torch

    return torch.cuda.is_available()


def _configure_backend(backend: str, threads: int, deterministic: bool, device: str = "auto") -> None:
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # already initialised in this process (e.g. a second configure in tests)
        gpus = tf.config.list_physical_devices("GPU")
        try:
            if device == "cpu":
                tf.config.set_visible_devices([], "GPU")
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # GPUs already initialised; TF_FORCE_GPU_ALLOW_GROWTH covered a fresh process
        tf.config.experimental.enable_tensor_float_32_execution(False)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        _limit_torch(torch, threads)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        _keep_float64_in_keras_type_promotion()
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    elif backend == "jax":
        import jax

        # float64 on JAX must be switched on explicitly, or it silently computes in float32.
        jax.config.update("jax_enable_x64", True)
        # XLA's GPU default computes float32 products in TF32 / bf16 passes.
        jax.config.update("jax_default_matmul_precision", "highest")
        # With asynchronous dispatch a computation runs on a pool of PJRT_NPROC threads that
        # hands its work to a second pool of PJRT_NPROC threads: up to twice the limit at once.
        # Dispatching on the calling thread keeps it to the limit; the engine's compiled loops
        # run many steps per call, so they lose nothing by it.
        jax.config.update("jax_cpu_enable_async_dispatch", False)
        if device == "cpu":
            jax.config.update("jax_platforms", "cpu")
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
