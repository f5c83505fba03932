"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), the classic alternative to
BG/NBD: customers buy at Poisson rate lambda ~ Gamma(r, alpha) and leave after an exponential
lifetime with rate mu ~ Gamma(s, beta), at any time rather than right after a purchase.

Per customer (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model"):

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s  +  s I(t_x, T) ]
    I = integral from t_x to T of (alpha+u)^-(r+x) (beta+u)^-(s+1) du = F(t_x) - F(T)

with F(u) = (alpha+u)^-(r+s+x) / (r+s+x) * 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+u)) for
alpha >= beta (alpha and beta swap roles, with r+x for s+1, otherwise). F depends on (x, u) only,
so it is evaluated once per distinct (x, t_x) and (x, T) pair. The gradient is numerical (central
differences of this closed form): derivatives of 2F1 in its parameters have no practical closed
form. Fitting is therefore slower than BG/NBD, though still on compressed triples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, hyp2f1

from guanxi.analytics.clv.compress import (
    FitFailed,
    FloatArray,
    Triples,
    check_summary,
    coarsen,
    compress,
    dot,
    unique_with_inverse,
)
from guanxi.analytics.clv.optimize import maximise
from guanxi.errors import N_

NAMES = ("r", "alpha", "s", "beta")
HINT = N_(
    "Pareto/NBD needs customers who lapse as well as customers who keep buying; try a penalizer "
    "(such as 0.001) or a longer history"
)


def _log_tail(params: FloatArray, x: FloatArray, u: FloatArray) -> FloatArray:
    """ln F(u) for the pairs (x, u)."""
    r, alpha, s, beta = params
    total = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + u)
        series = hyp2f1(total, s + 1, total + 1, z)
        base = np.log(alpha + u)
    else:
        z = (beta - alpha) / (beta + u)
        series = hyp2f1(total, r + x, total + 1, z)
        base = np.log(beta + u)
    return np.asarray(-total * base - np.log(total) + np.log(series), dtype=np.float64)


@dataclass(frozen=True)
class Pairs:
    """The distinct (x, u) pairs at which F is needed for a set of triples (u = t_x and u = T),
    and where each triple finds its two values."""

    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    pair_x: FloatArray
    pair_u: FloatArray
    inverse: NDArray[np.int64]

    @classmethod
    def of(cls, x: FloatArray, t_x: FloatArray, age: FloatArray) -> Pairs:
        (pair_x, pair_u), inverse = unique_with_inverse(np.r_[x, x], np.r_[t_x, age])
        return cls(x, t_x, age, pair_x, pair_u, inverse)


def _log_terms(params: FloatArray, pairs: Pairs) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per triple: ln of the alive term, ln of s * I (the died-in-between term), the constant."""
    r, alpha, s, beta = params
    x, age = pairs.x, pairs.age
    tails = _log_tail(params, pairs.pair_x, pairs.pair_u)[pairs.inverse]
    at_recency, at_age = tails[: x.size], tails[x.size :]
    # ln(F(t_x) - F(T)) = ln F(t_x) + ln(1 - F(T)/F(t_x)); -inf when t_x == T
    with np.errstate(divide="ignore"):
        died = np.log(s) + at_recency + np.log(-np.expm1(np.minimum(at_age - at_recency, 0.0)))
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    constant = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return alive, died, constant


def log_likelihood_value(params: FloatArray, triples: Triples, pairs: Pairs | None = None) -> float:
    """Total log-likelihood of the weighted triples."""
    pairs = pairs or Pairs.of(triples.x, triples.t_x, triples.T)
    alive, died, constant = _log_terms(params, pairs)
    return dot(triples.count, constant + np.logaddexp(alive, died))


def log_likelihood(
    params: FloatArray, triples: Triples, pairs: Pairs | None = None
) -> tuple[float, FloatArray]:
    """Total log-likelihood and its gradient by central differences in the log-parameters."""
    pairs = pairs or Pairs.of(triples.x, triples.t_x, triples.T)
    value = log_likelihood_value(params, triples, pairs)
    gradient = np.empty(4)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-5
        up = log_likelihood_value(params * np.exp(step), triples, pairs)
        down = log_likelihood_value(params * np.exp(-step), triples, pairs)
        gradient[i] = (up - down) / (2e-5) / params[i]
    return value, gradient


@dataclass(frozen=True)
class ParetoNBDFit:
    """Fitted Pareto/NBD parameters with standard errors, and the predictions they give."""

    r: float
    alpha: float
    s: float
    beta: float
    standard_errors: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = 0.0
    n_customers: int = 0
    iterations: int = 0
    converged: bool = True

    def params(self) -> dict[str, float]:
        """The four parameters by name."""
        return {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}

    @property
    def _vector(self) -> FloatArray:
        return np.array([self.r, self.alpha, self.s, self.beta])

    def probability_alive(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    ) -> FloatArray:
        """P(alive | x, t_x, T) = 1 / (1 + s I (alpha+T)^(r+x) (beta+T)^s)."""
        x, t_x, age = check_summary(frequency, recency, T)
        alive, died, _ = _log_terms(self._vector, Pairs.of(x, t_x, age))
        return np.asarray(np.exp(alive - np.logaddexp(alive, died)), dtype=np.float64)

    def expected_purchases(
        self,
        t: float,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    ) -> FloatArray:
        """E[purchases in the next t | x, t_x, T]
        = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]."""
        if t < 0:
            raise FitFailed(N_("the prediction horizon must not be negative"))
        x, t_x, age = check_summary(frequency, recency, T)
        r, alpha, s, beta = self._vector
        shrink = -np.expm1((s - 1) * (np.log(beta + age) - np.log(beta + age + t)))
        rate = (r + x) * (beta + age) / ((alpha + age) * (s - 1))
        return self.probability_alive(x, t_x, age) * rate * shrink


def fit_pareto_nbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    *,
    penalizer: float = 0.0,
    max_iterations: int = 1000,
) -> ParetoNBDFit:
    """Fit Pareto/NBD by maximum likelihood on the compressed (x, t_x, T) triples; raises
    FitFailed (never NaN parameters) when the data cannot identify it."""
    triples = compress(frequency, recency, T)
    if not np.any(triples.x > 0):
        raise FitFailed(
            N_(
                "no customer has made a repeat purchase, so purchase rates and drop-out cannot "
                "be estimated; Pareto/NBD needs customers who bought on at least two days"
            )
        )
    n = float(triples.count.sum())
    rate = dot(triples.count, triples.x) / max(dot(triples.count, triples.T), 1e-12)
    mean_age = dot(triples.count, triples.T) / n
    start = np.array([1.0, 1.0 / max(rate, 1e-8), 1.0, mean_age])
    # alpha and beta enter the penalty in tenths of the longest T, as in ``lifetimes``
    time_scale = 10.0 / max(float(triples.T.max()), 1e-12)
    scale = np.array([1.0, time_scale, 1.0, time_scale])
    near = False
    if triples.x.size > 5_000:
        # fit a coarsened copy first, so the full data only needs a few Newton steps
        coarse = coarsen(triples)
        coarse_pairs = Pairs.of(coarse.x, coarse.t_x, coarse.T)
        try:
            start = maximise(
                lambda params: log_likelihood(params, coarse, coarse_pairs),
                start,
                names=NAMES,
                model="Pareto/NBD",
                hint=HINT,
                n_customers=n,
                penalizer=penalizer,
                penalty_scale=scale,
                hessian_step=1e-4,
            ).params
            near = True
        except FitFailed:
            pass
    pairs = Pairs.of(triples.x, triples.t_x, triples.T)
    estimate = maximise(
        lambda params: log_likelihood(params, triples, pairs),
        start,
        names=NAMES,
        model="Pareto/NBD",
        hint=HINT,
        n_customers=n,
        penalizer=penalizer,
        penalty_scale=scale,
        max_iterations=max_iterations,
        hessian_step=1e-4,
        near=near,
    )
    r, alpha, s, beta = (float(value) for value in estimate.params)
    if abs(s - 1) < 1e-9:
        raise FitFailed(N_("the Pareto/NBD fit gave s = 1, where expected purchases are undefined"))
    return ParetoNBDFit(
        r=r,
        alpha=alpha,
        s=s,
        beta=beta,
        standard_errors=dict(zip(NAMES, (float(v) for v in estimate.standard_errors), strict=True)),
        log_likelihood=estimate.log_likelihood,
        n_customers=int(n),
        iterations=estimate.iterations,
        converged=estimate.converged,
    )


def simulate_pareto_nbd(
    n: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    seed: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(frequency, recency, T) for ``n`` customers drawn from Pareto/NBD: purchases in
    (0, min(lifetime, T)] are Poisson, the last of x uniform times is T' * Beta(x, 1)."""
    rng = np.random.default_rng(seed)
    age = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    death = rng.gamma(s, 1.0 / beta, size=n)
    observed = np.minimum(rng.exponential(1.0, size=n) / death, age)
    x = rng.poisson(rate * observed).astype(np.float64)
    t_x = np.zeros(n)
    seen = x > 0
    t_x[seen] = observed[seen] * rng.beta(x[seen], 1.0)
    return x, t_x, age
