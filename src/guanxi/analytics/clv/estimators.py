"""scikit-learn style estimators over the CLV models, for analysts working in pandas or Polars.

    model = BetaGeoModel().fit(summary)          # columns frequency, recency, T
    summary["p_alive"] = model.probability_alive(summary)
    summary["next_90"] = model.predict(summary, 90)

Predictions are NumPy arrays in the frame's row order, ready to assign as a column.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from guanxi.analytics.clv.bgnbd import BGNBDFit, fit_bgnbd
from guanxi.analytics.clv.compress import FitFailed, FloatArray
from guanxi.analytics.clv.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from guanxi.errors import N_


def _columns(frame: Any, names: tuple[str, ...]) -> list[FloatArray]:
    """The named columns of a pandas/Polars frame (or Arrow table) as float arrays."""
    # Arrow loads here, not with the package: ``guanxi clv fit`` never needs it
    import pyarrow as pa

    from guanxi.analytics.inputs import to_arrow

    try:
        table = to_arrow(frame)
    except TypeError as exc:
        raise FitFailed(N_("expected a pandas or Polars frame")) from exc
    columns = []
    for name in names:
        if name not in table.column_names:
            raise FitFailed(N_("the frame has no column {name!r}"), name=name)
        column = table.column(name).cast(pa.float64())
        if column.null_count:
            raise FitFailed(N_("column {name!r} has missing values"), name=name)
        columns.append(np.asarray(column.to_numpy(), dtype=np.float64))
    return columns


class BetaGeoModel:
    """BG/NBD purchase and drop-out model; ``fit`` reads columns frequency, recency and T."""

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer
        self.fit_: BGNBDFit | None = None

    def fit(self, frame: Any) -> BetaGeoModel:
        """Fit on a frame of per-customer summaries; returns the model."""
        x, t_x, age = _columns(frame, ("frequency", "recency", "T"))
        self.fit_ = fit_bgnbd(x, t_x, age, penalizer=self.penalizer)
        return self

    @property
    def _fitted(self) -> BGNBDFit:
        if self.fit_ is None:
            raise FitFailed(N_("the model has not been fitted yet"))
        return self.fit_

    @property
    def params_(self) -> dict[str, float]:
        """Fitted r, alpha, a, b."""
        return self._fitted.params()

    @property
    def standard_errors_(self) -> dict[str, float]:
        """Standard errors of the fitted parameters."""
        return dict(self._fitted.standard_errors)

    @property
    def log_likelihood_(self) -> float:
        """Total log-likelihood at the fitted parameters."""
        return self._fitted.log_likelihood

    def predict(self, frame: Any, t: float) -> FloatArray:
        """Expected purchases of each customer in the next ``t`` time units."""
        x, t_x, age = _columns(frame, ("frequency", "recency", "T"))
        return self._fitted.expected_purchases(t, x, t_x, age)

    def probability_alive(self, frame: Any) -> FloatArray:
        """Probability that each customer is still a customer."""
        x, t_x, age = _columns(frame, ("frequency", "recency", "T"))
        return self._fitted.probability_alive(x, t_x, age)


class GammaGammaModel:
    """Gamma-Gamma spend model; ``fit`` reads columns frequency and monetary_value."""

    def __init__(self) -> None:
        self.fit_: GammaGammaFit | None = None

    def fit(self, frame: Any) -> GammaGammaModel:
        """Fit on customers with repeat purchases and positive spend; returns the model."""
        x, m = _columns(frame, ("frequency", "monetary_value"))
        self.fit_ = fit_gamma_gamma(x, m)
        return self

    @property
    def _fitted(self) -> GammaGammaFit:
        if self.fit_ is None:
            raise FitFailed(N_("the model has not been fitted yet"))
        return self.fit_

    @property
    def params_(self) -> dict[str, float]:
        """Fitted p, q, v."""
        return self._fitted.params()

    @property
    def standard_errors_(self) -> dict[str, float]:
        """Standard errors of the fitted parameters."""
        return dict(self._fitted.standard_errors)

    def predict(self, frame: Any) -> FloatArray:
        """Expected spend per purchase of each customer."""
        x, m = _columns(frame, ("frequency", "monetary_value"))
        return self._fitted.conditional_expected_spend(x, m)
