"""Per-customer lists of the mining centre: churn risk by group with win-back candidates, and a
customer's recommended products and look-alikes, all among the customers the caller may see."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from guanxi.analytics import churn as churn_rules
from guanxi.analytics.dashboard_scope import NO_SCOPE, Scope
from guanxi.analytics.models import CustomerRecommendation, CustomerScore, SimilarCustomer
from guanxi.analytics.visible_scores import current_run, header, report, visible
from guanxi.auth.models import User
from guanxi.auth.visibility import get_visible, resolved_visibility_clause
from guanxi.customers.models import Customer
from guanxi.sales.models import Product

WINBACK_STAGES = ("decline", "lost")


GROUPINGS = (
    ("by_tier", CustomerScore.tier, "tier"),
    ("by_stage", CustomerScore.lifecycle_stage, "stage"),
    ("by_segment", CustomerScore.rfm_segment, "rfm"),
)


def churn(
    *, session: Session, actor: User, limit: int = 50, scope: Scope = NO_SCOPE
) -> dict[str, Any]:
    """Churn risk by tier, lifecycle stage and RFM segment (each group linking to its high-risk
    customers), the churn-cause model's report, and win-back candidates (declining or lost
    customers of high past value) among the visible customers."""
    run = current_run(session)
    base = and_(CustomerScore.run_id == run.id, CustomerScore.churn_risk.is_not(None))
    high = run.parameters.get("churn_high_risk", 0.6)
    groups = {}
    for name, column, param in GROUPINGS:
        rows = session.execute(
            visible(
                session,
                actor,
                select(
                    column,
                    func.count(),
                    func.avg(CustomerScore.churn_risk),
                    func.count().filter(CustomerScore.churn_risk >= high),
                )
                .where(base, column != "")
                .group_by(column),
                scope,
            )
        ).all()
        groups[name] = [
            {
                "key": row[0],
                "customers": int(row[1]),
                "mean_risk": float(row[2] or 0),
                "high_risk": int(row[3]),
                "link": scope.drill(**{param: row[0]}, churn_risk_min=high),
            }
            for row in rows
        ]
    return {
        **header(run),
        "high_risk_threshold": high,
        **groups,
        "model": report(session, run, "churn"),
        "winback_candidates": _winback(session, actor, run.id, limit, scope),
    }


def _winback(
    session: Session, actor: User, run_id: int, limit: int, scope: Scope = NO_SCOPE
) -> list[dict[str, Any]]:
    """Win-back candidates (客户的挽回) among the visible customers, ranked by the one rule in
    ``churn.winback_candidates`` (past margin x P(alive), declining or lost, still reachable)."""
    rows = session.execute(
        visible(
            session,
            actor,
            select(
                CustomerScore.customer_id,
                Customer.name,
                CustomerScore.tier,
                CustomerScore.lifecycle_stage,
                CustomerScore.margin,
                CustomerScore.p_alive,
                CustomerScore.churn_risk,
            ).where(
                CustomerScore.run_id == run_id,
                CustomerScore.lifecycle_stage.in_(WINBACK_STAGES),
                CustomerScore.margin > 0,
                CustomerScore.p_alive.is_not(None),
            ),
            scope,
        )
    ).all()
    if not rows:
        return []
    frame = pd.DataFrame(
        rows, columns=["customer_id", "name", "tier", "stage", "margin", "p_alive", "churn_risk"]
    )
    frame["margin"] = frame["margin"].astype(float)
    ranked = churn_rules.winback_candidates(
        frame, min_value=0.01, stages=WINBACK_STAGES, limit=limit
    )
    about = frame.set_index("customer_id")
    return [
        {
            "customer_id": int(row.customer_id),
            "name": about.at[row.customer_id, "name"],
            "tier": about.at[row.customer_id, "tier"],
            "stage": row.stage,
            "margin": float(row.value),
            "p_alive": float(row.p_alive),
            "churn_risk": _maybe(about.at[row.customer_id, "churn_risk"]),
            "score": float(row.score),
        }
        for row in ranked.itertuples()
    ]


def _maybe(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def recommendations(*, session: Session, actor: User, customer_id: int) -> dict[str, Any]:
    """A visible customer's recommended products and look-alike customers (visible ones only)."""
    customer = get_visible(session, Customer, customer_id, actor)
    run = current_run(session)
    products = session.execute(
        select(
            CustomerRecommendation.rank,
            CustomerRecommendation.score,
            Product.id,
            Product.sku,
            Product.name,
            Product.category,
        )
        .join(Product, Product.id == CustomerRecommendation.product_id)
        .where(CustomerRecommendation.customer_id == customer.id)
        .order_by(CustomerRecommendation.rank)
    ).all()
    other = aliased(Customer)
    similar = (
        select(SimilarCustomer.other_customer_id, other.name, SimilarCustomer.similarity)
        .join(other, other.id == SimilarCustomer.other_customer_id)
        .where(SimilarCustomer.customer_id == customer.id, other.deleted_at.is_(None))
    )
    clause = resolved_visibility_clause(session, other, actor)
    if clause is not None:
        similar = similar.where(clause)
    look_alikes = session.execute(similar.order_by(SimilarCustomer.similarity.desc())).all()
    return {
        **header(run),
        "customer_id": customer.id,
        "products": [
            {
                "rank": row[0],
                "score": row[1],
                "product_id": row[2],
                "sku": row[3],
                "name": row[4],
                "category": row[5],
            }
            for row in products
        ],
        "similar_customers": [
            {"customer_id": row[0], "name": row[1], "similarity": row[2]} for row in look_alikes
        ],
    }
