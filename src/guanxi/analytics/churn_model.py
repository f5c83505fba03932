"""The supervised churn model behind the cause analysis (流失原因分析): a scikit-learn classifier
on ``churn.churn_features``, its holdout AUC, what each feature does to the churn probability, and
those effects in words for the report. scikit-learn is imported when a model is fitted, so reading
scores does not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from guanxi.errors import N_


@dataclass
class FeatureEffect:
    """How one feature bears on churn in the fitted model and in the raw data."""

    feature: str
    importance: float
    """Mean drop in holdout AUC when the feature is shuffled (permutation importance)."""
    importance_std: float
    effect: float
    """Mean predicted churn probability with the feature at its 90th minus at its 10th percentile
    (others as observed): positive when higher values go with leaving."""
    churned_mean: float
    retained_mean: float

    @property
    def direction(self) -> Literal["raises", "lowers", "none"]:
        """What higher values of the feature do to the churn probability."""
        if self.effect > 1e-3:
            return "raises"
        return "lowers" if self.effect < -1e-3 else "none"


@dataclass
class ChurnModel:
    """A fitted churn classifier and the feature columns it expects, in order."""

    estimator: Any
    features: list[str]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of churning per row; missing optional columns are refused, not guessed."""
        missing = [name for name in self.features if name not in features.columns]
        if missing:
            raise ValueError(f"missing feature {missing[0]!r}")
        matrix = features[self.features].to_numpy(dtype=np.float64)
        return np.asarray(self.estimator.predict_proba(matrix)[:, 1])


@dataclass
class ChurnModelReport:
    """The fitted model, its holdout AUC and the feature effects, most important first."""

    model: ChurnModel
    auc: float
    n_train: int
    n_holdout: int
    churn_rate: float
    effects: list[FeatureEffect] = field(default_factory=list)


def fit_churn_model(
    features: pd.DataFrame,
    churned: Any,
    *,
    seed: int = 0,
    holdout: float = 0.25,
    method: Literal["gradient_boosting", "logistic"] = "gradient_boosting",
    repeats: int = 5,
) -> ChurnModelReport:
    """Fit a churn classifier on ``features`` (``churn.churn_features``) and ``churned``
    (``churn.churn_labels``).

    ``gradient_boosting`` is scikit-learn's ``HistGradientBoostingClassifier`` (missing values
    handled natively, non-linear effects); ``logistic`` a logistic regression on median-imputed,
    standardised features. A stratified ``holdout`` share is kept out of fitting; the report gives
    its ROC AUC and, per feature, the permutation importance on it (AUC drop, ``repeats`` shuffles)
    and the direction of the effect. The label is already forward-looking in time (features at
    the calibration end, outcome in the observation window after it).

    References
    ----------
    Breiman, L. (2001). Random forests. *Machine Learning* 45, 5-32 (permutation importance).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    y = np.asarray(churned, dtype=bool)
    if y.shape != (len(features),):
        raise ValueError("churned must have one value per feature row")
    if features.shape[1] == 0:
        raise ValueError("no features to fit on")
    if y.all() or not y.any():
        raise ValueError("churn model needs both churned and retained customers")
    if min(int(y.sum()), int((~y).sum())) < 10:
        raise ValueError("churn model needs at least 10 churned and 10 retained customers")
    names = list(features.columns)
    x = features.to_numpy(dtype=np.float64)
    x_fit, x_hold, y_fit, y_hold = train_test_split(
        x, y, test_size=holdout, stratify=y, random_state=seed
    )
    if method == "gradient_boosting":
        estimator: Any = HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.1, max_leaf_nodes=15, random_state=seed
        )
    elif method == "logistic":
        estimator = make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000)
        )
    else:
        raise ValueError(f"unknown method {method!r}; choose gradient_boosting or logistic")
    # Below ~100,000 rows OpenMP's thread start-up costs more than it saves, and on a busy
    # machine it costs a lot (measured: 23 s with threads against 2 s without at 4,000 rows).
    with threadpool_limits(limits=1 if len(y) < 100_000 else None, user_api="openmp"):
        estimator.fit(x_fit, y_fit)
        auc = float(roc_auc_score(y_hold, estimator.predict_proba(x_hold)[:, 1]))
        permuted = permutation_importance(
            estimator, x_hold, y_hold, scoring="roc_auc", n_repeats=repeats, random_state=seed
        )
        effects = [
            FeatureEffect(
                feature=name,
                importance=float(permuted.importances_mean[column]),
                importance_std=float(permuted.importances_std[column]),
                effect=_swing(estimator, x_hold, column),
                churned_mean=_nanmean(x[y, column]),
                retained_mean=_nanmean(x[~y, column]),
            )
            for column, name in enumerate(names)
        ]
    effects.sort(key=lambda e: (-e.importance, e.feature))
    return ChurnModelReport(
        model=ChurnModel(estimator, names),
        auc=auc,
        n_train=len(y_fit),
        n_holdout=len(y_hold),
        churn_rate=float(y.mean()),
        effects=effects,
    )


def _swing(estimator: Any, x: np.ndarray, column: int) -> float:
    values = x[:, column][~np.isnan(x[:, column])]
    if values.size == 0:
        return 0.0
    low, high = np.quantile(values, [0.1, 0.9])
    if low == high:  # a rare indicator or a near-constant: compare its extremes
        low, high = values.min(), values.max()
    if low == high:
        return 0.0
    probabilities = []
    for value in (low, high):
        changed = x.copy()
        changed[:, column] = value
        probabilities.append(float(estimator.predict_proba(changed)[:, 1].mean()))
    return probabilities[1] - probabilities[0]


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


class ChurnCause(NamedTuple):
    """One reading of the cause analysis: what goes with leaving, in words for the report."""

    feature: str
    effect: float
    """Permutation importance (holdout AUC drop)."""
    direction: str
    """``raises`` when higher values go with leaving, ``lowers`` when lower values do."""
    explanation: str
    """English msgid; format it with ``params`` after translating."""
    params: dict[str, str]
    churned_mean: float
    retained_mean: float


_EXPLANATIONS: dict[str, tuple[str, str]] = {
    # feature -> (higher values go with leaving, lower values go with leaving)
    "trend": (
        N_("Customers who leave had rising spend."),
        N_("Customers who leave had falling spend."),
    ),
    "days_since_last": (
        N_("Customers who leave had gone longer without buying."),
        N_("Customers who leave had bought more recently."),
    ),
    "frequency": (
        N_("Customers who leave had bought more often."),
        N_("Customers who leave had bought less often."),
    ),
    "tenure": (
        N_("Customers who leave had been customers longer."),
        N_("Customers who leave were newer customers."),
    ),
    "revenue": (
        N_("Customers who leave had spent more."),
        N_("Customers who leave had spent less."),
    ),
    "complaints": (
        N_("Customers who leave had complained more."),
        N_("Customers who leave had complained less."),
    ),
    "tickets": (
        N_("Customers who leave had contacted service more."),
        N_("Customers who leave had contacted service less."),
    ),
    "mean_first_response_hours": (
        N_("Customers who leave had waited longer for a first response."),
        N_("Customers who leave had got faster first responses."),
    ),
    "mean_satisfaction": (
        N_("Customers who leave were more satisfied with service."),
        N_("Customers who leave were less satisfied with service."),
    ),
    "mean_discount": (
        N_("Customers who leave had got bigger discounts."),
        N_("Customers who leave had got smaller discounts."),
    ),
    "price_ratio": (
        N_("Customers who leave had paid more relative to list prices."),
        N_("Customers who leave had paid less relative to list prices."),
    ),
}
_CHANNEL = (
    N_("Customers who leave bought more through the {channel} channel."),
    N_("Customers who leave bought less through the {channel} channel."),
)
_OTHER = (
    N_("Customers who leave had higher {feature}."),
    N_("Customers who leave had lower {feature}."),
)
_NO_DIRECTION = N_("Customers who leave differ in {feature}, without a clear direction.")


def churn_causes(report: ChurnModelReport, *, min_importance: float = 0.0) -> list[ChurnCause]:
    """The cause analysis (流失原因分析) in words: features whose shuffling costs the model more
    than ``min_importance`` AUC, most important first, each with its direction and group means."""
    causes = []
    for e in report.effects:
        if e.importance <= min_importance:
            continue
        params: dict[str, str] = {}
        if e.feature.startswith("channel_"):
            messages, params = _CHANNEL, {"channel": e.feature.removeprefix("channel_")}
        else:
            messages = _EXPLANATIONS.get(e.feature, _OTHER)
            if messages is _OTHER:
                params = {"feature": e.feature}
        if e.direction == "none":
            text, params = _NO_DIRECTION, {"feature": e.feature}
        else:
            text = messages[0] if e.direction == "raises" else messages[1]
        causes.append(
            ChurnCause(
                e.feature, e.importance, e.direction, text, params, e.churned_mean, e.retained_mean
            )
        )
    return causes
