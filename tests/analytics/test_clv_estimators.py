"""The scikit-learn style estimators on pandas and Polars frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from guanxi.analytics.clv import (
    BetaGeoModel,
    FitFailed,
    GammaGammaModel,
    fit_bgnbd,
    fit_gamma_gamma,
    simulate_bgnbd,
    simulate_gamma_gamma,
)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    age = np.random.default_rng(1).integers(20, 52, size=5_000).astype(float)
    x, t_x, ages = simulate_bgnbd(5_000, r=0.243, alpha=4.414, a=0.793, b=2.426, T=age, seed=2)
    spend = simulate_gamma_gamma(x, p=6.25, q=3.74, v=15.44, seed=3)
    return pd.DataFrame(
        {"frequency": x.astype(int), "recency": t_x, "T": ages, "monetary_value": spend}
    )


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_beta_geo_model_fits_and_predicts_like_the_functions(
    summary: pd.DataFrame, kind: str
) -> None:
    frame = summary if kind == "pandas" else pl.from_pandas(summary)
    model = BetaGeoModel().fit(frame)
    direct = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    assert model.params_ == pytest.approx(direct.params(), rel=1e-9)
    assert set(model.standard_errors_) == {"r", "alpha", "a", "b"}
    assert model.log_likelihood_ == pytest.approx(direct.log_likelihood)
    predicted = model.predict(frame, 10)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (5_000,)
    np.testing.assert_allclose(
        predicted,
        direct.expected_purchases(10, summary["frequency"], summary["recency"], summary["T"]),
    )
    alive = model.probability_alive(frame)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[summary["frequency"].to_numpy() == 0] == 1)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_gamma_gamma_model_fits_and_predicts(summary: pd.DataFrame, kind: str) -> None:
    frame = summary if kind == "pandas" else pl.from_pandas(summary)
    model = GammaGammaModel().fit(frame)
    direct = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    assert model.params_ == pytest.approx(direct.params(), rel=1e-9)
    assert set(model.standard_errors_) == {"p", "q", "v"}
    spend = model.predict(frame)
    assert spend.shape == (5_000,) and np.all(spend > 0)


def test_penalizer_is_passed_on(summary: pd.DataFrame) -> None:
    plain = BetaGeoModel().fit(summary).params_
    penalised = BetaGeoModel(penalizer=0.01).fit(summary).params_
    assert penalised != pytest.approx(plain)


def test_missing_columns_and_unfitted_models_fail_clearly(summary: pd.DataFrame) -> None:
    with pytest.raises(FitFailed, match="no column 'T'"):
        BetaGeoModel().fit(summary.drop(columns=["T"]))
    with pytest.raises(FitFailed, match="not been fitted"):
        BetaGeoModel().predict(summary, 10)
    with pytest.raises(FitFailed, match="not been fitted"):
        GammaGammaModel().predict(summary)
    with pytest.raises(FitFailed, match="missing values"):
        GammaGammaModel().fit(pl.from_pandas(summary).with_columns(monetary_value=None))
    with pytest.raises(FitFailed, match="pandas or Polars"):
        BetaGeoModel().fit([[1, 2, 3]])
