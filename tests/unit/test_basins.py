import numpy as np
import pytest

from memorization.analysis import basins
from memorization.analysis.iteration import nearest_examples
from memorization.errors import MemorizationError

DIM = 400
EXAMPLES = np.stack([np.full(DIM, 0.2), np.full(DIM, 0.7)])
RADIUS = 0.1


def ball_attractor(z):
    """Contracts towards an example only within RMS distance RADIUS of it; elsewhere f(z) = z."""
    index, distance = nearest_examples(z, EXAMPLES)
    inside = (distance < RADIUS)[:, None]
    return np.where(inside, EXAMPLES[index] + 0.5 * (z - EXAMPLES[index]), z)


def test_return_probability_of_a_ball_shaped_basin():
    # The RMS size of N(0, s^2) noise in 400 dimensions is s within a few percent, so copies
    # at s <= 0.08 start inside the ball of RMS radius 0.1 and copies at s >= 0.12 outside it.
    levels = [0.02, 0.05, 0.08, 0.12, 0.2]
    probability = basins.return_probability(ball_attractor, EXAMPLES, levels, copies=20, max_steps=100, tol=1e-9, eps=0.01)
    assert probability.shape == (5, 2)
    np.testing.assert_array_equal(probability, [[1, 1], [1, 1], [1, 1], [0, 0], [0, 0]])
    np.testing.assert_allclose(basins.basin_radius(levels, probability), [0.08, 0.08])


def test_basin_radius_requires_every_smaller_level_to_pass():
    levels = np.array([0.1, 0.2, 0.3, 0.4])
    probability = np.array(
        [
            [1.0, 0.5, 0.95, 0.9],
            [0.95, 0.5, 0.95, 0.9],
            [0.2, 0.5, 0.95, 0.85],
            [0.95, 0.5, 0.95, 0.9],  # a lucky return after a failure does not count
        ]
    )
    np.testing.assert_allclose(basins.basin_radius(levels, probability), [0.2, 0.0, 0.4, 0.2])
    assert basins.basin_radius(levels[::-1], probability[::-1, 0]) == pytest.approx(0.2)  # unsorted grid


def test_returning_to_another_example_does_not_count():
    def collapse_to_first(z):
        return np.broadcast_to(EXAMPLES[0], z.shape).copy()

    probability = basins.return_probability(collapse_to_first, EXAMPLES, [0.01], copies=5, max_steps=5, tol=1e-9, eps=0.01)
    np.testing.assert_array_equal(probability, [[1.0, 0.0]])


def test_bad_inputs_raise():
    with pytest.raises(MemorizationError):
        basins.return_probability(ball_attractor, EXAMPLES, [-0.1], copies=2, max_steps=1, tol=1e-9, eps=0.01)
    with pytest.raises(MemorizationError):
        basins.basin_radius([0.1, 0.2], np.ones((3, 2)))


def one_dimensional_ball(z):
    """In one dimension the RMS size of N(0, s^2) noise is |noise|: returns are a matter of chance."""
    examples = np.array([[0.0], [5.0]])
    index, distance = nearest_examples(z, examples)
    return np.where((distance < 1.0)[:, None], examples[index] + 0.5 * (z - examples[index]), 2.0 * z)


def test_return_probability_is_a_seeded_draw():
    examples = np.array([[0.0], [5.0]])
    draw = lambda **seed: basins.return_probability(  # noqa: E731
        one_dimensional_ball, examples, [1.0], copies=200, max_steps=60, tol=1e-9, eps=0.01, **seed)
    probability = draw(seed=4)
    # P(|N(0, 1)| < 1) = 0.683: about that fraction returns, within sampling error.
    assert np.all(np.abs(probability - 0.683) < 0.1)
    np.testing.assert_array_equal(draw(seed=4), probability)
    np.testing.assert_array_equal(draw(), draw(seed=0))
    assert not np.array_equal(draw(seed=5), probability)
    # One copy per example is enough.
    assert basins.return_probability(one_dimensional_ball, examples, [0.0], copies=1, max_steps=5, tol=1e-9,
                                     eps=0.01).tolist() == [[1.0, 1.0]]


def test_bad_inputs_name_the_cause():
    call = lambda examples, copies, levels: basins.return_probability(  # noqa: E731
        ball_attractor, examples, levels, copies=copies, max_steps=1, tol=1e-9, eps=0.01)
    for examples, copies, message in ((np.ones(3), 2, "got (3,) and 2"), (EXAMPLES, 0, f"got {EXAMPLES.shape} and 0")):
        with pytest.raises(MemorizationError) as error:
            call(examples, copies, [0.1])
        assert str(error.value) == f"need examples (n, d) and copies >= 1, {message}"
    with pytest.raises(MemorizationError) as error:
        call(EXAMPLES, 2, [0.1, -0.1])
    assert str(error.value) == "noise levels must be >= 0"
    with pytest.raises(MemorizationError) as error:
        basins.basin_radius([0.1, 0.2, 0.3], np.ones((2, 4)))
    assert str(error.value) == "probability has 2 rows but there are 3 noise levels"


def test_a_copy_exactly_eps_from_its_example_has_not_returned():
    # In one dimension the RMS distance is exact: every start ends at 0.5, eps = 0.5 from example 0.
    probability = basins.return_probability(lambda z: np.full_like(z, 0.5), np.array([[0.0]]), [0.0], copies=2,
                                            max_steps=5, tol=1e-9, eps=0.5)
    assert probability.tolist() == [[0.0]]


def test_basin_radius_of_one_curve_is_a_python_float():
    radius = basins.basin_radius([0.4, 0.1, 0.2], [0.5, 1.0, 0.95], level=0.9)  # grid sorted first
    assert type(radius) is float and radius == 0.2
    per_example = basins.basin_radius([0.1, 0.2], np.array([[1.0, 0.5], [0.95, 0.2]]), level=0.9)
    np.testing.assert_array_equal(per_example, [0.2, 0.0])  # rows are levels: example 1 fails at once
