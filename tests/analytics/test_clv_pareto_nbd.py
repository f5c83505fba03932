"""Pareto/NBD, the alternative purchase model: likelihood, recovery, predictions, failures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammaln

from guanxi.analytics.clv import (
    FitFailed,
    ParetoNBDFit,
    compress,
    fit_bgnbd,
    fit_pareto_nbd,
    simulate_pareto_nbd,
)
from guanxi.analytics.clv.pareto_nbd import log_likelihood, log_likelihood_value

# Fader & Hardie's CDNOW estimates (weeks)
TRUTH = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
CDNOW = ParetoNBDFit(r=0.553, alpha=10.578, s=0.606, beta=11.669)


def by_integration(params: dict[str, float], x: float, t_x: float, age: float) -> float:
    """ln L from the individual-level likelihood integrated numerically over the lifetime."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    died = integrate.quad(lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1), t_x, age)[0]
    alive = (alpha + age) ** -(r + x) * (beta + age) ** -s
    constant = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return float(constant + np.log(alive + s * died))


@pytest.mark.parametrize("params", [TRUTH, {"r": 0.553, "alpha": 15.0, "s": 0.606, "beta": 5.0}])
def test_log_likelihood_matches_numerical_integration(params: dict[str, float]) -> None:
    customers = [(0.0, 0.0, 30.0), (2.0, 30.43, 38.86), (10.0, 20.0, 39.0), (3.0, 39.0, 39.0)]
    x, t_x, age = (np.array(column) for column in zip(*customers, strict=True))
    triples = compress(x, t_x, age)
    expected = sum(by_integration(params, *customer) for customer in customers)
    assert log_likelihood_value(np.array(list(params.values())), triples) == pytest.approx(
        expected, rel=1e-10
    )


def test_recovers_known_parameters_and_beats_bgnbd_on_its_own_data() -> None:
    age = np.random.default_rng(1).integers(27, 40, size=100_000).astype(float)
    x, t_x, ages = simulate_pareto_nbd(100_000, **TRUTH, T=age, seed=2)
    t_x = np.round(t_x, 1)  # tenths of a week: the triples compress
    fit = fit_pareto_nbd(x, t_x, ages)
    for name, true in TRUTH.items():
        estimate, se = fit.params()[name], fit.standard_errors[name]
        assert 0 < se < 0.15 * true
        assert abs(estimate - true) < 2.5 * se, (name, estimate, true, se)
    assert fit.log_likelihood > fit_bgnbd(x, t_x, ages).log_likelihood


def test_gradient_is_consistent_with_the_value() -> None:
    x, t_x, ages = simulate_pareto_nbd(3_000, **TRUTH, T=39.0, seed=3)
    triples = compress(x, t_x, ages)
    vector = np.array([0.7, 8.0, 0.9, 14.0])
    _, gradient = log_likelihood(vector, triples)
    step = 1e-4 * vector[1]
    shifted = vector + np.array([0, step, 0, 0])
    slope = (log_likelihood_value(shifted, triples) - log_likelihood_value(vector, triples)) / step
    assert gradient[1] == pytest.approx(slope, rel=1e-3)


def test_predictions_behave() -> None:
    assert CDNOW.probability_alive([0], [0], [0.0])[0] == pytest.approx(1.0)
    gaps = np.array([0.0, 10.0, 20.0, 30.0])
    alive = CDNOW.probability_alive(np.full(4, 3.0), 38.0 - gaps, np.full(4, 38.0))
    assert alive[0] > 0.9 and np.all(np.diff(alive) < 0)
    horizons = [CDNOW.expected_purchases(t, [2], [30.43], [38.86])[0] for t in (0, 10, 39, 78)]
    assert horizons[0] == 0 and np.all(np.diff(horizons) > 0)


def test_single_purchase_customers_fail_clearly() -> None:
    with pytest.raises(FitFailed, match="no customer has made a repeat purchase"):
        fit_pareto_nbd(np.zeros(10), np.zeros(10), np.full(10, 30.0))
