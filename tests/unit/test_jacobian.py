import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from memorization.errors import MemorizationError

# The analytic Jacobian of the one-hidden-layer network f(x) = K2^T phi(K1^T x + b1) + b2
# (Keras kernels are (fan_in, fan_out), so a row x maps to x @ K): J = K2^T diag(phi'(h)) K1^T.
ANALYTIC_CHECK = textwrap.dedent(
    """
    import numpy as np
    from keras import ops
    from memorization.analysis.jacobian import input_jacobians
    from memorization.models.mlp import build_mlp

    def analytic_error():
        model = build_mlp(5, width=7, depth=1, nonlinearity="cos_minus_id", use_bias=True, seed=11, dtype="float64")
        dense = [layer for layer in model.layers if hasattr(layer, "kernel")]
        k1, k2 = (ops.convert_to_numpy(layer.kernel) for layer in dense)
        b1 = ops.convert_to_numpy(dense[0].bias)
        points = np.random.default_rng(0).normal(size=(4, 5))
        slope = -np.sin(points @ k1 + b1) - 1.0
        expected = np.einsum("jo,bj,ij->boi", k2, slope, k1)
        jacobians = input_jacobians(model, points, batch_size=3)
        assert jacobians.shape == (4, 5, 5), jacobians.shape
        return float(np.max(np.abs(jacobians - expected))), float(np.max(np.abs(expected)))
    """
)


@pytest.fixture(scope="module")
def jac(keras_float64):
    from memorization.analysis import jacobian

    return jacobian


def test_jacobian_matches_analytic_one_hidden_layer(jac):
    namespace = {}
    exec(ANALYTIC_CHECK, namespace)
    error, scale = namespace["analytic_error"]()
    assert scale > 0.1
    assert error < 1e-12


def test_jacobian_of_linear_deep_net_is_the_matrix_product(jac):
    from keras import ops

    from memorization.models.mlp import build_mlp

    model = build_mlp(6, width=9, depth=3, nonlinearity="linear", seed=2, dtype="float64")
    product = np.linalg.multi_dot(
        [ops.convert_to_numpy(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]
    )
    points = np.random.default_rng(3).uniform(size=(5, 6))
    jacobians = jac.input_jacobians(model, points)
    for matrix in jacobians:
        np.testing.assert_allclose(matrix, product.T, atol=1e-13)


def test_jacobian_rejects_non_matrix_points(jac):
    from memorization.models.mlp import build_mlp

    with pytest.raises(MemorizationError):
        jac.input_jacobians(build_mlp(3, width=2, depth=1), np.zeros(3))


OTHER_BACKENDS = [name for name in ("jax", "torch") if importlib.util.find_spec(name) is not None]


@pytest.mark.skipif(not OTHER_BACKENDS, reason="neither jax nor torch is installed: no second backend to check")
def test_jacobian_matches_analytic_on_a_second_backend():
    backend = OTHER_BACKENDS[0]
    source = str(Path(__import__("memorization").__file__).resolve().parents[1])
    script = ANALYTIC_CHECK + textwrap.dedent(
        """
        import json
        print("RESULT", json.dumps(analytic_error()))
        """
    )
    prelude = (
        "from memorization.runtime import configure\n"
        f"configure(backend={backend!r}, threads=1, seed=0, float_dtype='float64')\n"
    )
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run(
        [sys.executable, "-c", prelude + script], env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = [row for row in completed.stdout.splitlines() if row.startswith("RESULT ")][-1]
    error, scale = json.loads(line[len("RESULT ") :])
    assert scale > 0.1
    assert error < 1e-12, f"{backend}: max deviation {error}"


def test_spectral_radius_of_known_matrices(jac):
    rotation = np.array([[0.0, -0.8], [0.8, 0.0]])  # eigenvalues +-0.8i
    non_normal = np.array([[0.5, 10.0], [0.0, 0.4]])  # eigenvalues 0.5, 0.4 but norm > 10
    diagonal = np.diag([-1.5, 0.3, 1.2])
    assert jac.spectral_radius(rotation) == pytest.approx(0.8)
    assert jac.spectral_radius(non_normal) == pytest.approx(0.5)
    assert jac.spectral_radius(diagonal) == pytest.approx(1.5)
    stack = np.stack([rotation, non_normal])
    np.testing.assert_allclose(jac.spectral_radius(stack), [0.8, 0.5])


def test_top_singular_value_of_known_matrices(jac):
    non_normal = np.array([[0.5, 10.0], [0.0, 0.4]])
    expected = np.linalg.svd(non_normal, compute_uv=False)[0]
    assert expected > 10
    assert jac.top_singular_value(non_normal) == pytest.approx(expected)
    assert jac.top_singular_value(np.diag([3.0, -4.0])) == pytest.approx(4.0)
    np.testing.assert_allclose(jac.top_singular_value(np.stack([np.eye(3), 2 * np.eye(3)])), [1.0, 2.0])


def test_spectral_radius_rejects_non_square(jac):
    with pytest.raises(MemorizationError):
        jac.spectral_radius(np.zeros((2, 3)))
