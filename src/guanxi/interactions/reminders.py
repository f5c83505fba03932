"""Placeholder filled in by the touch centre work."""
