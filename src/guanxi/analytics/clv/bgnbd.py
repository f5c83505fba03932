"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): how many
purchases a customer will make and whether they are still a customer, from (x, t_x, T) alone.

While alive a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each repeat purchase
they drop out for good with probability p ~ Beta(a, b). Time is in the unit of the summary (days
or weeks); ``alpha`` is in that unit too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from guanxi.analytics.clv.compress import (
    FitFailed,
    FloatArray,
    Triples,
    check_summary,
    coarsen,
    codes,
    compress,
    dot,
    totals,
    unique_with_inverse,
)
from guanxi.analytics.clv.optimize import maximise
from guanxi.errors import N_

NAMES = ("r", "alpha", "a", "b")
HINT = N_(
    "BG/NBD needs customers who lapse as well as customers who keep buying; try a penalizer "
    "(such as 0.001) or a longer history"
)


def log_likelihood_terms(
    params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """Each customer's log-likelihood (FHL 2005 eq. 6 rewritten without cancellation):

    ln L = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b) - (r+x) ln(alpha+T)
           + [x > 0] ln(1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))
    """
    r, alpha, a, b = params
    value = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x)
        - betaln(a, b)
        - (r + x) * np.log(alpha + age)
    )
    return value + np.where(x > 0, np.logaddexp(0.0, _dropout_log_odds(params, x, t_x, age)), 0.0)


@dataclass(frozen=True)
class Prepared:
    """Triples arranged so one likelihood evaluation does as little per-triple work as possible.

    Terms that depend on x alone (gamma functions) are summed per distinct x, terms in T alone per
    distinct T; only the drop-out term ln(1 + e^D) of customers with repeat purchases needs every
    (x, t_x, T) triple, and reads ln(alpha + T) and ln(alpha + t_x) from tables of distinct values.
    """

    n: float
    gx: FloatArray  # distinct frequencies and their customer counts
    gw: FloatArray
    u_age: FloatArray  # distinct T, customers with that T, and sum of their x
    w_age: FloatArray
    x_age: FloatArray
    w: FloatArray  # customers with repeat purchases, one entry per triple
    x: FloatArray
    ix: NDArray[np.int64]
    i_age: NDArray[np.int64]
    it: NDArray[np.int64]
    ut: FloatArray  # distinct recencies of those customers

    @classmethod
    def of(cls, triples: Triples) -> Prepared:
        gx, cgx = codes(triples.x)
        u_age, c_age = codes(triples.T)
        repeat = triples.x > 0
        ut, it = codes(triples.t_x[repeat])
        w = triples.count
        return cls(
            n=float(w.sum()),
            gx=gx,
            gw=totals(cgx, w, gx.size),
            u_age=u_age,
            w_age=totals(c_age, w, u_age.size),
            x_age=totals(c_age, w * triples.x, u_age.size),
            w=w[repeat],
            x=triples.x[repeat],
            ix=cgx[repeat],
            i_age=c_age[repeat],
            it=it,
            ut=ut,
        )


def log_likelihood(params: FloatArray, data: Triples | Prepared) -> tuple[float, FloatArray]:
    """Total log-likelihood of the weighted triples and its analytic gradient in (r, alpha, a, b).

    With D the drop-out log odds and s = 1 / (1 + e^-D) (the posterior probability that a
    customer with repeat purchases has dropped out), the gradient is
    d/dr = psi(r+x) - psi(r) + ln alpha - ln(alpha+T) + s ln((alpha+T)/(alpha+t_x))
    d/dalpha = r/alpha - (r+x)/(alpha+T) + s (r+x) (1/(alpha+T) - 1/(alpha+t_x))
    d/da = psi(a+b) - psi(a+b+x) + s/a
    d/db = psi(b+x) - psi(b) + psi(a+b) - psi(a+b+x) - s/(b+x-1), summed over customers.
    """
    prep = data if isinstance(data, Prepared) else Prepared.of(data)
    r, alpha, a, b = params
    n, gx, gw = prep.n, prep.gx, prep.gw
    log_age = np.log(alpha + prep.u_age)
    inv_age = 1 / (alpha + prep.u_age)
    log_t = np.log(alpha + prep.ut)
    inv_t = 1 / (alpha + prep.ut)
    # per distinct x: ln(a / (b + x - 1)) (unused where x = 0)
    log_c = np.log(a) - np.log(np.where(gx > 0, b + gx - 1, 1.0))
    gap = log_age[prep.i_age] - log_t[prep.it]
    r_x = r + prep.x
    odds = log_c[prep.ix] + r_x * gap
    # ln(1 + e^D) and 1 / (1 + e^-D) without branches or divisions per element: on large arrays
    # np.where, np.logaddexp and division cost ten times an exp here
    softplus = np.maximum(odds, 0.0) + np.log1p(np.exp(-np.abs(odds)))
    s = 0.5 + 0.5 * np.tanh(0.5 * odds)
    ws = prep.w * s
    ws_by_x = totals(prep.ix, ws, gx.size)
    rate_age = r * prep.w_age + prep.x_age  # sum of w (r + x) per distinct T
    value = (
        dot(gw, gammaln(r + gx) + betaln(a, b + gx))
        + n * (r * np.log(alpha) - gammaln(r) - betaln(a, b))
        - dot(rate_age, log_age)
        + dot(prep.w, softplus)
    )
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + gx)
    d_r = (
        dot(gw, digamma(r + gx))
        + n * (np.log(alpha) - digamma(r))
        - dot(prep.w_age, log_age)
        + dot(ws, gap)
    )
    d_alpha = (
        n * r / alpha - dot(rate_age, inv_age) + dot(ws * r_x, inv_age[prep.i_age] - inv_t[prep.it])
    )
    d_a = n * psi_ab - dot(gw, psi_abx) + ws_by_x.sum() / a
    d_b = (
        dot(gw, digamma(b + gx) - psi_abx)
        + n * (psi_ab - digamma(b))
        - dot(ws_by_x, 1 / np.where(gx > 0, b + gx - 1, 1.0))
    )
    return float(value), np.array([d_r, d_alpha, d_a, d_b])


def log_likelihood_hessian(params: FloatArray, data: Triples | Prepared) -> FloatArray:
    """The Hessian of ``log_likelihood`` in (r, alpha, a, b).

    Each customer's log-likelihood is A + [x > 0] ln(1 + e^D). A contributes, with psi1 the
    trigamma function, d2/dr2 = psi1(r+x) - psi1(r), d2/dr dalpha = 1/alpha - 1/(alpha+T),
    d2/dalpha2 = -r/alpha^2 + (r+x)/(alpha+T)^2, d2/da2 = d2/da db = psi1(a+b) - psi1(a+b+x),
    d2/db2 = psi1(b+x) - psi1(b) + psi1(a+b) - psi1(a+b+x); the drop-out term contributes
    s (1 - s) grad(D) grad(D)' + s hess(D), where grad(D) = (ln((alpha+T)/(alpha+t_x)),
    (r+x) (1/(alpha+T) - 1/(alpha+t_x)), 1/a, -1/(b+x-1)) and hess(D) has d2/dr dalpha =
    1/(alpha+T) - 1/(alpha+t_x), d2/dalpha2 = (r+x) (1/(alpha+t_x)^2 - 1/(alpha+T)^2),
    d2/da2 = -1/a^2, d2/db2 = 1/(b+x-1)^2 and zeros elsewhere.
    """
    prep = data if isinstance(data, Prepared) else Prepared.of(data)
    r, alpha, a, b = params
    n, gx, gw = prep.n, prep.gx, prep.gw
    inv_age = 1 / (alpha + prep.u_age)
    log_age = np.log(alpha + prep.u_age)
    log_t = np.log(alpha + prep.ut)
    inv_t = 1 / (alpha + prep.ut)
    # per distinct x: 1 / (b + x - 1) (unused where x = 0)
    inv_c = 1 / np.where(gx > 0, b + gx - 1, 1.0)
    gap = log_age[prep.i_age] - log_t[prep.it]
    r_x = r + prep.x
    odds = np.log(a) + np.log(inv_c)[prep.ix] + r_x * gap
    s = 0.5 + 0.5 * np.tanh(0.5 * odds)
    ws = prep.w * s
    curve = ws * (1 - s)  # w s (1 - s)
    spread = inv_age[prep.i_age] - inv_t[prep.it]
    d_alpha = r_x * spread
    curve_gap = curve * gap
    curve_alpha = curve * d_alpha
    curve_by_x = totals(prep.ix, curve, gx.size)
    ws_by_x = totals(prep.ix, ws, gx.size)
    rate_age = r * prep.w_age + prep.x_age
    psi1_abx = polygamma(1, a + b + gx)
    psi1_ab = float(polygamma(1, a + b))
    rr = dot(gw, polygamma(1, r + gx)) - n * float(polygamma(1, r)) + dot(curve_gap, gap)
    r_alpha = n / alpha - dot(prep.w_age, inv_age) + dot(curve_gap, d_alpha) + dot(ws, spread)
    r_a = float(curve_gap.sum()) / a
    r_b = -dot(totals(prep.ix, curve_gap, gx.size), inv_c)
    alpha_alpha = (
        -n * r / alpha**2
        + dot(rate_age, inv_age * inv_age)
        + dot(curve_alpha, d_alpha)
        + dot(ws * r_x, inv_t[prep.it] ** 2 - inv_age[prep.i_age] ** 2)
    )
    alpha_a = float(curve_alpha.sum()) / a
    alpha_b = -dot(totals(prep.ix, curve_alpha, gx.size), inv_c)
    beta_terms = n * psi1_ab - dot(gw, psi1_abx)
    aa = beta_terms + (float(curve_by_x.sum()) - float(ws_by_x.sum())) / a**2
    ab = beta_terms - dot(curve_by_x, inv_c) / a
    bb = (
        dot(gw, polygamma(1, b + gx) - psi1_abx)
        + n * (psi1_ab - float(polygamma(1, b)))
        + dot(curve_by_x + ws_by_x, inv_c * inv_c)
    )
    return np.array(
        [
            [rr, r_alpha, r_a, r_b],
            [r_alpha, alpha_alpha, alpha_a, alpha_b],
            [r_a, alpha_a, aa, ab],
            [r_b, alpha_b, ab, bb],
        ]
    )


def _dropout_log_odds(
    params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)): log odds of having dropped out (x > 0)."""
    r, alpha, a, b = params
    safe = np.where(x > 0, b + x - 1, 1.0)
    return np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))


@dataclass(frozen=True)
class BGNBDFit:
    """Fitted BG/NBD parameters with standard errors, and the predictions they give."""

    r: float
    alpha: float
    a: float
    b: float
    standard_errors: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = 0.0
    n_customers: int = 0
    iterations: int = 0
    converged: bool = True

    def params(self) -> dict[str, float]:
        """The four parameters by name."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def _vector(self) -> FloatArray:
        return np.array([self.r, self.alpha, self.a, self.b])

    def probability_alive(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,  # noqa: N803
    ) -> FloatArray:
        """P(still a customer | x, t_x, T)
        = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).

        Customers without a repeat purchase are alive with certainty: the model lets customers
        drop out only right after a repeat purchase.
        """
        x, t_x, age = check_summary(frequency, recency, T)
        return np.where(x > 0, expit(-_dropout_log_odds(self._vector, x, t_x, age)), 1.0)

    def expected_purchases(
        self,
        t: float,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    ) -> FloatArray:
        """E[purchases in the next ``t`` units | x, t_x, T] (FHL 2005 eq. 10).

        = P(alive) * (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
                                        * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
        The hypergeometric term is evaluated once per distinct (x, T) in Euler's transformed form
        (see ``expected_purchases_if_alive``), which stays accurate for heavy buyers.
        """
        if t < 0:
            raise FitFailed(N_("the prediction horizon must not be negative"))
        x, t_x, age = check_summary(frequency, recency, T)
        alive = np.where(x > 0, expit(-_dropout_log_odds(self._vector, x, t_x, age)), 1.0)
        (ux, u_age), inverse = unique_with_inverse(x, age)
        return alive * self.expected_purchases_if_alive(float(t), ux, u_age)[inverse]

    def expected_purchases_if_alive(self, t: float, x: FloatArray, age: FloatArray) -> FloatArray:
        """Expected purchases in (T, T + t] of a customer still alive at T with x repeat purchases.

        The conditional expectation is this times P(alive); it depends on (x, T) only, so callers
        evaluate it on distinct pairs."""
        r, alpha, a, b = self._vector
        if t == 0:
            return np.zeros_like(x)
        z = t / (alpha + age + t)
        # Euler: 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns
        # (1-z)^(r+x) 2F1(r+x, b+x; c; z) into (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z), c = a+b+x-1,
        # whose first two arguments no longer grow with x
        c = a + b + x - 1
        rest = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        return (c / (a - 1)) * (1 - rest)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: expected repeat purchases by time ``t`` of a customer who first bought at 0.

        = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r * 2F1(r, b; a+b-1; t/(alpha+t))]
        """
        r, alpha, a, b = self._vector
        times = np.asarray(t, dtype=np.float64)
        if np.any(times < 0):
            raise FitFailed(N_("the prediction horizon must not be negative"))
        z = times / (alpha + times)
        c = a + b - 1
        rest = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(c - r, a - 1, c, z)
        return np.asarray((c / (a - 1)) * (1 - rest), dtype=np.float64)


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    *,
    penalizer: float = 0.0,
    max_iterations: int = 1000,
) -> BGNBDFit:
    """Fit BG/NBD by maximum likelihood on the compressed (x, t_x, T) triples.

    ``frequency`` is the number of repeat purchase days, ``recency`` the time from the first to the
    last purchase and ``T`` the time from the first purchase to the end of the observation period,
    in one unit (days or weeks). Raises FitFailed with a readable message when the data cannot
    identify the model or the search does not converge; it never returns NaN parameters.
    """
    triples = compress(frequency, recency, T)
    prepared = Prepared.of(triples)
    if not np.any(triples.x > 0):
        raise FitFailed(
            N_(
                "no customer has made a repeat purchase, so purchase rates and drop-out cannot "
                "be estimated; BG/NBD needs customers who bought on at least two days"
            )
        )
    n = triples.count.sum()
    start, near_hessian = _starting_point(triples, penalizer)
    estimate = maximise(
        lambda params: log_likelihood(params, prepared),
        start,
        names=NAMES,
        model="BG/NBD",
        hint=HINT,
        n_customers=n,
        penalizer=penalizer,
        penalty_scale=_penalty_scale(triples),
        max_iterations=max_iterations,
        near=near_hessian is not None,
        start_hessian=near_hessian,
        log_likelihood_hessian=lambda params: log_likelihood_hessian(params, prepared),
    )
    r, alpha, a, b = (float(v) for v in estimate.params)
    if abs(a - 1) < 1e-9:
        # the expectation formulas divide by a - 1; the limit exists but a == 1 exactly is a
        # measure-zero accident worth stating rather than hiding
        raise FitFailed(N_("the BG/NBD fit gave a = 1, where expected purchases are undefined"))
    return BGNBDFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        standard_errors=dict(zip(NAMES, (float(s) for s in estimate.standard_errors), strict=True)),
        log_likelihood=estimate.log_likelihood,
        n_customers=int(n),
        iterations=estimate.iterations,
        converged=estimate.converged,
    )


def _starting_point(triples: Triples, penalizer: float) -> tuple[FloatArray, FloatArray | None]:
    """Where the search starts and, when that is already near the maximum, the Hessian there.

    The rate r/alpha starts at the observed repeat rate. When there are many triples, the model is
    first fitted on a coarsened copy (``coarsen``); its maximum lies close to the exact one, so a
    few Newton steps on the full data finish the fit.
    """
    rate = dot(triples.count, triples.x) / max(dot(triples.count, triples.T), 1e-12)
    start = np.array([1.0, 1.0 / max(rate, 1e-8), 1.0, 3.0])
    if triples.x.size <= 20_000:
        return start, None
    coarse = coarsen(triples)
    prepared = Prepared.of(coarse)
    try:
        estimate = maximise(
            lambda params: log_likelihood(params, prepared),
            start,
            names=NAMES,
            model="BG/NBD",
            n_customers=float(coarse.count.sum()),
            penalizer=penalizer,
            penalty_scale=_penalty_scale(triples),
            newton=True,
            log_likelihood_hessian=lambda params: log_likelihood_hessian(params, prepared),
        )
    except FitFailed:
        return start, None
    return estimate.params, estimate.hessian


def _penalty_scale(triples: Triples) -> FloatArray:
    """alpha enters the penalty in units of a tenth of the longest T, as in ``lifetimes``, so a
    penalizer means the same for summaries in days and in weeks."""
    return np.array([1.0, 10.0 / max(float(triples.T.max()), 1e-12), 1.0, 1.0])
