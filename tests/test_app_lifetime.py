"""An app that is dropped is freed with its database: tests and workers build many, one after
another, and every app kept alive by a cache held its connection pool and routes for good."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient

from guanxi.app import create_app
from guanxi.config import Settings


def test_apps_that_served_requests_are_freed_once_dropped() -> None:
    dropped = []
    for _ in range(3):
        app = create_app(
            Settings(secret_key="x" * 40, database_url="sqlite://"), embedded_worker=False
        )
        with TestClient(app) as client:
            assert client.get("/api/openapi.json").status_code == 200
            assert client.get("/api/docs").status_code == 200
        dropped.append(weakref.ref(app))
        del app, client
    gc.collect()
    assert [ref for ref in dropped if ref() is not None] == []
