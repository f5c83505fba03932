"""BG/NBD: the likelihood, its gradient and compression, parameter recovery from simulated
customers, the textbook CDNOW numbers, and clear failures instead of NaN parameters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.optimize import approx_fprime

from guanxi.analytics.clv import BGNBDFit, FitFailed, compress, fit_bgnbd, simulate_bgnbd
from guanxi.analytics.clv.bgnbd import log_likelihood, log_likelihood_hessian, log_likelihood_terms
from guanxi.analytics.clv.compress import Triples

# Fader, Hardie & Lee (2005), CDNOW sample, time in weeks
CDNOW = BGNBDFit(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def day_summaries(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated summaries on whole days (so many customers share a triple)."""
    age = np.random.default_rng(seed).integers(30, 365, size=n).astype(float)
    x, t_x, ages = simulate_bgnbd(n, r=0.5, alpha=40.0, a=0.8, b=2.5, T=age, seed=seed)
    return x, np.floor(t_x), ages


def test_recovers_known_parameters_from_100000_simulated_customers() -> None:
    age = np.random.default_rng(100).uniform(27.0, 39.0, size=100_000)
    x, t_x, ages = simulate_bgnbd(100_000, **TRUTH, T=age, seed=0)

    fit = fit_bgnbd(x, t_x, ages)

    assert fit.converged and fit.n_customers == 100_000
    for name, true in TRUTH.items():
        estimate, se = fit.params()[name], fit.standard_errors[name]
        assert 0 < se < 0.1 * true
        # over 20 seeds the errors divided by the standard errors had mean ~0 and spread ~1;
        # 2.5 rather than 2 because with four parameters one beyond 2 happens in ~18% of seeds
        assert abs(estimate - true) < 2.5 * se, (name, estimate, true, se)
    assert np.isfinite(fit.log_likelihood) and fit.log_likelihood < 0


def test_standard_errors_shrink_with_the_square_root_of_the_sample() -> None:
    age = np.random.default_rng(3).uniform(27.0, 39.0, size=40_000)
    x, t_x, ages = simulate_bgnbd(40_000, **TRUTH, T=age, seed=5)
    small = fit_bgnbd(x[:10_000], t_x[:10_000], ages[:10_000])
    large = fit_bgnbd(x, t_x, ages)
    for name in TRUTH:
        ratio = small.standard_errors[name] / large.standard_errors[name]
        assert 1.6 < ratio < 2.5, (name, ratio)


def test_compressed_log_likelihood_equals_the_sum_over_customers() -> None:
    x, t_x, ages = day_summaries(50_000, seed=1)
    triples = compress(x, t_x, ages)
    assert len(triples.x) < 50_000 * 0.6
    assert triples.n_customers == 50_000
    every = Triples(x=x, t_x=np.where(x > 0, t_x, 0.0), T=ages, count=np.ones_like(x))
    for params in ([0.5, 40.0, 0.8, 2.5], [1.3, 12.0, 2.1, 0.7]):
        vector = np.array(params)
        total, gradient = log_likelihood(vector, triples)
        assert total == pytest.approx(log_likelihood_terms(vector, x, t_x, ages).sum(), rel=1e-12)
        uncompressed, raw_gradient = log_likelihood(vector, every)
        assert total == pytest.approx(uncompressed, rel=1e-12)
        np.testing.assert_allclose(gradient, raw_gradient, rtol=1e-10)


def test_compression_keeps_every_distinct_triple_with_its_count() -> None:
    triples = compress([0, 2, 2, 0, 1], [5, 3, 3, 0, 1], [7, 9, 9, 7, 9])
    rows = sorted(zip(triples.x, triples.t_x, triples.T, triples.count, strict=True))
    # recency is irrelevant (and set to 0) without repeat purchases
    assert rows == [(0, 0, 7, 2), (1, 1, 9, 1), (2, 3, 9, 2)]


@pytest.mark.parametrize("params", [[0.243, 4.414, 0.793, 2.426], [2.0, 0.5, 3.0, 0.4]])
def test_analytic_gradient_matches_finite_differences(params: list[float]) -> None:
    x, t_x, ages = day_summaries(5_000, seed=2)
    triples = compress(x, t_x / 7, ages / 7)
    vector = np.array(params)
    _, gradient = log_likelihood(vector, triples)
    step = 1e-6 * vector
    numeric = np.array(
        [
            (
                log_likelihood(vector + np.eye(4)[i] * step[i], triples)[0]
                - log_likelihood(vector - np.eye(4)[i] * step[i], triples)[0]
            )
            / (2 * step[i])
            for i in range(4)
        ]
    )
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)
    assert approx_fprime(vector, lambda v: log_likelihood(v, triples)[0], 1e-7) == pytest.approx(
        gradient, rel=1e-3
    )


@pytest.mark.parametrize("params", [[0.243, 4.414, 0.793, 2.426], [2.0, 0.5, 3.0, 0.4]])
def test_analytic_hessian_matches_differences_of_the_gradient(params: list[float]) -> None:
    x, t_x, ages = day_summaries(5_000, seed=2)
    triples = compress(x, t_x / 7, ages / 7)
    vector = np.array(params)
    step = 1e-5 * vector
    numeric = np.array(
        [
            (
                log_likelihood(vector + np.eye(4)[i] * step[i], triples)[1]
                - log_likelihood(vector - np.eye(4)[i] * step[i], triples)[1]
            )
            / (2 * step[i])
            for i in range(4)
        ]
    )
    hessian = log_likelihood_hessian(vector, triples)
    np.testing.assert_allclose(hessian, hessian.T)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_cdnow_textbook_expectation() -> None:
    # FHL 2005 section 5: a customer with x=2, t_x=30.43, T=38.86 weeks makes 1.226 purchases
    # in the next 39 weeks
    expected = CDNOW.expected_purchases(39, [2], [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=5e-4)
    alive = CDNOW.probability_alive([2], [30.43], [38.86])[0]
    # closed form by hand: 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    by_hand = 1 / (1 + 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** 2.243)
    assert alive == pytest.approx(by_hand, rel=1e-12)
    assert 0.7 < alive < 0.75


def _unconditional_by_integration(fit: BGNBDFit, t: float) -> float:
    # E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p; averaging over lambda ~ Gamma(r, alpha)
    # gives (1 - (alpha / (alpha + p t))^r) / p, then over p ~ Beta(a, b) numerically
    def integrand(p: float) -> float:
        return (
            (1 - (fit.alpha / (fit.alpha + p * t)) ** fit.r) / p * stats.beta.pdf(p, fit.a, fit.b)
        )

    return float(integrate.quad(integrand, 0, 1, limit=200)[0])


def _conditional_by_integration(fit: BGNBDFit, t: float, x: float, t_x: float, age: float) -> float:
    # alive at T, lambda ~ Gamma(r + x, alpha + ages) and p ~ Beta(a, b + x)
    def integrand(p: float) -> float:
        shrink = ((fit.alpha + age) / (fit.alpha + age + p * t)) ** (fit.r + x)
        return (1 - shrink) / p * stats.beta.pdf(p, fit.a, fit.b + x)

    alive = fit.probability_alive([x], [t_x], [age])[0]
    return float(alive * integrate.quad(integrand, 0, 1, limit=200)[0])


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 520.0])
def test_unconditional_expectation_matches_numerical_integration(t: float) -> None:
    assert CDNOW.expected_purchases_new(t) == pytest.approx(
        _unconditional_by_integration(CDNOW, t), rel=1e-7
    )


@pytest.mark.parametrize(
    ("x", "t_x", "age"), [(0, 0, 20.0), (1, 5.0, 30.0), (2, 30.43, 38.86), (60, 38.0, 39.0)]
)
def test_conditional_expectation_matches_numerical_integration(
    x: float, t_x: float, age: float
) -> None:
    fit = BGNBDFit(r=0.8, alpha=3.0, a=1.7, b=4.0)
    for model in (CDNOW, fit):
        got = model.expected_purchases(52, [x], [t_x], [age])[0]
        assert got == pytest.approx(_conditional_by_integration(model, 52, x, t_x, age), rel=1e-7)


def test_probability_alive_is_one_without_repeats_and_falls_with_time_since_last_purchase() -> None:
    assert list(CDNOW.probability_alive([0, 0], [0, 0], [5, 50])) == [1.0, 1.0]
    gaps = np.array([0.0, 5.0, 10.0, 20.0, 30.0])
    alive = CDNOW.probability_alive(np.full(5, 3), 38.0 - gaps, np.full(5, 38.0))
    assert np.all(np.diff(alive) < 0) and alive[0] < 1 and alive[-1] > 0


def test_expected_purchases_grow_with_horizon_and_history() -> None:
    horizons = [0.0, 1.0, 10.0, 52.0, 520.0]
    by_horizon = [CDNOW.expected_purchases(t, [3], [30.0], [39.0])[0] for t in horizons]
    assert by_horizon[0] == 0 and np.all(np.diff(by_horizon) > 0)
    # a frequent, recent buyer is expected to buy more than an occasional one
    heavy, light = CDNOW.expected_purchases(39, [10, 1], [38.0, 38.0], [39.0, 39.0])
    assert heavy > light > 0
    assert np.all(np.diff(CDNOW.expected_purchases_new([0.0, 10.0, 39.0, 78.0])) > 0)


def test_simulated_repeat_purchases_match_the_model_mean() -> None:
    x, _, _ = simulate_bgnbd(200_000, **TRUTH, T=39.0, seed=4)
    expected = CDNOW.expected_purchases_new(39.0)
    assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(x.size)


def test_only_single_purchase_customers_fail_with_a_clear_message() -> None:
    with pytest.raises(FitFailed, match="no customer has made a repeat purchase"):
        fit_bgnbd(np.zeros(100), np.zeros(100), np.full(100, 30.0))


def test_customers_who_never_lapse_fail_instead_of_giving_nan() -> None:
    # everyone bought on the last day: nothing tells when customers drop out
    x = np.tile([1.0, 2.0, 3.0, 5.0], 50)
    age = np.tile([10.0, 20.0, 30.0, 40.0], 50)
    with pytest.raises(FitFailed, match="BG/NBD") as failure:
        fit_bgnbd(x, age, age)
    assert "nan" not in str(failure.value).lower()
    assert "penalizer" in str(failure.value)


def test_a_search_that_runs_out_of_iterations_fails() -> None:
    x, t_x, ages = day_summaries(2_000, seed=3)
    with pytest.raises(FitFailed, match="did not converge within 2 iterations"):
        fit_bgnbd(x, t_x, ages, max_iterations=2)


def test_penalizer_pulls_parameters_towards_zero() -> None:
    x, t_x, ages = day_summaries(20_000, seed=6)
    plain = fit_bgnbd(x, t_x, ages)
    penalised = fit_bgnbd(x, t_x, ages, penalizer=0.01)
    assert penalised.a + penalised.b < plain.a + plain.b
    assert penalised.log_likelihood < plain.log_likelihood
    with pytest.raises(FitFailed, match="penalizer"):
        fit_bgnbd(x, t_x, ages, penalizer=-1)


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "message"),
    [
        ([], [], [], "no customers"),
        ([-1, 2], [0, 3], [5, 5], "frequency must not be negative"),
        ([1, 2], [-1, 3], [5, 5], "recency must not be negative"),
        ([1, 2], [6, 3], [5, 5], "recency must not be greater"),
        ([1, 2], [1, 3], [5], "same length"),
        ([1, float("nan")], [1, 3], [5, 5], "missing or infinite"),
    ],
)
def test_bad_summaries_are_refused(
    frequency: list[float], recency: list[float], age: list[float], message: str
) -> None:
    with pytest.raises(FitFailed, match=message):
        fit_bgnbd(frequency, recency, age)
    if frequency and len(frequency) == len(age):
        with pytest.raises(FitFailed, match=message):
            CDNOW.probability_alive(frequency, recency, age)


def test_days_and_weeks_give_the_same_model_with_or_without_a_penalizer() -> None:
    x, t_x, ages = day_summaries(20_000, seed=8)
    for penalizer in (0.0, 0.01):
        days = fit_bgnbd(x, t_x, ages, penalizer=penalizer)
        weeks = fit_bgnbd(x, t_x / 7, ages / 7, penalizer=penalizer)
        assert days.alpha == pytest.approx(7 * weeks.alpha, rel=1e-6)
        for name in ("r", "a", "b"):
            assert days.params()[name] == pytest.approx(weeks.params()[name], rel=1e-6)
