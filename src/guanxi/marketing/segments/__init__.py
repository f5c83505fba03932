"""Saved segments (客户细分): dynamic customer filters over profile fields and scores."""
