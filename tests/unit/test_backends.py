"""The training engine gives the same results on TensorFlow, JAX and PyTorch (each in its own process)."""

import json
import os
import subprocess
import sys
from importlib import util

import numpy as np
import pytest

from conftest import REPO

BACKENDS = ["tensorflow", "jax", "torch"]
# Runs of the same steps; the backends differ only in rounding (op order, cos kernels), except
# that Keras's Adam on TensorFlow rounds beta_1 and beta_2 to float32 before its float64 bias
# correction (0.999 -> 0.99900001287), which changes each step by ~1e-5 relative.
# (relative, absolute) on weights of size ~0.3: float64, float64, float32.
TOLERANCE = {"dense-sgd": (1e-9, 1e-12), "dense-adam": (1e-4, 1e-5), "conv": (1e-4, 1e-6)}

TRAIN_ON_BACKEND = r"""
import json, sys
import numpy as np
from memorization.runtime import configure

keras = configure(backend=sys.argv[1], threads=1, seed=0, float_dtype="float64")
from memorization.training import fit_full_batch

rng = np.random.default_rng(0)
results = {}

# A dense net (XLA loop on TensorFlow and JAX) ...
x = rng.uniform(0, 1, size=(4, 10))
inputs = keras.Input(shape=(10,))
first = keras.layers.Dense(12, use_bias=False)
second = keras.layers.Dense(10, use_bias=False)
dense = keras.Model(inputs, second(keras.ops.cos(first(inputs)) - first(inputs)))
first.set_weights([rng.uniform(-0.3, 0.3, size=(10, 12))])
second.set_weights([rng.uniform(-0.3, 0.3, size=(12, 10))])
initial = dense.get_weights()
for name, optimizer in [("dense-sgd", keras.optimizers.SGD(0.2)), ("dense-adam", keras.optimizers.Adam(1e-2))]:
    dense.set_weights(initial)
    result = fit_full_batch(dense, x, x, optimizer=optimizer, max_steps=60, log=lambda _: None)
    results[name] = {"loss": result.final_loss, "steps": result.steps,
                     "weights": [w.ravel().tolist() for w in dense.get_weights()]}

# ... and a conv net with downsampling (TensorFlow's graph kernels on a CPU), in float32:
# PyTorch's CPU kernel for float64 convolution gradients fails under Keras ("grad_weight must
# be contiguous").
images = rng.uniform(0, 1, size=(2, 8, 8, 1))
inputs = keras.Input(shape=(8, 8, 1), dtype="float32")
down = keras.layers.Conv2D(3, 3, strides=2, padding="same", use_bias=False, dtype="float32")
up = keras.layers.Conv2D(1, 3, padding="same", use_bias=False, dtype="float32")
upsample = keras.layers.UpSampling2D(2, dtype="float32")
conv = keras.Model(inputs, up(upsample(keras.layers.LeakyReLU(0.1, dtype="float32")(down(inputs)))))
down.set_weights([rng.uniform(-0.3, 0.3, size=(3, 3, 1, 3))])
up.set_weights([rng.uniform(-0.3, 0.3, size=(3, 3, 3, 1))])
result = fit_full_batch(conv, images, images, optimizer=keras.optimizers.SGD(0.5), max_steps=40, log=lambda _: None)
results["conv"] = {"loss": result.final_loss, "steps": result.steps,
                   "weights": [w.ravel().tolist() for w in conv.get_weights()]}
print("RESULT " + json.dumps(results))
"""


def installed(backend: str) -> bool:
    return util.find_spec(backend) is not None


def train_on(backend: str) -> dict:
    environment = dict(os.environ, PYTHONPATH=str(REPO / "src"), KERAS_BACKEND=backend)
    completed = subprocess.run(
        [sys.executable, "-c", TRAIN_ON_BACKEND, backend], capture_output=True, text=True, timeout=600, env=environment
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.fixture(scope="module")
def per_backend():
    available = [backend for backend in BACKENDS if installed(backend)]
    if len(available) < 2:
        pytest.skip(f"needs two Keras backends, found {available} (pip install -e '.[jax]')")
    return {backend: train_on(backend) for backend in available}


@pytest.mark.parametrize("model", ["dense-sgd", "dense-adam", "conv"])
def test_backends_agree_on_loss_and_weights(per_backend, model):
    reference = per_backend["tensorflow"][model]
    assert reference["steps"] > 0 and reference["loss"] < 0.5
    for backend, results in per_backend.items():
        result = results[model]
        assert result["steps"] == reference["steps"], backend
        relative, absolute = TOLERANCE[model]
        assert result["loss"] == pytest.approx(reference["loss"], rel=relative), backend
        for got, expected in zip(result["weights"], reference["weights"]):
            np.testing.assert_allclose(got, expected, rtol=relative, atol=absolute, err_msg=backend)


def test_training_moved_the_weights(per_backend):
    # Guards the agreement test against a loop that silently does nothing on every backend.
    weights = per_backend["tensorflow"]["dense-sgd"]["weights"][0]
    initial = np.random.default_rng(0)
    initial.uniform(0, 1, size=(4, 10))
    assert not np.allclose(weights, initial.uniform(-0.3, 0.3, size=(10, 12)).ravel(), atol=1e-3)


def test_tensorflow_uses_xla_for_dense_nets_and_its_own_kernels_for_convolutions(keras_float64):
    from memorization.training import _tensorflow_jit

    keras = keras_float64
    inputs = keras.Input(shape=(8, 8, 1))
    conv = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs))
    vector = keras.Input(shape=(4,))
    dense = keras.Model(vector, keras.layers.Dense(4)(vector))
    assert _tensorflow_jit(dense) is True
    assert _tensorflow_jit(conv) is False


def test_configure_rejects_a_second_backend_in_one_process(keras_float64):
    from memorization.errors import ConfigError
    from memorization.runtime import configure

    with pytest.raises(ConfigError, match="must run before the first Keras import"):
        configure(backend="jax" if os.environ["KERAS_BACKEND"] != "jax" else "tensorflow")
