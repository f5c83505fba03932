"""Gamma-Gamma spend: recovery of known parameters, the gradient, expected spend, failures."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.analytics.clv import (
    FitFailed,
    GammaGammaFit,
    fit_gamma_gamma,
    simulate_bgnbd,
    simulate_gamma_gamma,
)
from guanxi.analytics.clv.gamma_gamma import _prepare, log_likelihood, log_likelihood_hessian

# Fader, Hardie & Lee (2005) "RFM and CLV", CDNOW: p = 6.25, q = 3.74, gamma (v) = 15.44
TRUTH = {"p": 6.25, "q": 3.74, "v": 15.44}


def purchases(n: int, seed: int) -> np.ndarray:
    x, _, _ = simulate_bgnbd(n, r=0.5, alpha=4.0, a=0.8, b=2.5, T=52.0, seed=seed)
    return x


def test_recovers_known_parameters() -> None:
    x = purchases(100_000, seed=1)
    spend = simulate_gamma_gamma(x, **TRUTH, seed=2)

    fit = fit_gamma_gamma(x, spend)

    assert fit.converged and fit.n_customers == int((x > 0).sum())
    for name, true in TRUTH.items():
        estimate, se = fit.params()[name], fit.standard_errors[name]
        assert 0 < se < 0.1 * true
        assert abs(estimate - true) < 2.5 * se, (name, estimate, true, se)


def test_analytic_gradient_matches_finite_differences() -> None:
    x = purchases(5_000, seed=3)
    spend = simulate_gamma_gamma(x, **TRUTH, seed=4)
    data = _prepare(x[x > 0], spend[x > 0])
    vector = np.array([4.0, 2.5, 20.0])
    _, gradient = log_likelihood(vector, data)
    step = 1e-6 * vector
    numeric = [
        (
            log_likelihood(vector + np.eye(3)[i] * step[i], data)[0]
            - log_likelihood(vector - np.eye(3)[i] * step[i], data)[0]
        )
        / (2 * step[i])
        for i in range(3)
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


def test_analytic_hessian_matches_differences_of_the_gradient() -> None:
    x = purchases(5_000, seed=3)
    spend = simulate_gamma_gamma(x, **TRUTH, seed=4)
    data = _prepare(x[x > 0], spend[x > 0])
    vector = np.array([4.0, 2.5, 20.0])
    step = 1e-5 * vector
    numeric = np.array(
        [
            (
                log_likelihood(vector + np.eye(3)[i] * step[i], data)[1]
                - log_likelihood(vector - np.eye(3)[i] * step[i], data)[1]
            )
            / (2 * step[i])
            for i in range(3)
        ]
    )
    hessian = log_likelihood_hessian(vector, data)
    np.testing.assert_allclose(hessian, hessian.T)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_log_likelihood_matches_the_density_of_each_customer() -> None:
    # the mean of x Gamma(p, nu) purchases is Gamma(p x, nu x); integrate nu ~ Gamma(q, v) out
    from scipy import integrate, stats

    p, q, v = 2.0, 3.0, 10.0
    x, m = np.array([1.0, 4.0]), np.array([7.0, 3.5])
    total, _ = log_likelihood(np.array([p, q, v]), _prepare(x, m))
    by_hand = 0.0
    for xi, mi in zip(x, m, strict=True):
        density = integrate.quad(
            lambda nu, xi=xi, mi=mi: (
                stats.gamma.pdf(mi, p * xi, scale=1 / (nu * xi))
                * stats.gamma.pdf(nu, q, scale=1 / v)
            ),
            0,
            np.inf,
        )[0]
        by_hand += np.log(density)
    assert total == pytest.approx(by_hand, rel=1e-7)


def test_conditional_spend_moves_from_the_population_mean_to_the_customers_own() -> None:
    fit = GammaGammaFit(p=6.25, q=3.74, v=15.44)
    population = 6.25 * 15.44 / 2.74
    assert fit.population_mean == pytest.approx(population)
    spend = fit.conditional_expected_spend([0, 1, 5, 50, 3], [0, 100, 100, 100, -5])
    # no repeat purchase (or no positive spend): the population mean
    assert spend[0] == pytest.approx(population) and spend[4] == pytest.approx(population)
    # more purchases: closer to the customer's own mean of 100
    assert population < spend[1] < spend[2] < spend[3] < 100
    assert spend[1] == pytest.approx(6.25 * (15.44 + 100) / (6.25 + 3.74 - 1))


def test_customers_without_repeat_purchases_or_spend_are_left_out_of_the_fit() -> None:
    x = purchases(20_000, seed=5)
    spend = simulate_gamma_gamma(x, **TRUTH, seed=6)
    with_noise = fit_gamma_gamma(np.r_[x, 0, 0, 3], np.r_[spend, 50.0, 0.0, 0.0])
    plain = fit_gamma_gamma(x, spend)
    assert with_noise.n_customers == plain.n_customers
    assert with_noise.p == pytest.approx(plain.p, rel=1e-6)


def test_too_few_spenders_fail_clearly() -> None:
    with pytest.raises(FitFailed, match="only 2 qualify"):
        fit_gamma_gamma([0, 1, 2, 0], [0, 10, 20, 0])


def test_identical_spend_cannot_be_fitted() -> None:
    with pytest.raises(FitFailed, match="Gamma-Gamma") as failure:
        fit_gamma_gamma([1, 2, 3, 4] * 10, [5.0] * 40)
    assert "spend varies" in str(failure.value)


def test_bad_input_is_refused() -> None:
    with pytest.raises(FitFailed, match="same length"):
        fit_gamma_gamma([1, 2], [3.0])
    with pytest.raises(FitFailed, match="must not be negative"):
        fit_gamma_gamma([1, -2, 3, 4], [3.0, 4.0, 5.0, 6.0])
    with pytest.raises(FitFailed, match="missing"):
        fit_gamma_gamma([1, 2, 3, 4], [3.0, np.nan, 5.0, 6.0])
