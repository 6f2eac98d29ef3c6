"""Training speed, side by side on one machine: our engine on each Keras backend, plain Keras
``fit``, a plain PyTorch loop of the same network and optimizer, and the matmul ceiling.

Each implementation runs in its own worker process (a Keras backend is fixed per process), and
the workers take turns: in every round each one is timed on each shape while the others wait,
so all numbers come from the same machine under the same conditions. A measurement first warms
up (compiles), then times about ``seconds`` of training; the table reports the median over
rounds. FLOPs per step are counted analytically (matrix products and convolutions of the
forward pass, the weight gradients and the input gradients that are needed; elementwise work
and the optimizer update count as zero), so ``gflops`` is comparable across implementations.
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
EXTRA_COLUMNS = ["threads", "rounds", "steps_per_s_min", "steps_per_s_max", "flops_per_step", "device"]
REFERENCE = "pytorch-loop"
MATMUL_SIZE = 2048
LEARNING_RATE = 1e-4


@dataclass(frozen=True)
class Shape:
    name: str
    kind: str  # "mlp" or "conv"
    n: int
    widths: tuple[int, ...] = ()  # mlp: d, hidden..., d
    side: int = 0  # conv: image side, channels, stages, hidden channels
    channels_in: int = 0
    stages: int = 0
    channels: int = 0

    def conv_layers(self) -> list[tuple[int, int, int]]:
        """(output side, input channels, output channels) of each 3x3 convolution."""
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


# The canonical shapes: the deep MLP of C3-C5 at two sizes of the training set, and the
# quick-scale nonlinear conv autoencoder of C8 (CIFAR-10 side 32, 5 stride-2 stages, 32 channels).
SHAPES = {
    "mlp-n10": Shape("mlp-n10", "mlp", 10, widths=(784, 1024, 1024, 1024, 1024, 784)),
    "mlp-n100": Shape("mlp-n100", "mlp", 100, widths=(784, 1024, 1024, 1024, 1024, 784)),
    "conv-c8-32": Shape("conv-c8-32", "conv", 10, side=32, channels_in=3, stages=5, channels=32),
}


def installed_backends() -> list[str]:
    return [name for name, module in BACKEND_MODULES.items() if importlib_util.find_spec(module) is not None]


def shape_inputs(shape: Shape) -> np.ndarray:
    rng = np.random.default_rng(0)
    if shape.kind == "mlp":
        return rng.uniform(0.0, 1.0, size=(shape.n, shape.widths[0])).astype(np.float32)
    return rng.uniform(0.0, 1.0, size=(shape.n, shape.side, shape.side, shape.channels_in)).astype(np.float32)


# --- Keras models (our engine, and plain fit) ----------------------------------------------


def keras_model(keras, shape: Shape):
    from keras import ops

    uniform = keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=0)
    if shape.kind == "mlp":
        inputs = keras.Input(shape=(shape.widths[0],))
        hidden = inputs
        for index, width in enumerate(shape.widths[1:]):
            hidden = keras.layers.Dense(width, use_bias=False, kernel_initializer=uniform)(hidden)
            if index < len(shape.widths) - 2:
                hidden = keras.layers.Lambda(lambda z: ops.cos(z) - z)(hidden)
        return keras.Model(inputs, hidden)
    inputs = keras.Input(shape=(shape.side, shape.side, shape.channels_in))
    hidden = inputs
    for _ in range(shape.stages):
        hidden = keras.layers.Conv2D(shape.channels, 3, strides=2, padding="same", use_bias=False,
                                     kernel_initializer=uniform)(hidden)
        hidden = keras.layers.LeakyReLU(negative_slope=0.01)(hidden)
    for _ in range(shape.stages):
        hidden = keras.layers.UpSampling2D(2, interpolation="bilinear")(hidden)
        hidden = keras.layers.Conv2D(shape.channels, 3, padding="same", use_bias=False,
                                     kernel_initializer=uniform)(hidden)
        hidden = keras.layers.LeakyReLU(negative_slope=0.01)(hidden)
    outputs = keras.layers.Conv2D(shape.channels_in, 3, padding="same", use_bias=False,
                                  kernel_initializer=uniform)(hidden)
    return keras.Model(inputs, outputs)


class _EngineTimer:
    """Our default path: `memorization.training.fit_full_batch`, as the claims call it.

    Without checkpoints (default `TrainingOptions`): a workflow job's periodic saves would time
    disk writes, not steps, and a checkpointing fit fingerprints model and data on every call.
    """

    def __init__(self, keras, shape: Shape):
        from memorization.training import TrainingOptions, fit_full_batch

        self.fit = fit_full_batch
        self.options = TrainingOptions()
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

    layers = []
    if shape.kind == "mlp":
        for index, (a, b) in enumerate(zip(shape.widths[:-1], shape.widths[1:])):
            layers.append(nn.Linear(a, b, bias=False))
            if index < len(shape.widths) - 2:
                layers.append(CosMinusId())
    else:
        channels = shape.channels_in
        for _ in range(shape.stages):
            layers += [nn.Conv2d(channels, shape.channels, 3, stride=2, padding=1, bias=False), nn.LeakyReLU(0.01)]
            channels = shape.channels
        for _ in range(shape.stages):
            layers += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                       nn.Conv2d(shape.channels, shape.channels, 3, padding=1, bias=False), nn.LeakyReLU(0.01)]
        layers.append(nn.Conv2d(shape.channels, shape.channels_in, 3, padding=1, bias=False))
    return nn.Sequential(*layers).to(device)


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
        if shape.kind == "conv":
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
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        environment[name] = str(threads)
    return environment


def _make_timer(implementation: str, shape_name: str, threads: int, device_info: dict):
    """The timer for one implementation; sets up its framework on first use in this process."""
    if implementation.startswith("matmul-"):
        library = implementation.removeprefix("matmul-")
        if library in ("tensorflow", "jax", "torch"):
            _configure_keras(library, threads)
        return _MatmulTimer(library)
    if implementation == REFERENCE:
        import torch

        torch.set_num_threads(threads)
        device_info["device"] = "cuda" if torch.cuda.is_available() else "cpu"
        return _PyTorchLoopTimer(SHAPES[shape_name])
    if implementation.startswith("keras-fit-"):
        backend = implementation.removeprefix("keras-fit-")
        keras = _configure_keras(backend, threads)
        return _KerasFitTimer(keras, SHAPES[shape_name])
    if implementation.startswith("keras-"):
        keras = _configure_keras(implementation.removeprefix("keras-"), threads)
        return _EngineTimer(keras, SHAPES[shape_name])
    raise ConfigError(f"unknown implementation {implementation!r}")


_CONFIGURED: dict = {}


def _configure_keras(backend: str, threads: int):
    if "keras" not in _CONFIGURED:
        from memorization.runtime import configure

        # deterministic=True, as in every config: the bench times the path the claims take.
        _CONFIGURED["keras"] = configure(backend=backend, threads=threads, seed=0, float_dtype="float32")
    return _CONFIGURED["keras"]


def worker_main(implementation: str, threads: int) -> None:
    """Serve timing requests on stdin/stdout (one JSON object per line) until stdin closes."""
    timers: dict = {}
    device_info = {"device": "cpu"}
    for line in sys.stdin:
        request = json.loads(line)
        shape_name = request["shape"]
        try:
            if shape_name not in timers:
                timer = _make_timer(implementation, shape_name, threads, device_info)
                timer.steps(2)  # compile and warm caches
                started = time.perf_counter()
                timer.steps(3)
                timers[shape_name] = (timer, (time.perf_counter() - started) / 3)
            timer, step_seconds = timers[shape_name]
            count = request.get("steps") or max(3, int(request["seconds"] / max(step_seconds, 1e-6)))
            started = time.perf_counter()
            timer.steps(count)
            elapsed = time.perf_counter() - started
            timers[shape_name] = (timer, elapsed / count)
            reply = {"steps": count, "seconds": elapsed, **_device(implementation, device_info)}
        except Exception as error:  # a worker reports, the coordinator decides
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


def _device(implementation: str, device_info: dict) -> dict:
    if implementation.startswith("keras-"):
        import keras

        backend = keras.backend.backend()
        if backend == "jax":
            import jax

            return {"device": jax.devices()[0].platform}
        if backend == "torch":
            import torch

            return {"device": "cuda" if torch.cuda.is_available() else "cpu"}
        import tensorflow as tf

        return {"device": "gpu" if tf.config.list_physical_devices("GPU") else "cpu"}
    if implementation == "matmul-numpy":
        return {"device": "cpu"}
    return device_info


class _Worker:
    def __init__(self, implementation: str, threads: int):
        self.implementation = implementation
        self.process = subprocess.Popen(
            [sys.executable, "-m", "memorization.bench", "--worker", implementation, "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_worker_environment(implementation, threads),
        )

    def measure(self, shape: str, seconds: float, steps: int | None) -> dict:
        self.process.stdin.write(json.dumps({"shape": shape, "seconds": seconds, "steps": steps}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"worker exited with status {self.process.wait()}"}
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def implementations_for(backends: list[str], default_backend: str, with_fit: bool) -> list[str]:
    chosen = [f"keras-{backend}" for backend in backends]
    if with_fit and default_backend in backends:
        chosen.append(f"keras-fit-{default_backend}")
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
    workers = {name: _Worker(name, threads) for name in implementations + matmuls}
    samples: dict[tuple[str, str], list[float]] = {}
    devices: dict[str, str] = {}
    try:
        for round_index in range(rounds):
            # Rotate the order each round so no implementation always runs first or last.
            order = implementations[round_index % len(implementations):] + implementations[: round_index % len(implementations)]
            tasks = [(name, shape) for shape in shapes for name in order]
            tasks += [(name, f"matmul-{MATMUL_SIZE}") for name in matmuls]
            for name, shape in tasks:
                reply = workers[name].measure(shape, seconds, steps if not name.startswith("matmul-") else None)
                if "error" in reply:
                    log(f"round {round_index + 1}: {name} on {shape} failed: {reply['error']}")
                    continue
                rate = reply["steps"] / reply["seconds"]
                samples.setdefault((shape, name), []).append(rate)
                devices[name] = reply.get("device", "cpu")
                log(f"round {round_index + 1}/{rounds}: {shape:12s} {name:22s} {rate:10.2f} steps/s")
    finally:
        for worker in workers.values():
            worker.close()

    rows = []
    ceiling = max(
        (statistics.median(rates) * matmul_flops() / 1e9 for (shape, name), rates in samples.items()
         if name.startswith("matmul-")),
        default=float("nan"),
    )
    for (shape, name), rates in samples.items():
        rate = statistics.median(rates)
        flops = matmul_flops() if name.startswith("matmul-") else SHAPES[shape].flops_per_step()
        reference = samples.get((shape, REFERENCE))
        rows.append({
            "shape": shape,
            "implementation": name,
            "default": name == f"keras-{default_backend}",
            "steps_per_s": rate,
            "gflops": rate * flops / 1e9,
            "ratio_to_pytorch": rate / statistics.median(reference) if reference else float("nan"),
            "fraction_of_ceiling": rate * flops / 1e9 / ceiling,
            "threads": threads,
            "rounds": len(rates),
            "steps_per_s_min": min(rates),
            "steps_per_s_max": max(rates),
            "flops_per_step": flops,
            "device": devices.get(name, "cpu"),
        })
    return pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)


def write_table(table, path: str | os.PathLike) -> None:
    from memorization.files import write_csv

    write_csv(path, table)


def draw(table, png: str | os.PathLike, pdf: str | os.PathLike | None = None) -> None:
    """Steps per second of each implementation on each shape (log scale), ratios to PyTorch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    training = table[~table["implementation"].str.startswith("matmul-")]
    shapes = list(dict.fromkeys(training["shape"]))
    figure, axes = plt.subplots(1, max(1, len(shapes)), figsize=(4.2 * max(1, len(shapes)), 4.0), squeeze=False)
    for axis, shape in zip(axes[0], shapes):
        part = training[training["shape"] == shape].sort_values("steps_per_s", ascending=False)
        colors = ["tab:green" if default else ("tab:orange" if name == REFERENCE else "tab:blue")
                  for name, default in zip(part["implementation"], part["default"])]
        sns.barplot(x=part["steps_per_s"].to_numpy(), y=part["implementation"].to_numpy(), hue=part["implementation"].to_numpy(),
                    palette=colors, legend=False, ax=axis)
        axis.set_xscale("log")
        axis.set_xlim(right=part["steps_per_s"].max() * 12)  # room for the labels
        axis.set_title(f"{shape}")
        axis.set_xlabel("full-batch training steps / s")
        for index, (rate, ratio, fraction) in enumerate(zip(part["steps_per_s"], part["ratio_to_pytorch"], part["fraction_of_ceiling"])):
            axis.text(rate, index, f" {ratio:.2f}x torch, {100 * fraction:.0f}% peak", va="center", fontsize=7)
    ceiling = table[table["implementation"].str.startswith("matmul-")]
    if len(ceiling):
        best = ceiling.sort_values("gflops").iloc[-1]
        figure.suptitle(f"training speed side by side (green: default path; orange: plain PyTorch loop); "
                        f"matmul ceiling {best['gflops']:.0f} GFLOP/s ({best['implementation']})", fontsize=9)
    figure.tight_layout()
    from memorization.files import atomic_output

    for path in (png, pdf):
        if path:
            with atomic_output(path) as temporary:
                figure.savefig(temporary, dpi=150, format=Path(path).suffix.lstrip("."))
    plt.close(figure)


def summary_lines(table) -> list[str]:
    """One readable line per row, for logs and the console."""
    lines = []
    for row in table.itertuples():
        mark = "*" if row.default else " "
        lines.append(f"{mark} {row.shape:12s} {row.implementation:22s} {row.steps_per_s:10.2f} steps/s "
                     f"{row.gflops:8.1f} GFLOP/s  x{row.ratio_to_pytorch:5.2f} torch  {100 * row.fraction_of_ceiling:5.1f}% ceiling")
    return lines


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="bench worker (internal)")
    parser.add_argument("--worker", required=True)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args()
    worker_main(arguments.worker, arguments.threads)
