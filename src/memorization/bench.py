"""Training speed, side by side on one machine: our engine on each Keras backend, plain Keras
``fit``, a plain PyTorch loop of the same network and optimizer, and the matmul ceiling.

Each implementation runs in its own worker process (a Keras backend is fixed per process), and
the workers take turns: in every round each one is timed on each shape while the others wait,
so all numbers come from the same machine under the same conditions. A measurement first warms
up (compiles), then times about ``seconds`` of training; the table reports the median over
rounds. FLOPs per step are counted analytically (matrix products and convolutions of the
forward pass, the weight gradients and the input gradients that are needed; elementwise work
and the optimizer update count as zero), so ``gflops`` is comparable across implementations.

Fair by construction: every worker holds itself to the same thread count through
`runtime.limit_threads` (the Keras workers through `runtime.configure`), and each measurement
reports its process CPU time over wall time, so a row that used more threads than it was given
shows it (``cpu_per_wall`` above ``threads``). The ceiling is the best single-precision matrix
product at that thread count. A job's start-up cost is measured per implementation: the
process start to a configured backend (``startup_s``) and the first training call of each
shape, which compiles (``first_step_s``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

import numpy as np

from memorization.errors import ConfigError
from memorization.provenance import BACKEND_MODULES

COLUMNS = ["shape", "implementation", "default", "steps_per_s", "gflops", "ratio_to_pytorch", "fraction_of_ceiling"]
EXTRA_COLUMNS = ["threads", "rounds", "steps_per_s_min", "steps_per_s_max", "flops_per_step", "device", "cpu_per_wall",
                 "startup_s", "first_step_s"]
REFERENCE = "pytorch-loop"
MATMUL_SIZE = 2048
LEARNING_RATE = 1e-4


@dataclass(frozen=True)
class Shape:
    """A bench network: ``kind`` "mlp" (dense layers ``widths``), "conv" (the downsampling
    autoencoder of C7/C8: ``stages`` stride-2 convolutions of ``channels`` channels, as many
    upsampling blocks, an output convolution) or "linconv" (C6: ``depth`` stride-1 convolutions
    with the image's channels). ``nonlinear``: cos(x) - x between dense layers, leaky ReLU after
    hidden convolutions with bilinear upsampling (C8); else linear, nearest upsampling (C7)."""

    name: str
    kind: str
    n: int
    widths: tuple[int, ...] = ()  # mlp: d, hidden..., d
    side: int = 0  # conv, linconv: image side, image channels, stages or depth, hidden channels
    channels_in: int = 0
    stages: int = 0
    channels: int = 0
    depth: int = 0
    nonlinear: bool = True
    dtype: str = "float32"

    @property
    def family(self) -> str:
        """The model family whose default path this shape times: "fc", "conv", or "tiny64" for
        the small float64 nets of C1, C2, C6 and C7."""
        if self.dtype == "float64":
            return "tiny64"
        return "fc" if self.kind == "mlp" else "conv"

    def conv_layers(self) -> list[tuple[int, int, int]]:
        """(output side, input channels, output channels) of each 3x3 convolution."""
        if self.kind == "linconv":
            return [(self.side, self.channels_in, self.channels_in)] * self.depth
        sides = [self.side]
        for _ in range(self.stages):
            sides.append(-(-sides[-1] // 2))
        layers, channels = [], self.channels_in
        for stage in range(self.stages):
            layers.append((sides[stage + 1], channels, self.channels))
            channels = self.channels
        for stage in range(self.stages):
            layers.append((sides[self.stages - stage - 1], self.channels, self.channels))
        layers.append((self.side, self.channels, self.channels_in))
        return layers

    def flops_per_step(self) -> float:
        """Forward + weight gradient + input gradient (none for the first layer), 2 flops per MAC."""
        if self.kind == "mlp":
            products = [self.n * a * b for a, b in zip(self.widths[:-1], self.widths[1:])]
        else:
            products = [self.n * side * side * 9 * c_in * c_out for side, c_in, c_out in self.conv_layers()]
        return float(2 * (3 * sum(products) - products[0]))


# The canonical shapes: the deep MLP of C3-C5 at two sizes of the training set; the quick-scale
# nonlinear conv autoencoder of C8 at CIFAR-10's side (32, 5 stride-2 stages, 32 channels); and
# the largest of the tiny float64 nets: C1's linear autoencoder on 50 MNIST images, C6's deepest
# 8 x 8 linear conv net and C7's 16 x 16, 4-stage, 16-channel net on 3 images.
SHAPES = {
    "mlp-n10": Shape("mlp-n10", "mlp", 10, widths=(784, 1024, 1024, 1024, 1024, 784)),
    "mlp-n100": Shape("mlp-n100", "mlp", 100, widths=(784, 1024, 1024, 1024, 1024, 784)),
    "conv-c8-32": Shape("conv-c8-32", "conv", 10, side=32, channels_in=3, stages=5, channels=32),
    "linear-c1-64": Shape("linear-c1-64", "mlp", 50, widths=(784, 784), nonlinear=False, dtype="float64"),
    "linconv-c6-64": Shape("linconv-c6-64", "linconv", 1, side=8, channels_in=1, depth=12, nonlinear=False,
                           dtype="float64"),
    "conv-c7-64": Shape("conv-c7-64", "conv", 3, side=16, channels_in=1, stages=4, channels=16, nonlinear=False,
                        dtype="float64"),
}
DEFAULT_SHAPES = ("mlp-n10", "mlp-n100", "conv-c8-32", "linear-c1-64", "linconv-c6-64", "conv-c7-64")


def installed_backends() -> list[str]:
    return [name for name, module in BACKEND_MODULES.items() if importlib_util.find_spec(module) is not None]


def shape_inputs(shape: Shape) -> np.ndarray:
    rng = np.random.default_rng(0)
    if shape.kind == "mlp":
        size = (shape.n, shape.widths[0])
    else:
        size = (shape.n, shape.side, shape.side, shape.channels_in)
    return rng.uniform(0.0, 1.0, size=size).astype(shape.dtype)


# --- Keras models (our engine, and plain fit) ----------------------------------------------


def keras_model(keras, shape: Shape):
    """The claims' own builders (models/), with the bench's fan-in uniform initialisation."""
    from keras import ops

    from memorization.models import conv

    if shape.kind == "linconv":
        return conv.build_linear_conv(shape.side, shape.depth, channels_in=shape.channels_in, dtype=shape.dtype)
    if shape.kind == "conv":
        return conv.build_downsampling_conv(
            shape.side, shape.stages, shape.channels, channels_in=shape.channels_in,
            upsampling="bilinear" if shape.nonlinear else "nearest",
            nonlinearity="leaky_relu" if shape.nonlinear else "linear", dtype=shape.dtype,
        )
    uniform = keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=0)
    inputs = keras.Input(shape=(shape.widths[0],), dtype=shape.dtype)
    hidden = inputs
    for index, width in enumerate(shape.widths[1:]):
        hidden = keras.layers.Dense(width, use_bias=False, kernel_initializer=uniform, dtype=shape.dtype)(hidden)
        if shape.nonlinear and index < len(shape.widths) - 2:
            hidden = keras.layers.Lambda(lambda z: ops.cos(z) - z, dtype=shape.dtype)(hidden)
    return keras.Model(inputs, hidden)


class _EngineTimer:
    """Our default path: `memorization.training.fit_full_batch`, as the claims call it.

    Without checkpoints (default `TrainingOptions`): a workflow job's periodic saves would time
    disk writes, not steps, and a checkpointing fit fingerprints model and data on every call.
    """

    def __init__(self, keras, shape: Shape):
        from memorization.training import TrainingOptions, fit_full_batch

        self.fit = fit_full_batch
        self.options = TrainingOptions()
        keras.config.set_floatx(shape.dtype)  # as a job of this float type runs (runtime.begin_run)
        self.model = keras_model(keras, shape)
        self.optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)
        self.x = shape_inputs(shape)

    def steps(self, count: int) -> None:
        # The compiled loop is cached per model and optimizer: only the first call compiles.
        self.fit(self.model, self.x, self.x, optimizer=self.optimizer, max_steps=count, log=lambda _: None,
                 options=self.options)


class _KerasFitTimer:
    """What a Keras user would write: compile + fit, one full-batch step per epoch."""

    def __init__(self, keras, shape: Shape):
        keras.config.set_floatx(shape.dtype)
        self.model = keras_model(keras, shape)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE), loss="mse")
        self.x = shape_inputs(shape)

    def steps(self, count: int) -> None:
        self.model.fit(self.x, self.x, batch_size=len(self.x), epochs=count, shuffle=False, verbose=0)


# --- the plain PyTorch reference -----------------------------------------------------------


def torch_model(torch, shape: Shape, device):
    nn = torch.nn

    class CosMinusId(nn.Module):
        def forward(self, z):
            return torch.cos(z) - z

    def activation():
        return [nn.LeakyReLU(0.01)] if shape.nonlinear else []

    layers = []
    if shape.kind == "mlp":
        for index, (a, b) in enumerate(zip(shape.widths[:-1], shape.widths[1:])):
            layers.append(nn.Linear(a, b, bias=False))
            if shape.nonlinear and index < len(shape.widths) - 2:
                layers.append(CosMinusId())
    elif shape.kind == "linconv":
        layers = [nn.Conv2d(shape.channels_in, shape.channels_in, 3, padding=1, bias=False) for _ in range(shape.depth)]
    else:
        channels = shape.channels_in
        for _ in range(shape.stages):
            layers += [nn.Conv2d(channels, shape.channels, 3, stride=2, padding=1, bias=False), *activation()]
            channels = shape.channels
        for _ in range(shape.stages):
            upsample = (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False) if shape.nonlinear
                        else nn.Upsample(scale_factor=2, mode="nearest"))
            layers += [upsample, nn.Conv2d(shape.channels, shape.channels, 3, padding=1, bias=False), *activation()]
        layers.append(nn.Conv2d(shape.channels, shape.channels_in, 3, padding=1, bias=False))
    return nn.Sequential(*layers).to(device=device, dtype=getattr(torch, shape.dtype))


class _PyTorchLoopTimer:
    """The loop a PyTorch user would write: zero_grad, forward, MSE, backward, Adam step."""

    def __init__(self, shape: Shape):
        import torch

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.manual_seed(0)
        self.model = torch_model(torch, shape, self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        x = shape_inputs(shape)
        if shape.kind != "mlp":
            x = x.transpose(0, 3, 1, 2).copy()  # PyTorch convolutions are channels-first
        self.x = torch.as_tensor(x, device=self.device)

    def steps(self, count: int) -> None:
        functional = self.torch.nn.functional
        for _ in range(count):
            self.optimizer.zero_grad()
            loss = functional.mse_loss(self.model(self.x), self.x)
            loss.backward()
            self.optimizer.step()
        if self.device == "cuda":
            self.torch.cuda.synchronize()


# --- the matmul ceiling --------------------------------------------------------------------


class _MatmulTimer:
    """Single-precision MATMUL_SIZE^3 products with one library: one "step" is one product."""

    def __init__(self, library: str):
        size, rng = MATMUL_SIZE, np.random.default_rng(0)
        a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
        self.library = library
        if library == "numpy":
            self.product = lambda: np.matmul(a, b)
        elif library == "torch":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
            ta, tb = torch.as_tensor(a, device=device), torch.as_tensor(b, device=device)
            sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

            def product():
                torch.matmul(ta, tb)
                sync()

            self.product = product
        elif library == "jax":
            import jax

            ja, jb = jax.device_put(a), jax.device_put(b)
            multiply = jax.jit(lambda p, q: p @ q)
            self.product = lambda: multiply(ja, jb).block_until_ready()
        elif library == "tensorflow":
            import tensorflow as tf

            ta, tb = tf.constant(a), tf.constant(b)
            # Reading back one number forces completion on a GPU without copying the product.
            self.product = lambda: tf.reduce_sum(tf.linalg.matmul(ta, tb)[:1, :1]).numpy()
        else:
            raise ConfigError(f"unknown matmul library {library!r}")

    def steps(self, count: int) -> None:
        for _ in range(count):
            self.product()


def matmul_flops() -> float:
    return 2.0 * MATMUL_SIZE**3


# --- workers -------------------------------------------------------------------------------


def _worker_environment(implementation: str, threads: int) -> dict:
    environment = dict(os.environ)
    # GPU frameworks grab most of the device memory by default; workers take turns on one GPU.
    environment["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    environment["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return environment


def _make_timer(implementation: str, shape_name: str, threads: int):
    """The timer for one implementation (its framework set up by `_set_up`)."""
    if implementation.startswith("matmul-"):
        return _MatmulTimer(implementation.removeprefix("matmul-"))
    if implementation == REFERENCE:
        return _PyTorchLoopTimer(SHAPES[shape_name])
    if implementation.startswith("keras-fit-"):
        return _KerasFitTimer(_set_up(implementation, threads), SHAPES[shape_name])
    if implementation.startswith("keras-"):
        return _EngineTimer(_set_up(implementation, threads), SHAPES[shape_name])
    raise ConfigError(f"unknown implementation {implementation!r}")


_CONFIGURED: dict = {}


def _set_up(implementation: str, threads: int):
    """Import and configure the implementation's framework once per worker; returns Keras or None.

    What a workflow job pays before its first step: the timed part of the start-up.
    """
    if "done" in _CONFIGURED:
        return _CONFIGURED.get("keras")
    from memorization.runtime import configure, limit_threads

    library = implementation.removeprefix("matmul-").removeprefix("keras-fit-").removeprefix("keras-")
    if implementation.startswith("keras-") or library in ("tensorflow", "jax"):
        # deterministic=True, as in every config: the bench times the path the claims take.
        _CONFIGURED["keras"] = configure(backend=library, threads=threads, seed=0, float_dtype="float32")
    elif implementation == REFERENCE or library == "torch":
        import torch

        limit_threads(threads)  # torch is loaded now: its pools are set directly
        torch.set_float32_matmul_precision("highest")
    elif library != "numpy":
        raise ConfigError(f"unknown implementation {implementation!r}")
    _CONFIGURED["done"] = True
    return _CONFIGURED.get("keras")


def worker_main(implementation: str, threads: int) -> None:
    """Serve timing requests on stdin/stdout (one JSON object per line) until stdin closes."""
    from memorization.runtime import limit_threads

    limit_threads(threads)  # before anything else loads a library with a thread pool
    timers: dict = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request.get("set_up"):
                _set_up(implementation, threads)
                print(json.dumps({"ready": True, **_device(implementation)}), flush=True)
                continue
            shape_name = request["shape"]
            reply = {}
            if shape_name not in timers:
                started = time.perf_counter()
                timer = _make_timer(implementation, shape_name, threads)
                timer.steps(1)  # builds, compiles and runs one step: what a job pays before it trains
                reply["first_step_s"] = time.perf_counter() - started
                timer.steps(1)
                started = time.perf_counter()
                timer.steps(3)
                timers[shape_name] = (timer, (time.perf_counter() - started) / 3)
            timer, step_seconds = timers[shape_name]
            count = request.get("steps") or max(3, int(request["seconds"] / max(step_seconds, 1e-6)))
            cpu, started = time.process_time(), time.perf_counter()
            timer.steps(count)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            timers[shape_name] = (timer, elapsed / count)
            reply.update({"steps": count, "seconds": elapsed, "cpu_seconds": cpu, **_device(implementation)})
        except Exception as error:  # a worker reports, the coordinator decides
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


def _device(implementation: str) -> dict:
    if implementation.startswith("keras-"):
        from memorization.runtime import gpu_visible

        return {"device": "gpu" if gpu_visible() else "cpu"}
    if implementation == REFERENCE or implementation == "matmul-torch":
        import torch

        return {"device": "cuda" if torch.cuda.is_available() else "cpu"}
    if implementation == "matmul-jax":
        import jax

        return {"device": jax.default_backend()}
    if implementation == "matmul-tensorflow":
        import tensorflow as tf

        return {"device": "gpu" if tf.config.list_logical_devices("GPU") else "cpu"}
    return {"device": "cpu"}


class _Worker:
    """One implementation's process. Started one at a time, so that the start-up each one
    measures (process start to a configured backend) is not shared with the others' imports."""

    def __init__(self, implementation: str, threads: int):
        self.implementation = implementation
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "memorization.bench", "--worker", implementation, "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_worker_environment(implementation, threads),
        )
        self.ready = self._ask({"set_up": True})
        self.startup_seconds = time.perf_counter() - started

    def _ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"worker exited with status {self.process.wait()}"}
        return json.loads(line)

    def measure(self, shape: str, seconds: float, steps: int | None) -> dict:
        return self._ask({"shape": shape, "seconds": seconds, "steps": steps})

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def implementations_for(backends: list[str], default_backend, with_fit: bool) -> list[str]:
    chosen = [f"keras-{backend}" for backend in backends]
    defaults = default_backend.values() if isinstance(default_backend, dict) else [default_backend]
    if with_fit:
        chosen += [f"keras-fit-{backend}" for backend in dict.fromkeys(defaults) if backend in backends]
    if "torch" in installed_backends():
        chosen.append(REFERENCE)
    return chosen


def ceiling_libraries(backends: list[str]) -> list[str]:
    """numpy (OpenBLAS), each benchmarked backend, and PyTorch (MKL) when it is installed."""
    libraries = ["numpy"] + list(backends)
    if "torch" in installed_backends() and "torch" not in libraries:
        libraries.append("torch")
    return libraries


def run_bench(
    *,
    shapes: list[str],
    backends: list[str],
    default_backend: str,
    threads: int,
    rounds: int = 3,
    seconds: float = 2.0,
    steps: int | None = None,
    with_fit: bool = True,
    log=print,
):
    """Measure every implementation on every shape, round-robin; returns the bench table."""
    import pandas as pd

    unknown = [shape for shape in shapes if shape not in SHAPES]
    if unknown:
        raise ConfigError(f"unknown bench shape(s) {', '.join(unknown)}; known: {', '.join(SHAPES)}")
    missing = [backend for backend in backends if backend not in installed_backends()]
    if missing:
        raise ConfigError(f"backend(s) {', '.join(missing)} not installed; installed: {', '.join(installed_backends())}")
    implementations = implementations_for(backends, default_backend, with_fit)
    matmuls = [f"matmul-{library}" for library in ceiling_libraries(backends)]
    workers: dict[str, _Worker] = {}
    samples: dict[tuple[str, str], list[dict]] = {}
    first_steps: dict[tuple[str, str], float] = {}
    devices: dict[str, str] = {}
    try:
        for name in implementations + matmuls:
            worker = _Worker(name, threads)
            if "error" in worker.ready:
                worker.close()
                log(f"{name} failed to start: {worker.ready['error']}")
                continue
            workers[name] = worker
            devices[name] = worker.ready.get("device", "cpu")
            log(f"{name}: started in {worker.startup_seconds:.1f} s ({threads} thread(s), {devices[name]})")
        for round_index in range(rounds):
            # Rotate the order each round so no implementation always runs first or last.
            rotation = round_index % max(1, len(implementations))
            order = [name for name in implementations[rotation:] + implementations[:rotation] if name in workers]
            tasks = [(name, shape) for shape in shapes for name in order]
            tasks += [(name, f"matmul-{MATMUL_SIZE}") for name in matmuls if name in workers]
            for name, shape in tasks:
                reply = workers[name].measure(shape, seconds, steps if not name.startswith("matmul-") else None)
                if "error" in reply:
                    log(f"round {round_index + 1}: {name} on {shape} failed: {reply['error']}")
                    continue
                if "first_step_s" in reply:
                    first_steps[(shape, name)] = reply["first_step_s"]
                samples.setdefault((shape, name), []).append(reply)
                rate = reply["steps"] / reply["seconds"]
                log(f"round {round_index + 1}/{rounds}: {shape:12s} {name:22s} {rate:10.2f} steps/s "
                    f"cpu/wall {reply['cpu_seconds'] / reply['seconds']:.2f}")
    finally:
        for worker in workers.values():
            worker.close()

    def rates(replies):
        return [reply["steps"] / reply["seconds"] for reply in replies]

    ceiling = max(
        (statistics.median(rates(replies)) * matmul_flops() / 1e9 for (shape, name), replies in samples.items()
         if name.startswith("matmul-")),
        default=float("nan"),
    )
    rows = []
    for (shape, name), replies in samples.items():
        rate = statistics.median(rates(replies))
        flops = matmul_flops() if name.startswith("matmul-") else SHAPES[shape].flops_per_step()
        reference = samples.get((shape, REFERENCE))
        rows.append({
            "shape": shape,
            "implementation": name,
            "default": name == default_implementation(shape, default_backend),
            "steps_per_s": rate,
            "gflops": rate * flops / 1e9,
            "ratio_to_pytorch": rate / statistics.median(rates(reference)) if reference else float("nan"),
            "fraction_of_ceiling": rate * flops / 1e9 / ceiling,
            "threads": threads,
            "rounds": len(replies),
            "steps_per_s_min": min(rates(replies)),
            "steps_per_s_max": max(rates(replies)),
            "flops_per_step": flops,
            "device": devices.get(name, "cpu"),
            "cpu_per_wall": sum(reply["cpu_seconds"] for reply in replies) / sum(reply["seconds"] for reply in replies),
            "startup_s": workers[name].startup_seconds,
            "first_step_s": first_steps.get((shape, name), float("nan")),
        })
    return pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)


def run_benches(*, thread_counts: list[int], log=print, **settings):
    """`run_bench` at each thread count in turn (one-thread and all-core tables), stacked."""
    import pandas as pd

    counts = list(dict.fromkeys(thread_counts))
    if not counts or any(count < 1 for count in counts):
        raise ConfigError(f"thread counts must be integers >= 1, got {thread_counts}")
    tables = []
    for threads in counts:
        log(f"--- {threads} thread(s) per implementation ---")
        tables.append(run_bench(threads=threads, log=log, **settings))
    return pd.concat(tables, ignore_index=True)


def default_implementation(shape: str, default_backend) -> str:
    """The engine row that is the project's path for this shape: ``default_backend`` is one
    backend for every shape, or a mapping from a shape's family (`Shape.family`) to its backend."""
    if shape not in SHAPES:
        return ""
    if isinstance(default_backend, dict):
        return f"keras-{default_backend.get(SHAPES[shape].family, '')}"
    return f"keras-{default_backend}"


def write_table(table, path: str | os.PathLike) -> None:
    from memorization.files import write_csv

    write_csv(path, table)


def draw(table, png: str | os.PathLike, pdf: str | os.PathLike | None = None) -> None:
    """Steps per second of each implementation on each shape (log scale), ratios to PyTorch
    marked; one row of panels per thread count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    training = table[~table["implementation"].str.startswith("matmul-")]
    shapes = list(dict.fromkeys(training["shape"]))
    thread_counts = sorted(set(table["threads"]))
    columns, rows = max(1, len(shapes)), max(1, len(thread_counts))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.6 * rows), squeeze=False)
    for row_axes, threads in zip(axes, thread_counts):
        ceiling = table[(table["threads"] == threads) & table["implementation"].str.startswith("matmul-")]
        best = ceiling.sort_values("gflops").iloc[-1] if len(ceiling) else None
        for axis, shape in zip(row_axes, shapes):
            part = training[(training["shape"] == shape) & (training["threads"] == threads)]
            part = part.sort_values("steps_per_s", ascending=False)
            if part.empty:
                axis.set_axis_off()
                continue
            colors = ["tab:green" if default else ("tab:orange" if name == REFERENCE else "tab:blue")
                      for name, default in zip(part["implementation"], part["default"])]
            sns.barplot(x=part["steps_per_s"].to_numpy(), y=part["implementation"].to_numpy(),
                        hue=part["implementation"].to_numpy(), palette=colors, legend=False, ax=axis)
            axis.set_xscale("log")
            axis.set_xlim(right=part["steps_per_s"].max() * 12)  # room for the labels
            ceiling_text = f"; ceiling {best['gflops']:.0f} GFLOP/s" if best is not None else ""
            axis.set_title(f"{shape}, {threads} thread(s){ceiling_text}", fontsize=9)
            axis.set_xlabel("full-batch training steps / s")
            for index, (rate, ratio, fraction) in enumerate(
                zip(part["steps_per_s"], part["ratio_to_pytorch"], part["fraction_of_ceiling"])
            ):
                axis.text(rate, index, f" {ratio:.2f}x torch, {100 * fraction:.0f}% peak", va="center", fontsize=7)
    figure.suptitle("training speed side by side (green: default path; orange: plain PyTorch loop)", fontsize=9)
    figure.tight_layout()
    from memorization.files import atomic_output

    for path in (png, pdf):
        if path:
            with atomic_output(path) as temporary:
                figure.savefig(temporary, dpi=150, format=Path(path).suffix.lstrip("."))
    plt.close(figure)


def summary_lines(table) -> list[str]:
    """The bench as Markdown tables, one per thread count: steps/s, GFLOP/s, ratio to the PyTorch
    loop, share of the matmul ceiling and CPU time over wall time per row (default rows in
    bold), then each implementation's start-up: process start to a configured backend, and the
    first call (build, compile, one step) of each shape."""
    lines = []
    for threads in sorted(set(table["threads"])):
        part = table[table["threads"] == threads]
        matmuls = part[part["implementation"].str.startswith("matmul-")].sort_values("gflops", ascending=False)
        lines += [f"{threads} thread(s) per implementation"
                  + (f"; ceiling {matmuls.iloc[0]['gflops']:.1f} GFLOP/s ({matmuls.iloc[0]['implementation']})"
                     if len(matmuls) else ""), "",
                  "| shape | implementation | steps/s | GFLOP/s | x PyTorch | of ceiling | CPU/wall |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for row in part.itertuples():
            name = f"**{row.implementation}** (default)" if row.default else row.implementation
            lines.append(f"| {row.shape} | {name} | {row.steps_per_s:.2f} | {row.gflops:.1f} | "
                         f"{row.ratio_to_pytorch:.2f} | {100 * row.fraction_of_ceiling:.0f}% | {row.cpu_per_wall:.2f} |")
        training = part[~part["implementation"].str.startswith("matmul-")]
        shapes = list(dict.fromkeys(training["shape"]))
        lines += ["", "| start-up (s) | process to backend ready | " + " | ".join(f"first call, {shape}" for shape in shapes)
                  + " |", "| --- | ---: |" + " ---: |" * len(shapes)]
        for name, rows in part.groupby("implementation", sort=False):
            if name.startswith("matmul-"):
                continue
            firsts = {row.shape: row.first_step_s for row in rows.itertuples()}
            lines.append(f"| {name} | {rows['startup_s'].iloc[0]:.1f} | "
                         + " | ".join(f"{firsts.get(shape, float('nan')):.1f}" for shape in shapes) + " |")
        lines.append("")
    return lines


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="bench worker (internal)")
    parser.add_argument("--worker", required=True)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args()
    worker_main(arguments.worker, arguments.threads)
