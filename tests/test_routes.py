"""Every route declares what it needs, and every role gets exactly what its permissions say."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from guanxi.app import DOMAIN_STATIC_DIRS, create_app
from guanxi.auth.permissions import BUILTIN_ROLES, RESOURCES, builtin_role
from guanxi.config import Settings
from guanxi.deps import PERMISSION_ATTRIBUTE
from tests.conftest import People

# static files are public: stylesheets, scripts and the API docs assets, no data
STATIC_MOUNTS = {"/static", "/static/docs"} | {
    f"/static/{p.parent.name}" for p in DOMAIN_STATIC_DIRS
}


def _declared(route: RouteContext) -> list[str]:
    found: list[str] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        marker = getattr(dependant.call, PERMISSION_ATTRIBUTE, None)
        if marker:
            found.append(marker)
        pending.extend(dependant.dependencies)
    return found


def _app():  # type: ignore[no-untyped-def]
    return create_app(
        Settings(secret_key="x" * 40, database_url="sqlite://"), embedded_worker=False
    )


def _routes() -> list[RouteContext]:
    """Every route as the app serves it, with the prefixes and dependencies of its routers."""
    return [r for r in iter_route_contexts(_app().routes) if isinstance(r.original_route, APIRoute)]


ROUTES = _routes()


def test_every_route_declares_a_permission():
    undeclared = []
    for route in iter_route_contexts(_app().routes):
        if isinstance(route.original_route, Mount) and route.path in STATIC_MOUNTS:
            continue
        if not isinstance(route.original_route, APIRoute) or not _declared(route):
            undeclared.append(route.path)
    assert undeclared == [], f"routes without a declared permission: {undeclared}"


def _may(role_name: str, marker: str) -> bool:
    role = builtin_role(role_name)
    if marker in ("public", "authenticated"):
        return True
    kind, _, rest = marker.partition(":")
    if kind == "area":
        return any(
            role.permissions() & {(r, "read")} for r, area in RESOURCES.items() if area == rest
        )
    return (kind, rest) in role.permissions()


def _request(client: TestClient, route: RouteContext, headers: dict[str, str]) -> Any:
    method = sorted(route.methods)[0]
    path = re.sub(r"\{[^}]+\}", "999999", route.path)
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH") and path.startswith("/api/"):
        kwargs["json"] = {}
    return client.request(method, path, **kwargs)


ROUTE_IDS = [f"{sorted(r.methods)[0]} {r.path}" for r in ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_each_role_gets_what_its_permissions_say(
    route: RouteContext, client: TestClient, people: People
):
    markers = _declared(route)
    tokens = {role.name: people.token(people.user(role.name)) for role in BUILTIN_ROLES}
    client.app.state.sessions().close()  # the users above are visible to the app's sessions
    for role in BUILTIN_ROLES:
        reply = _request(client, route, tokens[role.name])
        allowed = all(_may(role.name, marker) for marker in markers)
        if "public" in markers:
            assert reply.status_code != 401, (role.name, reply.status_code)
        elif allowed:
            assert reply.status_code not in (401, 403), (role.name, reply.status_code, reply.text)
        else:
            assert reply.status_code == 403, (role.name, reply.status_code)
            if route.path.startswith("/api/"):
                assert reply.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_callers_are_turned_away(route: RouteContext, client: TestClient):
    markers = _declared(route)
    if "public" in markers:
        return
    reply = _request(client, route, {})
    if route.path.startswith("/api/"):
        assert reply.status_code == 401
    elif "GET" in route.methods:
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login?next=")
    else:
        assert reply.status_code == 401
