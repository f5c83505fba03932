"""Driving the HTML forms the way a browser does: fetch the page, send its CSRF token back."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str, next_path: str = "/"):  # type: ignore[no-untyped-def]
    page = client.get(f"/login?next={next_path}")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next_path,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )


def submit(client: TestClient, page_url: str, action: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    """Load ``page_url`` for its token, then post ``data`` to ``action``."""
    token = csrf_from(client.get(page_url).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)
