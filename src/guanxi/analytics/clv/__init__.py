"""Customer lifetime value: BG/NBD (or Pareto/NBD) purchases and drop-out, Gamma-Gamma spend,
discounted CLV and customer equity (客户资产), with diagnostics, simulators and scikit-learn style
estimators.

Models are fitted by maximum likelihood with analytic gradients on per-customer summaries
(frequency, recency, T) compressed to distinct triples, so fitting costs the same for a thousand
or a billion customers with the same history length. Everything here is NumPy/SciPy; the summary
itself comes from ``guanxi.analytics.summary``.
"""

from guanxi.analytics.clv.bgnbd import BGNBDFit, fit_bgnbd
from guanxi.analytics.clv.compress import FitFailed, Triples, compress
from guanxi.analytics.clv.diagnostics import cumulative_tracking, holdout_by_frequency
from guanxi.analytics.clv.estimators import BetaGeoModel, GammaGammaModel
from guanxi.analytics.clv.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from guanxi.analytics.clv.pareto_nbd import ParetoNBDFit, fit_pareto_nbd, simulate_pareto_nbd
from guanxi.analytics.clv.simulate import (
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_transactions,
)
from guanxi.analytics.clv.value import (
    customer_equity,
    customer_value,
    customer_value_with_purchases,
    discounted_purchases,
)

__all__ = [
    "BGNBDFit",
    "BetaGeoModel",
    "FitFailed",
    "GammaGammaFit",
    "GammaGammaModel",
    "ParetoNBDFit",
    "Triples",
    "compress",
    "cumulative_tracking",
    "customer_equity",
    "customer_value",
    "customer_value_with_purchases",
    "discounted_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "holdout_by_frequency",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
    "simulate_transactions",
]
