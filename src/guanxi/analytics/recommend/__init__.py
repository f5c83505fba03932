"""Recommendations (推荐): item-to-item similarity from purchases and views with time decay,
personal top-N lists excluding what customers own, similar customers, a popularity baseline, the
time-based holdout evaluation, and cross-purchase (交叉购买) association rules.

Relational work is Ibis, so every function runs on DuckDB and Spark alike.
"""

from guanxi.analytics.recommend.association import association_rules
from guanxi.analytics.recommend.evaluate import evaluate_holdout
from guanxi.analytics.recommend.personal import (
    popular_products,
    recommend_for_customers,
    recommend_popular,
)
from guanxi.analytics.recommend.similarity import (
    RecommendRules,
    interactions,
    item_similarity,
    similar_customers,
)

__all__ = [
    "RecommendRules",
    "association_rules",
    "evaluate_holdout",
    "interactions",
    "item_similarity",
    "popular_products",
    "recommend_for_customers",
    "recommend_popular",
    "similar_customers",
]
