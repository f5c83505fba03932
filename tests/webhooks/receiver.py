"""A real webhook receiver on loopback: it verifies every request with the official
``standardwebhooks`` library, as a receiver would, and answers with a scripted status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: bool
    payload: object = None


@dataclass
class Receiver:
    """What the server saw, and what it answers next: ``statuses`` in turn, then ``then``."""

    url: str = ""
    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    then: int = 200
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.then

    def seen(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, payload = False, None
            try:
                payload = Webhook(receiver.secret).verify(body, headers)
                verified = True
            except (WebhookVerificationError, ValueError):
                pass
            status = receiver.answer()
            with receiver.lock:
                receiver.requests.append(Received(headers, body, verified, payload))
            reply = b'{"ok": true}' if status < 300 else b"receiver is down"
            self.send_response(status)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@contextmanager
def running_receiver(*, secret: str = "", path: str = "/hooks") -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 at a free port, for the duration of the block."""
    receiver = Receiver(secret=secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
