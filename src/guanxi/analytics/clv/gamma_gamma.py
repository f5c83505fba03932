"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
for customer base analysis"; Colombo & Jiang 1999): what a customer will spend per purchase.

Each purchase of a customer is Gamma(p, nu); nu varies across customers as Gamma(q, v). Spend is
assumed independent of how often a customer buys. The model is fitted on customers with at least
one repeat purchase and a positive mean spend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln, polygamma

from guanxi.analytics.clv.compress import FitFailed, FloatArray, as_array, dot
from guanxi.analytics.clv.optimize import maximise
from guanxi.errors import N_

NAMES = ("p", "q", "v")
HINT = N_("check that spend varies between customers and cap extreme spenders")


@dataclass(frozen=True)
class _Spend:
    """The per-customer pieces of the likelihood that do not depend on the parameters.

    Terms that depend on a customer only through x (the gamma functions) are summed per distinct
    frequency, so each likelihood evaluation touches the full arrays only for ln(v + m x).
    """

    x: FloatArray  # distinct frequencies
    weight: FloatArray  # customers per distinct frequency
    total: FloatArray  # per customer: m * x
    frequency: FloatArray  # per customer: x
    constant: float  # sum of x ln(m x) - ln m over customers, times p is added separately
    sum_x_log_mx: float


def _prepare(x: FloatArray, m: FloatArray) -> _Spend:
    distinct, weight = np.unique(x, return_counts=True)
    log_m = np.log(m)
    return _Spend(
        x=distinct,
        weight=weight.astype(np.float64),
        total=m * x,
        frequency=x,
        constant=float(-log_m.sum()),
        sum_x_log_mx=dot(x, log_m + np.log(x)),
    )


def log_likelihood(params: FloatArray, spend: _Spend) -> tuple[float, FloatArray]:
    """Total log-likelihood of the mean spends and its gradient in (p, q, v):

    ln f(m | x) = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v+mx)
    """
    p, q, v = params
    x, w = spend.x, spend.weight
    log_total = np.log(v + spend.total)
    inv_total = 1.0 / (v + spend.total)
    sum_log_total = float(log_total.sum())
    sum_x_log_total = dot(spend.frequency, log_total)
    px = p * x
    value = (
        dot(w, gammaln(px + q) - gammaln(px))
        - w.sum() * (gammaln(q) - q * np.log(v))
        + p * spend.sum_x_log_mx
        + spend.constant
        - p * sum_x_log_total
        - q * sum_log_total
    )
    psi = digamma(px + q)
    d_p = dot(w, x * (psi - digamma(px))) + spend.sum_x_log_mx - sum_x_log_total
    d_q = dot(w, psi) - w.sum() * (digamma(q) - np.log(v)) - sum_log_total
    d_v = w.sum() * q / v - p * dot(spend.frequency, inv_total) - q * float(inv_total.sum())
    return float(value), np.array([d_p, d_q, d_v])


def log_likelihood_hessian(params: FloatArray, spend: _Spend) -> FloatArray:
    """The Hessian of ``log_likelihood`` in (p, q, v). With psi1 the trigamma function and
    I = 1 / (v + m x), summed over customers:

    d2/dp2 = x^2 (psi1(px+q) - psi1(px))   d2/dp dq = x psi1(px+q)   d2/dp dv = -x I
    d2/dq2 = psi1(px+q) - psi1(q)          d2/dq dv = 1/v - I        d2/dv2 = -q/v^2 + (px+q) I^2
    """
    p, q, v = params
    x, w = spend.x, spend.weight
    n = float(w.sum())
    inverse = 1.0 / (v + spend.total)
    squared = inverse * inverse
    trigamma = polygamma(1, p * x + q)
    pp = dot(w, x * x * (trigamma - polygamma(1, p * x)))
    pq = dot(w, x * trigamma)
    qq = float(w @ trigamma) - n * float(polygamma(1, q))
    pv = -dot(spend.frequency, inverse)
    qv = n / v - float(inverse.sum())
    vv = -n * q / v**2 + p * dot(spend.frequency, squared) + q * float(squared.sum())
    return np.array([[pp, pq, pv], [pq, qq, qv], [pv, qv, vv]])


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters with standard errors, and the expected spend they give."""

    p: float
    q: float
    v: float
    standard_errors: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = 0.0
    n_customers: int = 0
    iterations: int = 0
    converged: bool = True

    def params(self) -> dict[str, float]:
        """The three parameters by name."""
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def population_mean(self) -> float:
        """Mean spend per purchase across customers, p v / (q - 1)."""
        return self.p * self.v / (self.q - 1)

    def conditional_expected_spend(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """E[spend per purchase | x, m] = p (v + m x) / (p x + q - 1): a weighted average of the
        population mean and the customer's own mean m, trusting m more the more purchases it
        rests on. Customers without repeat purchases (or without positive spend) get the
        population mean.
        """
        x = as_array(frequency, "frequency")
        m = as_array(monetary_value, "monetary_value")
        if x.size != m.size:
            raise FitFailed(N_("frequency and monetary_value must have the same length"))
        known = (x > 0) & (m > 0)
        x_k = np.where(known, x, 0.0)
        m_k = np.where(known, m, 0.0)
        return self.p * (self.v + m_k * x_k) / (self.p * x_k + self.q - 1)


def fit_gamma_gamma(
    frequency: ArrayLike, monetary_value: ArrayLike, *, max_iterations: int = 1000
) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood on customers with frequency > 0 and spend > 0.

    ``monetary_value`` is the mean spend of the customer's repeat purchases. Raises FitFailed when
    too few customers qualify, the search does not converge, or the fitted spend has no finite
    mean (q <= 1).
    """
    x = as_array(frequency, "frequency")
    m = as_array(monetary_value, "monetary_value")
    if x.size != m.size:
        raise FitFailed(N_("frequency and monetary_value must have the same length"))
    if np.any(x < 0):
        raise FitFailed(N_("frequency must not be negative"))
    used = (x > 0) & (m > 0)
    count = int(used.sum())
    if count < 3:
        raise FitFailed(
            N_(
                "Gamma-Gamma needs customers with repeat purchases and positive spend; "
                "only {count} qualify"
            ),
            count=count,
        )
    x, m = x[used], m[used]
    spend = _prepare(x, m)
    # method-of-moments start: the spread of customer means around their mean
    mean, var = float(m.mean()), float(m.var())
    p0 = max(mean**2 / max(var, 1e-12), 0.5)
    start = np.array([p0, 3.0, 2.0 * mean / p0])
    near_hessian = None
    if count > 200_000:
        # a fit on an evenly spaced sample of 50,000 customers lands close to the maximum, so
        # the full data only needs a few Newton steps
        every = count // 50_000
        sample = _prepare(x[::every], m[::every])
        try:
            first = maximise(
                lambda params: log_likelihood(params, sample),
                start,
                names=NAMES,
                model="Gamma-Gamma",
                hint=HINT,
                n_customers=float(sample.frequency.size),
                newton=True,
                log_likelihood_hessian=lambda params: log_likelihood_hessian(params, sample),
            )
            start, near_hessian = first.params, first.hessian
        except FitFailed:
            pass
    estimate = maximise(
        lambda params: log_likelihood(params, spend),
        start,
        # the sample's Hessian is a poor guide here (more Newton steps than it saves)
        near=near_hessian is not None,
        names=NAMES,
        model="Gamma-Gamma",
        hint=HINT,
        n_customers=float(count),
        max_iterations=max_iterations,
        log_likelihood_hessian=lambda params: log_likelihood_hessian(params, spend),
    )
    p, q, v = (float(value) for value in estimate.params)
    if q <= 1:
        raise FitFailed(
            N_(
                "the Gamma-Gamma fit gave q = {q:.3g} <= 1, so spend has no finite mean; a few "
                "extreme spenders may dominate, consider capping monetary values"
            ),
            q=q,
        )
    return GammaGammaFit(
        p=p,
        q=q,
        v=v,
        standard_errors=dict(zip(NAMES, (float(s) for s in estimate.standard_errors), strict=True)),
        log_likelihood=estimate.log_likelihood,
        n_customers=count,
        iterations=estimate.iterations,
        converged=estimate.converged,
    )
