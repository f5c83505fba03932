"""Maximum likelihood over log-parameters, shared by the CLV models.

A model supplies its total log-likelihood and analytic gradient on the natural scale. The search
runs on log-parameters (every parameter is positive) with L-BFGS-B on the mean log-likelihood, so
tolerances do not depend on the number of customers, then polishes with a few Newton steps on the
Hessian (the model's analytic one, or differences of its gradient), which also gives the standard
errors: the inverse Hessian of the total log-likelihood, carried to the natural scale by the delta
method (se(theta) = theta * se(log theta)). Fits on small coarsened data may ask for a Newton search
instead (``newton=True``), which spares importing SciPy's optimiser (0.2 s) unless it stalls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from guanxi.analytics.clv.compress import FitFailed
from guanxi.errors import N_

FloatArray = NDArray[np.float64]
LogLikelihood = Callable[[FloatArray], tuple[float, FloatArray]]
"""natural parameters -> (total log-likelihood, its gradient in the natural parameters)"""
LogLikelihoodHessian = Callable[[FloatArray], FloatArray]
"""natural parameters -> the Hessian of the total log-likelihood in the natural parameters"""

LOG_LIMIT = 20.0  # parameters beyond e^±20 mean the data do not pin the model down
GRADIENT_TOLERANCE = 1e-6  # on the mean log-likelihood per customer, in log-parameters
# Newton polishes until the gradient is this small: parameters then move by under about 1e-8
# relative, far below their standard errors, and further steps only chase rounding
NEWTON_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Estimate:
    """The outcome of one maximum likelihood fit."""

    params: FloatArray
    standard_errors: FloatArray
    log_likelihood: float
    iterations: int
    converged: bool
    hessian: FloatArray | None = None  # of the mean objective in log-parameters, at ``params``


def _maximise(
    log_likelihood: LogLikelihood,
    start: FloatArray,
    *,
    names: tuple[str, ...],
    model: str,
    n_customers: float,
    penalizer: float = 0.0,
    max_iterations: int = 1000,
    near: bool = False,
    hint: str = "",
    hessian_step: float = 1e-6,
    penalty_scale: FloatArray | None = None,
    start_hessian: FloatArray | None = None,
    newton: bool = False,
    log_likelihood_hessian: LogLikelihoodHessian | None = None,
) -> Estimate:
    """Maximise ``log_likelihood`` (minus ``penalizer`` * sum of squared parameters per customer,
    as the ``lifetimes`` library does); raise FitFailed unless it converges to finite, identified
    parameters.

    ``penalty_scale`` multiplies the parameters inside the penalty, so that time-scale
    parameters are penalised independently of the time unit. ``hessian_step`` is the
    finite-difference step of the Hessian (larger when the gradient is itself numerical).
    ``hint`` (marked with N_) tells the user what to try when the fit fails.
    ``near`` says ``start`` is already close to the maximum (a fit on coarsened data): Newton steps
    alone then finish the job in a handful of evaluations, with L-BFGS-B as the fallback.
    ``start_hessian`` (the ``hessian`` of that nearby fit's Estimate) saves computing one at
    ``start``; the Hessian at the maximum, which gives the standard errors, is always computed.
    ``newton`` searches from a distant ``start`` by Newton's method with a fresh Hessian every
    step (cheap on small data), with L-BFGS-B as the fallback. ``log_likelihood_hessian``, when
    the model has one, replaces the differences of the gradient (one evaluation instead of one
    per parameter).
    """
    if penalizer < 0 or not np.isfinite(penalizer):
        raise FitFailed(N_("the penalizer must be zero or positive"))

    scale = np.ones(len(start)) if penalty_scale is None else np.asarray(penalty_scale)

    def penalty(params: FloatArray) -> float:
        return penalizer * float(np.sum((params * scale) ** 2))

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        value, gradient = log_likelihood(params)
        mean = -value / n_customers + penalty(params)
        grad = -gradient * params / n_customers + 2.0 * penalizer * (params * scale) ** 2
        if not np.isfinite(mean) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(log_params)
        return float(mean), grad

    def curvature(log_params: FloatArray, base: tuple[float, FloatArray]) -> FloatArray:
        """The Hessian of ``objective`` at ``log_params``, where it is ``base``."""
        if log_likelihood_hessian is None:
            return _hessian(objective, log_params, base, hessian_step)
        params = np.exp(log_params)
        natural = -log_likelihood_hessian(params) / n_customers + np.diag(
            2.0 * penalizer * scale**2
        )
        # chain rule for params = exp(log_params): the gradient's own term on the diagonal
        hessian = np.outer(params, params) * natural + np.diag(base[1])
        return np.asarray((hessian + hessian.T) / 2, dtype=np.float64)

    log_params = np.log(np.asarray(start, dtype=np.float64))
    iterations = 0
    with np.errstate(all="ignore"):
        value, gradient = objective(log_params)
        if not np.isfinite(value):
            raise FitFailed(
                N_("the {model} likelihood cannot be evaluated on this data"), model=model
            )
        hessian: FloatArray | None = None
        if near:
            log_params, iterations, hessian, value, gradient = _newton(
                objective, log_params, (value, gradient), curvature, start_hessian
            )
        elif newton:
            found = _newton_search(objective, log_params, (value, gradient), curvature)
            if found is not None:
                log_params, iterations, hessian, value, gradient = found
        if not _settled(value, gradient):
            from scipy.optimize import minimize

            result = minimize(
                objective,
                log_params,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_LIMIT - 10, LOG_LIMIT + 10)] * len(log_params),
                options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
            )
            iterations += int(result.nit)
            if result.nit >= max_iterations:
                raise FitFailed(
                    N_("the {model} fit did not converge within {iterations} iterations; {hint}"),
                    model=model,
                    iterations=iterations,
                    hint=hint,
                )
            start_newton = np.asarray(result.x, dtype=np.float64)
            base = (float(result.fun), np.asarray(result.jac, dtype=np.float64))
            log_params, steps, hessian, value, gradient = _newton(
                objective, start_newton, base, curvature
            )
            iterations += steps
        _check_identified(log_params, names, model, hint)
        if not _settled(value, gradient):
            raise FitFailed(
                N_("the {model} fit did not converge; {hint}"),
                model=model,
                hint=hint,
            )
        assert hessian is not None
    mean_hessian = hessian
    hessian = hessian * n_customers
    try:
        covariance = np.linalg.inv(hessian)
        eigenvalues = np.linalg.eigvalsh(hessian)
    except np.linalg.LinAlgError:
        eigenvalues = np.array([-1.0])
    if np.any(eigenvalues <= 0) or not np.all(np.isfinite(covariance)):
        raise FitFailed(
            N_("the {model} likelihood has no clear maximum on this data; {hint}"),
            model=model,
            hint=hint,
        )
    params = np.exp(log_params)
    # the objective is per customer and penalised; report the plain total
    total = -(value - penalty(params)) * n_customers
    return Estimate(
        params=params,
        standard_errors=params * np.sqrt(np.diag(covariance)),
        log_likelihood=float(total),
        iterations=iterations,
        converged=True,
        hessian=mean_hessian,
    )


Objective = Callable[[FloatArray], tuple[float, FloatArray]]
Curvature = Callable[[FloatArray, tuple[float, FloatArray]], FloatArray]
"""(log-parameters, the objective there) -> the objective's Hessian there"""


def maximise(log_likelihood: LogLikelihood, start: FloatArray, **options: Any) -> Estimate:
    """Maximise ``log_likelihood`` from ``start``; see ``_maximise`` for the options.

    BLAS runs single-threaded meanwhile: the optimiser's linear algebra is on 4x4 matrices and
    short vectors, where waking BLAS threads on a busy machine costs milliseconds per call.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _maximise(log_likelihood, start, **options)


def _settled(value: float, gradient: FloatArray) -> bool:
    return bool(np.isfinite(value) and np.max(np.abs(gradient)) <= GRADIENT_TOLERANCE)


def _newton(
    objective: Objective,
    log_params: FloatArray,
    base: tuple[float, FloatArray],
    curvature: Curvature,
    start_hessian: FloatArray | None = None,
) -> tuple[FloatArray, int, FloatArray, float, FloatArray]:
    """Damped Newton steps from near the maximum (L-BFGS-B stops on a flat valley a little short
    of the top). One Hessian serves every step, since near the top it barely changes; it is
    returned for the standard errors, recomputed if the steps went far or started from
    ``start_hessian`` (a nearby fit's, good for steps but not for standard errors)."""
    value, gradient = base
    origin = log_params
    hessian = curvature(log_params, (value, gradient)) if start_hessian is None else start_hessian
    steps = 0
    for _ in range(20):
        if np.max(np.abs(gradient)) < NEWTON_TOLERANCE:
            break
        try:
            step = -np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        # a tiny step that does not improve the value is at the floor of rounding: halving it
        # cannot help either, so it is tried once
        scales = (1.0, 0.5, 0.25, 0.1) if np.max(np.abs(step)) > 1e-6 else (1.0,)
        for scale in scales:
            candidate = log_params + scale * step
            new_value, new_gradient = objective(candidate)
            if np.isfinite(new_value) and new_value <= value:
                break
        else:
            break
        steps += 1
        log_params, value, gradient = candidate, new_value, new_gradient
        if np.max(np.abs(scale * step)) < 1e-12:
            break
    if start_hessian is not None or np.max(np.abs(log_params - origin)) > 1e-3:
        hessian = curvature(log_params, (value, gradient))
    return log_params, steps, hessian, value, gradient


def _newton_search(
    objective: Objective,
    log_params: FloatArray,
    base: tuple[float, FloatArray],
    curvature: Curvature,
    max_steps: int = 100,
) -> tuple[FloatArray, int, FloatArray, float, FloatArray] | None:
    """Newton's method from a distant start: each step solves with the Hessian's eigenvalues made
    positive (a step uphill on a saddle becomes one downhill), is at most 1 in log-parameters
    and is halved until the objective falls. The Hessian is kept while full steps cut the
    gradient a hundredfold, as they do near the maximum. None when it stalls short of a
    maximum, where the caller falls back to L-BFGS-B; otherwise the Hessian returned is the last
    one used, a guide for further steps rather than one for standard errors."""
    value, gradient = base
    steps = 0
    hessian: FloatArray | None = None
    while steps < max_steps and np.max(np.abs(gradient)) >= NEWTON_TOLERANCE:
        if hessian is None:
            hessian = curvature(log_params, (value, gradient))
            if not np.all(np.isfinite(hessian)):
                return None
            eigenvalues, vectors = np.linalg.eigh(hessian)
            size = np.abs(eigenvalues)
            size = np.maximum(size, max(float(size.max()), 1e-300) * 1e-10)
        step = -vectors @ ((vectors.T @ gradient) / size)
        longest = float(np.max(np.abs(step)))
        full = longest <= 1.0
        if not full:
            step = step / longest
        for halving in range(41):
            candidate = log_params + step
            new_value, new_gradient = objective(candidate)
            if np.isfinite(new_value) and new_value <= value:
                full = full and halving == 0
                break
            step = step / 2
        else:
            break
        steps += 1
        moved = float(np.max(np.abs(candidate - log_params)))
        shrunk = np.max(np.abs(new_gradient)) <= 0.01 * np.max(np.abs(gradient))
        if not (full and shrunk):
            hessian = None
        log_params, value, gradient = candidate, new_value, new_gradient
        if moved < 1e-12:
            break
    if not _settled(value, gradient):
        return None
    if hessian is None:
        hessian = curvature(log_params, (value, gradient))
    return log_params, steps, hessian, value, gradient


def _hessian(
    objective: Objective,
    log_params: FloatArray,
    base: tuple[float, FloatArray] | None = None,
    step: float = 1e-6,
) -> FloatArray:
    """Forward differences of the analytic gradient (``base`` is the objective at
    ``log_params`` if known), symmetrised; accurate to about 1e-6 relative, plenty for Newton
    steps and standard errors."""
    size = len(log_params)
    hessian = np.empty((size, size))
    _, gradient = objective(log_params) if base is None else base
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = step
        hessian[i] = (objective(log_params + shift)[1] - gradient) / step
    return (hessian + hessian.T) / 2


def _check_identified(
    log_params: FloatArray, names: tuple[str, ...], model: str, hint: str
) -> None:
    for name, value in zip(names, log_params, strict=True):
        if not np.isfinite(value) or abs(value) > LOG_LIMIT:
            raise FitFailed(
                N_(
                    "the {model} parameter {name} ran off to {value:.3g}: the data do not "
                    "determine it; {hint}"
                ),
                hint=hint,
                model=model,
                name=name,
                value=float(np.exp(value)) if np.isfinite(value) else float("nan"),
            )
