"""The mining centre (挖掘分析中心): summaries, RFM, value tiers, Pareto, lifecycle, CLV, churn,
cohorts, recommendations and next best actions.

Relational work is written once as Ibis expressions and runs on DuckDB in-process (the default) or
on Spark (``pip install guanxi[spark]``); models are fitted with NumPy/SciPy on compact
per-customer summaries. ``docs/analytics.md`` describes every method and how to read it.
"""
