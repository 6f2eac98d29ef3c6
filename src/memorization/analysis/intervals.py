"""95% intervals over seeds: percentile bootstrap of a mean, and exact (Clopper-Pearson) binomial
intervals for pooled fractions. Pure NumPy and the standard library (no SciPy).

A seed (one draw of the training images and one initialisation) is the unit of evidence. A
statistic computed once per seed gets the bootstrap interval of its mean over seeds. A fraction
pooled over many units within each seed (training examples, starts, nets) gets the *hull* of two
intervals: the exact binomial interval of the pooled count, which treats every unit as
independent (too narrow when the units of one seed share a net), and the bootstrap over seeds of
the per-seed fractions, which respects that sharing (too narrow with few seeds). A verdict that
needs the whole hull on one side of its threshold fails neither way.

NaN is never dropped: a NaN value makes the interval NaN, and a NaN interval never reproduces.
"""

from __future__ import annotations

import math

import numpy as np


def bootstrap_mean_interval(values, level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampling them with replacement,
    e.g. one value per seed); (nan, nan) without values or when any value is NaN, (v, v) for a
    single value. Infinite values are kept (a mean with +inf is +inf)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or np.isnan(values).any():
        return float("nan"), float("nan")
    means = np.random.default_rng(seed).choice(values, size=(resamples, values.size), replace=True).mean(axis=1)
    tail = (1.0 - level) / 2.0
    # Order statistics on the outer side, no interpolation: never narrower than the percentile
    # interval, and an infinite mean (a failed run) stays infinite instead of becoming inf - inf.
    return float(np.quantile(means, tail, method="lower")), float(np.quantile(means, 1.0 - tail, method="higher"))


def _binomial_cdf(successes: int, trials: int, p: float) -> float:
    """P(X <= successes) for X ~ Binomial(trials, p), summed in log space."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if successes >= trials else 0.0
    k = np.arange(successes + 1)
    log_pmf = (
        math.lgamma(trials + 1)
        - np.array([math.lgamma(i + 1) + math.lgamma(trials - i + 1) for i in k])
        + k * math.log(p)
        + (trials - k) * math.log1p(-p)
    )
    top = log_pmf.max()
    return float(min(1.0, math.exp(top) * np.exp(log_pmf - top).sum()))


def _solve(function, target: float) -> float:
    """p in [0, 1] with function(p) = target for a function decreasing in p (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(100):
        middle = (low + high) / 2.0
        if function(middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def binomial_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact Clopper-Pearson interval for a fraction successes / trials; (nan, nan) for no trials."""
    successes, trials = int(successes), int(trials)
    if trials <= 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    low = 0.0 if successes == 0 else _solve(lambda p: _binomial_cdf(successes - 1, trials, p), 1.0 - tail)
    high = 1.0 if successes == trials else _solve(lambda p: _binomial_cdf(successes, trials, p), tail)
    return low, high


def seed_mean(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): a per-seed statistic's mean over seeds and its bootstrap interval;
    all NaN when any seed's value is NaN or there is none."""
    values = np.asarray(values, dtype=np.float64).ravel()
    low, high = bootstrap_mean_interval(values, level)
    if values.size == 0 or np.isnan(values).any():
        return float("nan"), low, high
    return float(values.mean()), low, high


def pooled_fraction(successes, trials, level: float = 0.95) -> tuple[float, float, float]:
    """(fraction, low, high) of a fraction pooled over seeds, from per-seed ``successes`` out of
    ``trials``: the pooled fraction sum(successes) / sum(trials) and the hull of its exact binomial
    interval and of the bootstrap interval over seeds of the per-seed fractions (module docstring).
    NaN without trials."""
    successes = np.asarray(successes, dtype=np.float64).ravel()
    trials = np.asarray(trials, dtype=np.float64).ravel()
    if successes.shape != trials.shape:
        raise ValueError(f"successes {successes.shape} and trials {trials.shape} must have one entry per seed")
    if trials.sum() <= 0 or np.isnan(successes).any() or np.isnan(trials).any():
        return float("nan"), float("nan"), float("nan")
    exact = binomial_interval(int(round(successes.sum())), int(round(trials.sum())), level)
    seeded = trials > 0
    bootstrap = bootstrap_mean_interval(successes[seeded] / trials[seeded], level)
    return float(successes.sum() / trials.sum()), min(exact[0], bootstrap[0]), max(exact[1], bootstrap[1])
