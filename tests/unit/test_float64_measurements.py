"""The analysis measures in float64 whatever the dtype it is handed.

The models run in float32 (or float64), and the fixed-point, span and cycle statistics are compared
with tolerances down to 1e-6 and below, so each analysis function casts its inputs to float64
before any arithmetic. Each case here calls a function once with float32 inputs and once with the
same values already in float64 (an exact conversion) and requires identical results: a function
that computed in float32 would differ in the last bits.
"""

import dataclasses

import numpy as np
import pytest

from memorization.analysis import basins, cycles, iteration, linalg, operator, span

RNG = np.random.default_rng(3)
POINTS = RNG.uniform(0.0, 1.0, (6, 5)).astype(np.float32)
EXAMPLES = RNG.uniform(0.0, 1.0, (3, 5)).astype(np.float32)
SQUARE = RNG.normal(size=(4, 4)).astype(np.float32)
STACK = RNG.normal(size=(3, 4, 4)).astype(np.float32)
IMAGES = RNG.uniform(0.0, 1.0, (2, 4)).astype(np.float32)
# Linear maps a float32 model would compute: their arithmetic follows the dtype of their input.
CONTRACTION = (0.5 * np.eye(5) + 0.05).astype(np.float32)
ROTATION = np.roll(np.eye(5), 1, axis=0).astype(np.float32)  # period-5 permutation of coordinates


def _contract(points):
    return points @ CONTRACTION.astype(points.dtype) + points.dtype.type(0.1)


def _rotate(points):
    return points @ ROTATION.astype(points.dtype)


def _rotate_and_shrink(points):
    """Rounds differently in float32 and float64, unlike the exact permutation."""
    return _rotate(points) * points.dtype.type(0.7) + points.dtype.type(0.1)


CASES = {
    "rms_distance": lambda x: iteration.rms_distance(x(POINTS), x(POINTS[::-1])),
    "nearest_examples": lambda x: iteration.nearest_examples(x(POINTS), x(EXAMPLES)),
    "attractor_mask": lambda x: iteration.attractor_mask(x(np.float32([1e-3, 0.02])), x(np.float32([0.99899, 0.5])),
                                                         fixed_point_tol=0.01, radius_margin=1e-3),
    "iterate_to_fixed_point": lambda x: iteration.iterate_to_fixed_point(_contract, x(POINTS), max_steps=40, tol=1e-9,
                                                                          snapshot_steps=(0, 3)),
    "spectral_radius": lambda x: linalg.spectral_radius(x(STACK)),
    "top_singular_value": lambda x: linalg.top_singular_value(x(STACK)),
    "span_projector": lambda x: linalg.span_projector(x(IMAGES)),
    "projection_gap": lambda x: span.projection_gap(lambda z: z * 0.9, x(POINTS), x(EXAMPLES)),
    "nonlinear_span_residual": lambda x: span.nonlinear_span_residual(x(np.tanh(POINTS)), x(EXAMPLES),
                                                                      span.inverse_nonlinearity("tanh")),
    "eigen_decomposition": lambda x: operator.eigen_decomposition(x(SQUARE)),
    "summarize_operator": lambda x: operator.summarize_operator(x(SQUARE), x(IMAGES)),
    "noise_alignment": lambda x: operator.noise_alignment(x(SQUARE), x(IMAGES), samples=5),
    "cycle_jacobian_product": lambda x: cycles.cycle_jacobian_product(x(STACK)),
    "cycle_errors": lambda x: cycles.cycle_errors(_rotate, x(EXAMPLES)),
    "iterate_orbit": lambda x: cycles.iterate_orbit(_rotate_and_shrink, x(POINTS), max_steps=12, period=5, tol=1e-9,
                                                    snapshot_steps=(0, 7)),
    "lock_onto_cycle": lambda x: cycles.lock_onto_cycle(x(np.stack([POINTS, _rotate(POINTS)])), x(POINTS[:2]),
                                                        eps=0.5),
    "return_probability": lambda x: basins.return_probability(_contract, x(EXAMPLES), x(np.float32([0.05, 0.3])),
                                                              copies=4, max_steps=30, tol=1e-7, eps=0.2),
}


def _as_plain(result):
    if dataclasses.is_dataclass(result):
        return {field.name: _as_plain(getattr(result, field.name)) for field in dataclasses.fields(result)}
    if isinstance(result, dict):
        return {key: _as_plain(value) for key, value in result.items()}
    if isinstance(result, tuple):
        return tuple(_as_plain(value) for value in result)
    return result


def _assert_identical(single, double, path="result"):
    if isinstance(double, dict):
        assert single.keys() == double.keys(), path
        for key in double:
            _assert_identical(single[key], double[key], f"{path}.{key}")
    elif isinstance(double, tuple):
        for index, (left, right) in enumerate(zip(single, double)):
            _assert_identical(left, right, f"{path}[{index}]")
    else:
        left, right = np.asarray(single), np.asarray(double)
        if np.issubdtype(right.dtype, np.inexact):
            assert left.dtype == right.dtype and right.real.dtype == np.float64, f"{path}: {left.dtype}"
        np.testing.assert_array_equal(left, right, err_msg=path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_inputs_give_the_float64_result(name):
    single = _as_plain(CASES[name](lambda array: np.asarray(array, dtype=np.float32)))
    double = _as_plain(CASES[name](lambda array: np.asarray(array, dtype=np.float32).astype(np.float64)))
    _assert_identical(single, double)
