"""What the scoring-run pages read: the runs with who started them, and one run compared with
another. Customers per tier and stage, customer equity and mean P(alive) are counted over the
customers the reader may see (a sales rep compares their own customers); the fitted models, the
holdout check and the population-wide figures are for those who see every customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.analytics import lifecycle, tiers
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.visible_scores import as_float, visible
from guanxi.auth.models import User
from guanxi.errors import N_, NotFound

COMPARABLE_RUNS = 50

_BGNBD, _GAMMA, _BASE = (
    N_("BG/NBD purchase model"),
    N_("Gamma-Gamma spend model"),
    N_("Whole customer base"),
)
# (group msgid, diagnostics section or None for the top level, key, label, label is a msgid, kind);
# a parameter's label is its symbol in the model's paper, shown as it is
_MODEL_FIGURES: tuple[tuple[str, str | None, str, str, bool, str], ...] = (
    (_BGNBD, "bgnbd", "r", "r", False, "number"),
    (_BGNBD, "bgnbd", "alpha", "α", False, "number"),
    (_BGNBD, "bgnbd", "a", "a", False, "number"),
    (_BGNBD, "bgnbd", "b", "b", False, "number"),
    (_BGNBD, "bgnbd", "log_likelihood", N_("Log-likelihood"), True, "number"),
    (_GAMMA, "gamma_gamma", "p", "p", False, "number"),
    (_GAMMA, "gamma_gamma", "q", "q", False, "number"),
    (_GAMMA, "gamma_gamma", "v", "v", False, "number"),
    (_GAMMA, "gamma_gamma", "log_likelihood", N_("Log-likelihood"), True, "number"),
    (_BASE, None, "gini", N_("Gini coefficient of profit"), True, "number"),
    (_BASE, None, "top_20_share", N_("Profit from the top fifth of customers"), True, "share"),
    (_BASE, None, "churn_auc", N_("Churn model AUC (holdout)"), True, "number"),
)


@dataclass(frozen=True)
class Change:
    """One figure of a run next to the same figure of the run it is compared with."""

    key: str
    label: str  # English msgid, or a symbol shown as it is
    value: float | None
    other: float | None
    kind: str = "count"  # count | money | share | number
    error: float | None = None  # standard error of ``value``, for fitted parameters
    other_error: float | None = None
    group: str = ""
    translate: bool = True

    @property
    def change(self) -> float | None:
        if self.value is None or self.other is None:
            return None
        return self.value - self.other


@dataclass(frozen=True)
class Parameter:
    """A run parameter (``clv.horizon_days``) in this run and in the other one."""

    key: str
    value: str
    other: str | None

    @property
    def changed(self) -> bool:
        return self.other is not None and self.other != self.value


@dataclass
class Comparison:
    run: AnalysisRun
    other: AnalysisRun | None
    tiers: list[Change] = field(default_factory=list)
    stages: list[Change] = field(default_factory=list)
    summary: list[Change] = field(default_factory=list)
    models: list[Change] = field(default_factory=list)  # only for those who see everyone


@dataclass(frozen=True)
class Figures:
    """A run's scores summed over the customers a reader may see."""

    customers: int
    tiers: dict[str, int]
    stages: dict[str, int]
    equity: float
    mean_p_alive: float | None


def get_run(session: Session, run_id: int) -> AnalysisRun:
    run = session.get(AnalysisRun, run_id)
    if run is None:
        raise NotFound(N_("No such scoring run."))
    return run


def starters(session: Session, runs: Iterable[AnalysisRun]) -> dict[int, str]:
    """Who started each run, by user id (a run without one came from the schedule or the
    command line)."""
    ids = {run.started_by_id for run in runs if run.started_by_id is not None}
    if not ids:
        return {}
    return {user.id: user.label for user in session.scalars(select(User).where(User.id.in_(ids)))}


def running(session: Session) -> AnalysisRun | None:
    """The run in progress, if any (there is at most one)."""
    return session.scalars(
        select(AnalysisRun).where(AnalysisRun.status == "running").order_by(AnalysisRun.id.desc())
    ).first()


def previous_succeeded(session: Session, run: AnalysisRun) -> AnalysisRun | None:
    """The succeeded run just before ``run``: what it is compared with unless the reader chose."""
    return session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.status == "succeeded", AnalysisRun.id < run.id)
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    ).first()


def comparable(session: Session, run: AnalysisRun) -> list[AnalysisRun]:
    """Succeeded runs ``run`` may be compared with, newest first."""
    return list(
        session.scalars(
            select(AnalysisRun)
            .where(AnalysisRun.status == "succeeded", AnalysisRun.id != run.id)
            .order_by(AnalysisRun.id.desc())
            .limit(COMPARABLE_RUNS)
        )
    )


def figures(session: Session, actor: User, run_id: int) -> Figures:
    """Customers per tier and per stage, customer equity and mean P(alive) of one run over the
    customers ``actor`` may see, in one grouped query."""
    rows = session.execute(
        visible(
            session,
            actor,
            select(
                CustomerScore.tier,
                CustomerScore.lifecycle_stage,
                func.count(),
                func.sum(CustomerScore.clv),
                func.sum(CustomerScore.p_alive),
                func.count(CustomerScore.p_alive),
            )
            .where(CustomerScore.run_id == run_id)
            .group_by(CustomerScore.tier, CustomerScore.lifecycle_stage),
        )
    ).all()
    by_tier: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    equity = alive_sum = 0.0
    alive_count = customers = 0
    for tier, stage, count, clv, p_alive, with_p in rows:
        customers += int(count)
        if tier:
            by_tier[tier] = by_tier.get(tier, 0) + int(count)
        by_stage[stage] = by_stage.get(stage, 0) + int(count)
        equity += as_float(clv)
        alive_sum += as_float(p_alive)
        alive_count += int(with_p)
    return Figures(
        customers=customers,
        tiers=by_tier,
        stages=by_stage,
        equity=round(equity, 2),
        mean_p_alive=alive_sum / alive_count if alive_count else None,
    )


def compare(
    session: Session,
    actor: User,
    run: AnalysisRun,
    other: AnalysisRun | None,
    *,
    full: bool,
) -> Comparison:
    """``run`` next to ``other`` (or alone): counts over the visible customers, and the fitted
    models and whole-base figures when ``full`` (the reader sees every customer)."""
    mine = figures(session, actor, run.id)
    theirs = figures(session, actor, other.id) if other is not None else None

    def counts(keys: dict[str, str], attribute: str) -> list[Change]:
        now: dict[str, int] = getattr(mine, attribute)
        before: dict[str, int] | None = getattr(theirs, attribute) if theirs else None
        return [
            Change(key, label, now.get(key, 0), before.get(key, 0) if before is not None else None)
            for key, label in keys.items()
        ]

    summary = [
        Change(
            "customers",
            N_("Customers scored"),
            mine.customers,
            theirs.customers if theirs else None,
        ),
        Change(
            "customer_equity",
            N_("Customer equity"),
            mine.equity,
            theirs.equity if theirs else None,
            "money",
        ),
        Change(
            "mean_p_alive",
            N_("Mean P(alive)"),
            mine.mean_p_alive,
            theirs.mean_p_alive if theirs else None,
            "share",
        ),
    ]
    return Comparison(
        run=run,
        other=other,
        tiers=counts(tiers.TIERS, "tiers"),
        stages=counts(lifecycle.STAGES, "stages"),
        summary=summary,
        models=model_changes(run, other) if full else [],
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _figure(run: AnalysisRun | None, section: str | None, key: str) -> tuple[Any, Any]:
    """A figure of a run's diagnostics and its standard error (None where there is none)."""
    if run is None:
        return None, None
    diagnostics = run.diagnostics or {}
    part = diagnostics.get(section) if section else diagnostics
    if not isinstance(part, dict):
        return None, None
    errors = part.get("standard_errors")
    return part.get(key), errors.get(key) if isinstance(errors, dict) else None


def model_changes(run: AnalysisRun, other: AnalysisRun | None) -> list[Change]:
    """The fitted parameters (with standard errors), log-likelihoods and whole-base figures of
    two runs side by side; a figure neither run has is left out."""
    result = []
    for group, section, key, label, translate, kind in _MODEL_FIGURES:
        value, error = _figure(run, section, key)
        before, before_error = _figure(other, section, key)
        if _number(value) is None and _number(before) is None:
            continue
        result.append(
            Change(
                key,
                label,
                _number(value),
                _number(before),
                kind,
                error=_number(error),
                other_error=_number(before_error),
                group=group,
                translate=translate,
            )
        )
    return result


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, list | tuple):
            flat[name] = ", ".join(str(item) for item in value)
        else:
            flat[name] = str(value)
    return flat


def parameters(run: AnalysisRun, other: AnalysisRun | None) -> list[Parameter]:
    """The parameters a run used, flattened to dotted names, next to the other run's."""
    mine = _flatten(run.parameters or {})
    theirs = _flatten(other.parameters or {}) if other is not None else {}
    return [
        Parameter(key, mine.get(key, ""), theirs.get(key) if other is not None else None)
        for key in sorted(mine.keys() | theirs.keys())
    ]


def holdout(run: AnalysisRun) -> dict[str, Any] | None:
    """The holdout check of a run (predicted against actual repeat purchases per calibration
    frequency), or None when the data was too short for one."""
    value = (run.diagnostics or {}).get("holdout")
    return value if isinstance(value, dict) else None
