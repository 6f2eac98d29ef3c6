"""The one training engine: full-batch training to a loss threshold or a step cap.

Every claim trains through `fit_full_batch`. The whole training set is one batch, as in the
paper. Many optimizer steps run inside one compiled call (an on-device ``while`` loop under
XLA on TensorFlow and JAX), so the host round trip is paid once per chunk of steps, not once
per step; the loop itself checks the loss threshold, so stopping early needs no host sync.

Each step computes the loss of the current weights, then updates them. The loop records every
step's loss in a buffer that comes back with the chunk, so the loss curve (``history``) is exact
and independent of how steps were split into chunks; chunk sizes adapt to the step time so that
progress, checkpoints and the host sync happen about every ``CHUNK_SECONDS``.

How a fit runs, as opposed to what it computes, is one explicit `TrainingOptions` object;
`TrainingOptions.for_job` builds it for a workflow job from the config's ``training:``
section. With a checkpoint dir, long runs save a checkpoint (model and optimizer variables,
step, loss curve, RNG state) at the configured interval, atomically; a rerun of a killed job
resumes from it and follows the same trajectory. A checkpoint that does not load, or belongs
to other settings, is discarded with a warning and training restarts from step 0.

`fit_full_batch` is assembled from three pieces: a backend's compiled step loop (`_Runner`),
the host-side `LoopState` (step, loss curve, chunk sizes, speed, divergence) and the
run's `Checkpointer`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from memorization.errors import ConfigError, MemorizationError, TrainingDivergedError
from memorization.files import atomic_output

# The per-step loss buffer of one compiled call has a static size (XLA needs static shapes).
MAX_CHUNK = 4096
CHUNK_SECONDS = 0.5
# The first chunk includes compilation; the second measures the step time for sizing the rest.
CALIBRATION_STEPS = 8
HISTORY_ROWS = 1000
CHECKPOINT_FORMAT = 1
CHECKPOINT_FILE = "state.npz"


@dataclass
class TrainResult:
    steps: int
    final_loss: float
    reached_threshold: bool
    loss_threshold: float
    max_steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    resumed_from_step: int = 0
    backend: str = ""
    # Steady-state speed of this process, excluding the first (compiling) chunk.
    steady_steps: int = 0
    steady_seconds: float = 0.0

    @property
    def stopped_at_cap(self) -> bool:
        return not self.reached_threshold

    @property
    def steps_per_second(self) -> float:
        return self.steady_steps / self.steady_seconds if self.steady_seconds > 0 else float("nan")

    def summary(self) -> dict:
        """The deterministic record of a run (plus total ``seconds``), for training.json."""
        summary = asdict(self)
        for volatile in ("history", "steady_steps", "steady_seconds"):
            summary.pop(volatile)
        summary["stopped_at_cap"] = self.stopped_at_cap
        return summary


class ProgressReporter:
    """Logs step, loss, steps/s and ETA at most every ``interval`` seconds.

    The rate counts only steps after the first report (which includes compilation) in this
    process, so a resumed or freshly compiled run does not report a misleading speed.
    """

    def __init__(self, total_steps: int, log: Callable[[str], None], interval: float = 10.0):
        self.total_steps = total_steps
        self.log = log
        self.interval = interval
        self.last = -math.inf
        self.last_step = -1
        self.reference: tuple[int, float] | None = None

    def update(self, step: int, loss: float, force: bool = False) -> None:
        now = time.perf_counter()
        if self.reference is None:
            self.reference = (step, now)
        if step == self.last_step or (not force and now - self.last < self.interval):
            return
        self.last, self.last_step = now, step
        first_step, first_time = self.reference
        if step > first_step and now > first_time:
            rate = (step - first_step) / (now - first_time)
            speed = f"{rate:.1f} steps/s  ETA {(self.total_steps - step) / rate:.0f} s"
        else:
            speed = "first chunk (compiling)"
        self.log(f"step {step}/{self.total_steps}  loss {loss:.3e}  {speed}")


# --- how a fit runs: checkpoints, progress, chunking ---------------------------------------


@dataclass(frozen=True)
class TrainingOptions:
    """How `fit_full_batch` runs, as opposed to what it computes (model, data, optimizer, cap).

    None of these change the trajectory: the weights and losses are the same for any chunking or
    checkpoint interval, and a resumed run ends where an uninterrupted one ends. ``history_every``
    only thins the recorded loss curve. One object, passed explicitly, so a caller sees what a job
    configured instead of inheriting it from a hidden default.

    ``checkpoint_dir`` None means no checkpoints (and no resume). ``checkpoint_every`` (steps)
    and ``checkpoint_seconds`` (seconds of training) are each None for "never by this measure".
    ``steps_per_chunk`` caps the steps of one compiled call (None: adaptive, about
    ``CHUNK_SECONDS`` per call). ``history_every`` None gives about ``HISTORY_ROWS`` rows.
    """

    checkpoint_dir: Path | None = None
    checkpoint_every: int | None = None
    checkpoint_seconds: float | None = None
    progress_seconds: float = 10.0
    steps_per_chunk: int | None = None
    history_every: int | None = None

    # The keys of the config's ``training:`` section (see config/schema/config.schema.yaml).
    JOB_KEYS = ("checkpoint_every", "checkpoint_seconds", "progress_seconds")

    @classmethod
    def for_job(cls, model_path: str | os.PathLike, training: dict) -> TrainingOptions:
        """The options of the workflow job writing ``model_path``, from the config's ``training:``.

        Every fit of the job checkpoints into `checkpoint_dir_for` the model, so a killed job
        resumes. A null entry keeps the default, as the schema documents it.
        """
        unknown = sorted(set(training) - set(cls.JOB_KEYS))
        if unknown:
            raise ConfigError(f"training: unknown key(s) {', '.join(unknown)}; expected {', '.join(cls.JOB_KEYS)}")
        settings = {key: value for key, value in training.items() if value is not None}
        return cls(checkpoint_dir=checkpoint_dir_for(model_path), **settings)


def checkpoint_dir_for(model_path: str | os.PathLike) -> Path:
    """Where a run's checkpoints live: ``<run dir>/checkpoint/``, beside its declared outputs.

    It is not a declared output, so Snakemake leaves it alone when a job fails or is killed;
    `remove_checkpoints` deletes it once the job's outputs are written.
    """
    return Path(model_path).parent / "checkpoint"


def remove_checkpoints(directory: str | os.PathLike) -> None:
    shutil.rmtree(directory, ignore_errors=True)


# --- learning-rate schedules ---------------------------------------------------------------

SCHEDULES = ("constant", "cosine_decay", "exponential_decay", "piecewise_constant")


def make_learning_rate_schedule(spec: dict | float):
    """A Keras learning-rate schedule from a config entry, e.g.
    ``{"name": "cosine_decay", "initial_learning_rate": 1e-3, "decay_steps": 10000}``."""
    import keras

    if isinstance(spec, (int, float)):
        return float(spec)
    options = dict(spec)
    name = options.pop("name", None)
    if name not in SCHEDULES:
        raise ConfigError(f"learning-rate schedule name must be one of {', '.join(SCHEDULES)}, got {name!r}")
    schedules = keras.optimizers.schedules
    try:
        if name == "constant":
            return float(options["learning_rate"])
        if name == "cosine_decay":
            return schedules.CosineDecay(**options)
        if name == "exponential_decay":
            return schedules.ExponentialDecay(**options)
        return schedules.PiecewiseConstantDecay(**options)
    except (TypeError, KeyError, ValueError) as error:
        raise ConfigError(f"learning-rate schedule {name}: {error}") from None


# --- the compiled step loops, one per backend ----------------------------------------------


def _mean_squared_error(ops, outputs, targets):
    return ops.mean(ops.square(outputs - targets))


class _Runner:
    """Runs up to ``steps`` full-batch steps in one call; returns (steps done, per-step losses)."""

    def run(self, steps: int, threshold: float) -> tuple[int, np.ndarray]:
        raise NotImplementedError

    def loss(self) -> float:
        raise NotImplementedError

    def sync_to_model(self) -> None:
        """Make the Keras variables hold the runner's current state (for saving or reading)."""

    def sync_from_model(self) -> None:
        """Reload the runner's state from the Keras variables (after a checkpoint restore)."""


def _tensorflow_jit(model) -> bool:
    """XLA for dense nets; TensorFlow's own (oneDNN) kernels for convolutions on a CPU.

    Measured on a 2-core x86 CPU (`memorization bench`): XLA runs the MLP steps 2.7x and 1.7x
    faster than TensorFlow's graph kernels, but the quick-scale conv autoencoder 17x slower
    (and compiles for 30 s): XLA's CPU convolutions, above all their gradients, are slow.
    On a GPU XLA calls cuDNN, so it is used for every model.
    """
    import tensorflow as tf

    override = os.environ.get("MEMORIZATION_TF_JIT")
    if override in ("0", "1"):
        return override == "1"
    if tf.config.list_physical_devices("GPU"):
        return True
    return not any("Conv" in type(layer).__name__ for layer in _all_layers(model))


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


class _TensorFlowRunner(_Runner):
    def __init__(self, model, optimizer, inputs, targets):
        import tensorflow as tf
        from keras import ops

        dtype = model.outputs[0].dtype if getattr(model, "outputs", None) else inputs.dtype
        self.dtype = tf.as_dtype(str(dtype).replace("tf.", ""))
        self.x = tf.constant(inputs)
        self.y = tf.constant(targets, dtype=self.dtype)
        trainable = model.trainable_variables

        def body(step, _, losses):
            with tf.GradientTape() as tape:
                loss = _mean_squared_error(ops, model(self.x, training=True), self.y)
            optimizer.apply(tape.gradient(loss, trainable), trainable)
            losses = tf.tensor_scatter_nd_update(losses, [[step]], [loss])
            return step + 1, loss, losses

        @tf.function(jit_compile=_tensorflow_jit(model), reduce_retracing=True)
        def run(steps, threshold):
            def keep_going(step, last, _):
                # NaN >= threshold is False: a diverged loss also stops the loop.
                return tf.logical_and(step < steps, last >= threshold)

            start = (tf.constant(0), tf.constant(math.inf, self.dtype), tf.zeros([MAX_CHUNK], self.dtype))
            done, _, losses = tf.while_loop(keep_going, body, start)
            return done, losses

        self._run = run
        self.model = model

    def run(self, steps, threshold):
        import tensorflow as tf

        done, losses = self._run(tf.constant(steps), tf.constant(threshold, self.dtype))
        done = int(done)
        return done, losses.numpy()[:done].astype(np.float64)

    def loss(self):
        # Eager: one forward pass once per fit is cheaper than compiling another function.
        from keras import ops

        return float(_mean_squared_error(ops, self.model(self.x, training=False), self.y))


class _JaxRunner(_Runner):
    def __init__(self, model, optimizer, inputs, targets):
        import jax
        import jax.numpy as jnp
        from keras import ops

        self.model, self.optimizer = model, optimizer
        self.x = jnp.asarray(inputs)
        self.y = jnp.asarray(targets, dtype=model.outputs[0].dtype if getattr(model, "outputs", None) else None)
        self.sync_from_model()

        def loss_and_state(trainable, non_trainable, x, y, training):
            outputs, non_trainable = model.stateless_call(trainable, non_trainable, x, training=training)
            return _mean_squared_error(ops, outputs, y), non_trainable

        gradient = jax.value_and_grad(loss_and_state, has_aux=True)

        def run(trainable, non_trainable, optimizer_state, x, y, steps, threshold):
            def keep_going(carry):
                step, last = carry[0], carry[1]
                return jnp.logical_and(step < steps, last >= threshold)

            def body(carry):
                step, _, trainable, non_trainable, optimizer_state, losses = carry
                (loss, non_trainable), grads = gradient(trainable, non_trainable, x, y, True)
                trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, grads, trainable)
                return step + 1, loss, trainable, non_trainable, optimizer_state, losses.at[step].set(loss)

            dtype = self.y.dtype
            start = (jnp.asarray(0), jnp.asarray(jnp.inf, dtype), trainable, non_trainable, optimizer_state,
                     jnp.zeros([MAX_CHUNK], dtype))
            done, _, trainable, non_trainable, optimizer_state, losses = jax.lax.while_loop(keep_going, body, start)
            return done, losses, trainable, non_trainable, optimizer_state

        # Donating the state lets XLA update the weights in place instead of copying them.
        self._run = jax.jit(run, donate_argnums=(0, 1, 2))
        self._loss_and_state = loss_and_state

    def sync_from_model(self):
        self.trainable = [variable.value for variable in self.model.trainable_variables]
        self.non_trainable = [variable.value for variable in self.model.non_trainable_variables]
        self.optimizer_state = [variable.value for variable in self.optimizer.variables]

    def sync_to_model(self):
        for variables, values in (
            (self.model.trainable_variables, self.trainable),
            (self.model.non_trainable_variables, self.non_trainable),
            (self.optimizer.variables, self.optimizer_state),
        ):
            for variable, value in zip(variables, values):
                variable.assign(value)

    def run(self, steps, threshold):
        done, losses, self.trainable, self.non_trainable, self.optimizer_state = self._run(
            self.trainable, self.non_trainable, self.optimizer_state, self.x, self.y, steps, threshold
        )
        self.sync_to_model()
        done = int(done)
        return done, np.asarray(losses[:done], dtype=np.float64)

    def loss(self):
        return float(self._loss_and_state(self.trainable, self.non_trainable, self.x, self.y, False)[0])


class _TorchRunner(_Runner):
    """Keras on PyTorch has no on-device loop: one Python iteration per step (eager)."""

    def __init__(self, model, optimizer, inputs, targets):
        import torch
        from keras import ops

        self.torch, self.ops = torch, ops
        self.model, self.optimizer = model, optimizer
        device = model.trainable_variables[0].value.device
        self.x = torch.as_tensor(inputs, device=device)
        self.y = torch.as_tensor(targets, device=device, dtype=model.trainable_variables[0].value.dtype)

    def run(self, steps, threshold):
        torch, trainable = self.torch, self.model.trainable_variables
        losses = np.empty(steps)
        done = 0
        while done < steps:
            loss = _mean_squared_error(self.ops, self.model(self.x, training=True), self.y)
            self.model.zero_grad()
            loss.backward()
            with torch.no_grad():
                self.optimizer.apply([variable.value.grad for variable in trainable], trainable)
            losses[done] = loss.item()
            done += 1
            if not losses[done - 1] >= threshold:
                break
        return done, losses[:done]

    def loss(self):
        with self.torch.no_grad():
            return float(_mean_squared_error(self.ops, self.model(self.x, training=False), self.y))


def _make_runner(model, optimizer, inputs, targets) -> _Runner:
    import keras

    backend = keras.backend.backend()
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    runner_class = {"tensorflow": _TensorFlowRunner, "jax": _JaxRunner, "torch": _TorchRunner}.get(backend)
    if runner_class is None:
        raise ConfigError(f"no training loop for the Keras backend {backend!r}")
    return runner_class(model, optimizer, inputs, targets)


def _runner_for(model, optimizer, inputs, targets) -> _Runner:
    """The compiled loop for this model, optimizer and data, reused across calls (no recompiling)."""
    key = (id(optimizer), _array_digest(inputs), _array_digest(targets))
    cached = getattr(model, "_memorization_runner", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    runner = _make_runner(model, optimizer, inputs, targets)
    object.__setattr__(model, "_memorization_runner", (key, runner))
    return runner


# --- checkpoints ---------------------------------------------------------------------------


def _array_digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.data)
    return digest.hexdigest()


def _variable_arrays(model, optimizer) -> list[np.ndarray]:
    return [np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable) for variable in
            list(model.variables) + list(optimizer.variables)]


def _fingerprint(model, optimizer, inputs, targets, schedule_config) -> str:
    """Everything that fixes the trajectory: architecture, initial values, optimizer, data, backend."""
    import keras

    digest = hashlib.sha256()
    for variable in list(model.variables) + list(optimizer.variables):
        # Shapes, not names: Keras numbers layer names per process, so names differ between runs.
        digest.update(f"{tuple(variable.shape)}:{variable.dtype};".encode())
    for array in _variable_arrays(model, optimizer):
        digest.update(_array_digest(array).encode())
    optimizer_config = {key: value for key, value in optimizer.get_config().items() if key != "name"}
    digest.update(json.dumps([type(optimizer).__name__, optimizer_config, schedule_config, keras.backend.backend()],
                             sort_keys=True, default=str).encode())
    digest.update(_array_digest(inputs).encode())
    digest.update(_array_digest(targets).encode())
    return digest.hexdigest()


def _rng_state() -> dict:
    state = {"numpy": None, "python": None}
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state["numpy"] = [kind, keys.tolist(), int(position), int(has_gauss), float(cached)]
    version, internal, gauss = random.getstate()
    state["python"] = [version, list(internal), gauss]
    return state


def _restore_rng_state(state: dict) -> None:
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_checkpoint(path: Path, model, optimizer, *, fingerprint: str, step: int, history: list[dict],
                    seconds: float) -> None:
    """Write model + optimizer variables, step, loss curve and RNG state to ``path`` atomically.

    The arrays' digest is stored beside them, so a torn or altered file is detected on load.
    Model seed-generator states (dropout and other random layers) are among ``model.variables``.
    """
    arrays = {f"v{index}": array for index, array in enumerate(_variable_arrays(model, optimizer))}
    meta = {
        "format": CHECKPOINT_FORMAT,
        "fingerprint": fingerprint,
        "step": step,
        "history": history,
        "seconds": seconds,
        "rng": _rng_state(),
        "digest": _arrays_digest(arrays),
    }
    with atomic_output(path) as temporary, open(temporary, "wb") as stream:
        np.savez(stream, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        stream.flush()
        os.fsync(stream.fileno())


def _arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(_array_digest(arrays[name]).encode())
    return digest.hexdigest()


class CheckpointError(Exception):
    """A checkpoint that cannot be used; training restarts from step 0."""


def load_checkpoint(path: Path, model, optimizer, fingerprint: str) -> dict:
    """Restore variables and RNG state from ``path``; returns the checkpoint's metadata."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(bytes(stored["meta"]).decode())
            arrays = {name: stored[name] for name in stored.files if name != "meta"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"unreadable ({type(error).__name__}: {error})") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"format {meta.get('format')!r}, expected {CHECKPOINT_FORMAT}")
    if meta.get("digest") != _arrays_digest(arrays):
        raise CheckpointError("its arrays do not match their stored digest (corrupt)")
    if meta.get("fingerprint") != fingerprint:
        raise CheckpointError("it was written for other settings, data or code (fingerprint differs)")
    variables = list(model.variables) + list(optimizer.variables)
    if len(arrays) != len(variables):
        raise CheckpointError(f"it holds {len(arrays)} variables, the model and optimizer have {len(variables)}")
    values = [arrays[f"v{index}"] for index in range(len(variables))]
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != value.shape:
            raise CheckpointError(f"variable {variable.path} has shape {value.shape}, expected {tuple(variable.shape)}")
    for variable, value in zip(variables, values):
        variable.assign(value)
    _restore_rng_state(meta["rng"])
    return meta


class CheckpointPathError(MemorizationError):
    """The checkpoint file's path is taken by something that is not a file."""


class Checkpointer:
    """One run's checkpoint file: resume from it, save it on schedule, save it once more at the end.

    Without a checkpoint dir every method does nothing, so the engine has one code path. The
    fingerprint is taken before anything is restored: it identifies the run by its initial
    state, which a resumed run shares with the run that wrote the checkpoint.
    """

    def __init__(self, options: TrainingOptions, run_name: str, model, optimizer, log: Callable[[str], None]):
        self.file = None
        if options.checkpoint_dir is not None:
            self.file = Path(options.checkpoint_dir) / f"{_safe_name(run_name)}.{CHECKPOINT_FILE}"
        self.every, self.interval = options.checkpoint_every, options.checkpoint_seconds
        self.run_name, self.model, self.optimizer, self.log = run_name, model, optimizer, log
        self.fingerprint = ""
        self.saved_step, self.saved_at = 0, 0.0  # ``saved_at``: seconds of training at the last save
        self.wrote = False

    def resume(self, inputs: np.ndarray, targets: np.ndarray, schedule_config) -> tuple[int, list[dict], float]:
        """Restore a matching checkpoint into model and optimizer: (step, history, seconds).

        No checkpoint gives (0, [], 0.0); an unusable one is deleted with a warning, and training
        restarts from step 0.
        """
        if self.file is None:
            return 0, [], 0.0
        if self.file.is_dir():
            raise CheckpointPathError(
                f"checkpoint path {self.file} is a directory, not a checkpoint file; remove it (rm -r {self.file}) "
                "and rerun"
            )
        self.fingerprint = _fingerprint(self.model, self.optimizer, inputs, targets, schedule_config)
        if not self.file.exists():
            return 0, [], 0.0
        try:
            meta = load_checkpoint(self.file, self.model, self.optimizer, self.fingerprint)
        except CheckpointError as error:
            self.log(f"warning: discarding checkpoint {self.file}: {error}; training restarts from step 0")
            self.file.unlink(missing_ok=True)
            return 0, [], 0.0
        step, seconds = meta["step"], meta["seconds"]
        self.saved_step, self.saved_at, self.wrote = step, seconds, step > 0
        # The loop recomputes the loss at the resumed step; drop the end-of-run row there.
        history = [row for row in meta["history"] if row["step"] < step]
        self.log(f"resumed {self.run_name} from checkpoint at step {step} ({self.file})")
        return step, history, seconds

    def save_if_due(self, runner: _Runner, loop: LoopState) -> None:
        """Save when ``checkpoint_every`` steps or ``checkpoint_seconds`` seconds have passed."""
        if self.file is None:
            return
        seconds = loop.elapsed()
        due_by_steps = self.every and loop.step - self.saved_step >= self.every
        due_by_time = self.interval and seconds - self.saved_at >= self.interval
        if due_by_steps or due_by_time:
            runner.sync_to_model()
            self._save(loop.step, loop.history, seconds)
            # The interval runs from the end of the save, so slow saves cannot crowd out training.
            self.saved_at = loop.elapsed()

    def save_final(self, loop: LoopState) -> None:
        """Lets a job killed after training (while writing outputs) finish without retraining.

        Only a run that checkpointed at all: a short run that never reached an interval leaves
        no file behind. Expects the model to hold the final weights.
        """
        if self.file is not None and self.wrote and loop.step > self.saved_step:
            self._save(loop.step, loop.history, loop.seconds)

    def _save(self, step: int, history: list[dict], seconds: float) -> None:
        save_checkpoint(self.file, self.model, self.optimizer, fingerprint=self.fingerprint, step=step,
                        history=history, seconds=seconds)
        self.saved_step, self.wrote = step, True


# --- the engine ----------------------------------------------------------------------------


class LoopState:
    """The host side of a fit between compiled chunks: step, loss curve, clock, measured speed.

    Chunk sizes follow the measured step time, which excludes the first chunk (it compiles);
    the same steady-state numbers become `TrainResult.steps_per_second`.
    """

    def __init__(self, step: int, history: list[dict], seconds_before: float, *, max_steps: int,
                 loss_threshold: float, run_name: str, options: TrainingOptions):
        self.step, self.history, self.seconds_before = step, history, seconds_before
        self.max_steps, self.loss_threshold, self.run_name = max_steps, loss_threshold, run_name
        self.history_every = options.history_every or max(1, max_steps // HISTORY_ROWS)
        self.chunk_cap = max(1, min(options.steps_per_chunk or MAX_CHUNK, MAX_CHUNK))
        # Chunks end on checkpoint steps, so a checkpoint is written exactly every that many steps.
        self.checkpoint_every = options.checkpoint_every
        self.chunks, self.steady_steps, self.steady_seconds = 0, 0, 0.0
        self.stopped_by_threshold = False
        self.seconds = seconds_before
        self.start = time.perf_counter()

    @property
    def finished(self) -> bool:
        # A resumed run may already be past the threshold or at the cap: then no step is taken.
        return self.step >= self.max_steps or self.stopped_by_threshold

    def elapsed(self) -> float:
        """Seconds of training of this run, including those before a resume."""
        return self.seconds_before + time.perf_counter() - self.start

    def run_chunk(self, runner: _Runner) -> float:
        """Run the next chunk of steps and record it; returns the chunk's last loss."""
        todo = self._chunk_size()
        chunk_start = time.perf_counter()
        done, losses = runner.run(todo, self.loss_threshold)
        chunk_time = time.perf_counter() - chunk_start
        if self.chunks > 0:
            self.steady_steps += done
            self.steady_seconds += chunk_time
        self.chunks += 1
        elapsed = self.elapsed()
        for offset, loss in enumerate(losses):
            if (self.step + offset) % self.history_every == 0:
                self.history.append({"step": self.step + offset, "loss": float(loss), "seconds": elapsed})
        self.step += done
        last_loss = float(losses[-1]) if done else math.inf
        self.raise_if_diverged(last_loss)
        if done < todo or last_loss < self.loss_threshold:
            # The loss dipped below the threshold, but the step after it may have risen again.
            # A NaN loss of the final weights also ends the loop; `finish` then raises.
            self.stopped_by_threshold = not runner.loss() >= self.loss_threshold
        return last_loss

    def _chunk_size(self) -> int:
        if self.chunks < 2 or self.steady_steps == 0:
            size = CALIBRATION_STEPS
        else:
            step_seconds = self.steady_seconds / self.steady_steps
            size = max(1, int(CHUNK_SECONDS / max(step_seconds, 1e-9)))
        size = min(size, self.chunk_cap, self.max_steps - self.step)
        if self.checkpoint_every:
            size = min(size, self.checkpoint_every - self.step % self.checkpoint_every)
        return size

    def raise_if_diverged(self, loss: float) -> None:
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"training of {self.run_name} diverged at step {self.step} (loss {loss}); "
                "lower the learning rate or change the initializer"
            )

    def finish(self, final_loss: float) -> float:
        """Close the loss curve with the final weights' loss (exact, not the last chunk's)."""
        self.raise_if_diverged(final_loss)
        self.seconds = self.elapsed()
        if not self.history or self.history[-1]["step"] != self.step:
            self.history.append({"step": self.step, "loss": final_loss, "seconds": self.seconds})
        return final_loss


def fit_full_batch(
    model,
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    optimizer,
    max_steps: int,
    loss_threshold: float = 0.0,
    run_name: str = "run",
    log: Callable[[str], None] = print,
    learning_rate_schedule=None,
    options: TrainingOptions | None = None,
) -> TrainResult:
    """Minimise the mean squared error of ``model(inputs)`` against ``targets``, full batch.

    Stops once the loss falls below ``loss_threshold`` (checked on device every step) or after
    ``max_steps`` steps; which one happened is recorded, never assumed. ``final_loss`` is the
    loss of the final weights. A non-finite loss raises `TrainingDivergedError` naming
    ``run_name``. ``learning_rate_schedule`` (a Keras schedule or a spec for
    `make_learning_rate_schedule`) replaces the optimizer's learning rate. ``options`` say how
    the fit runs (checkpoints, progress, chunking, history density), never what it computes.
    """
    import keras

    options = options or TrainingOptions()
    if max_steps < 0:
        raise ConfigError(f"max_steps must be >= 0, got {max_steps}")
    schedule_config = _use_learning_rate_schedule(optimizer, learning_rate_schedule)
    inputs, targets = _in_model_dtypes(model, inputs, targets)
    if not optimizer.built:
        optimizer.build(model.trainable_variables)

    checkpoints = Checkpointer(options, run_name, model, optimizer, log)
    step, history, seconds_before = checkpoints.resume(inputs, targets, schedule_config)
    runner = _runner_for(model, optimizer, inputs, targets)
    runner.sync_from_model()
    progress = ProgressReporter(max_steps, log, options.progress_seconds)
    loop = LoopState(step, history, seconds_before, max_steps=max_steps, loss_threshold=loss_threshold,
                     run_name=run_name, options=options)
    while not loop.finished:
        last_loss = loop.run_chunk(runner)
        progress.update(loop.step, last_loss)
        if not loop.finished:
            checkpoints.save_if_due(runner, loop)

    runner.sync_to_model()
    final_loss = loop.finish(runner.loss())
    checkpoints.save_final(loop)
    progress.update(loop.step, final_loss, force=True)
    return TrainResult(
        steps=loop.step,
        final_loss=final_loss,
        reached_threshold=final_loss < loss_threshold,
        loss_threshold=loss_threshold,
        max_steps=max_steps,
        seconds=loop.seconds,
        history=loop.history,
        resumed_from_step=step,
        backend=keras.backend.backend(),
        steady_steps=loop.steady_steps,
        steady_seconds=loop.steady_seconds,
    )


def _use_learning_rate_schedule(optimizer, learning_rate_schedule):
    """Install the schedule on ``optimizer``; returns its config, which the fingerprint includes."""
    if learning_rate_schedule is None:
        return None
    schedule = (
        make_learning_rate_schedule(learning_rate_schedule)
        if isinstance(learning_rate_schedule, (dict, int, float))
        else learning_rate_schedule
    )
    optimizer.learning_rate = schedule
    return schedule.get_config() if hasattr(schedule, "get_config") else schedule


def _in_model_dtypes(model, inputs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous copies in the model's dtypes, so the digests (runner cache, fingerprint) are stable."""
    import keras

    floatx = model.outputs[0].dtype if getattr(model, "outputs", None) else keras.config.floatx()
    inputs = np.ascontiguousarray(inputs, dtype=model.inputs[0].dtype if getattr(model, "inputs", None) else floatx)
    return inputs, np.ascontiguousarray(targets, dtype=floatx)


def save_training_run(model, result: TrainResult, outputs: dict, **record) -> dict:
    """Write a trained run's ``model``, loss ``history`` (CSV) and ``training`` record (JSON).

    The record holds the result's summary and steady-state speed plus ``record`` (e.g. which
    training examples were used); it is returned as written.
    """
    import pandas as pd

    from memorization import files

    with files.atomic_output(outputs["model"]) as temporary:
        model.save(temporary)
    files.write_csv(outputs["history"], pd.DataFrame(result.history))
    summary = {"result": result.summary(), "steps_per_second": result.steps_per_second, **record}
    files.write_json(outputs["training"], summary)
    return summary


def _safe_name(name: str) -> str:
    return "".join(character if character.isalnum() or character in "-_." else "_" for character in name) or "run"


def training_record(training: dict) -> dict:
    """What every claim reports, per run, about how close to interpolation its model got (from the
    model's training.json)."""
    result = training["result"]
    return {
        "train_steps": result["steps"],
        "train_final_loss": result["final_loss"],
        "train_reached_threshold": bool(result["reached_threshold"]),
        "train_stopped_at_cap": not bool(result["reached_threshold"]),
    }
