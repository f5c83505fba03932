"""A real Guanxi server on loopback and a real Chromium, for tests that drive the browser."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from guanxi.app import create_app
from guanxi.config import Settings
from guanxi.db import Database

CHROMIUM = "/usr/bin/chromium"
# Without these flags Chromium keeps trying to reach Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database: Database


@contextmanager
def live_server(database_url: str, data_dir: Path, *, worker: bool = False) -> Iterator[LiveServer]:
    """The app on a free loopback port; ``worker`` runs the job queue's worker in it too."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="live-server-secret-key-for-browser-tests",
        default_locale="en",
        embedded_worker=worker,
    )
    db = Database(database_url)
    app = create_app(settings, database=db, embedded_worker=worker)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", db)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()
