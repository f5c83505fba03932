"""Audit log: every change, login, export and permission edit, hash-chained."""
