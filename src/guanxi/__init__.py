"""Guanxi (关系): customer relationship management with an analytical core."""

__version__ = "0.1.0"
