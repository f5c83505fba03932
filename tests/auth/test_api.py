"""The API: sign-in, tokens, throttling, users/teams/roles with ETags, problem details."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from tests.conftest import PASSWORD, People

PROBLEM = "application/problem+json"


def _token(client: TestClient, username: str, password: str = PASSWORD, **kw):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}, **kw
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_endpoint_answers_the_fixed_shape(client: TestClient, people: People):
    person = people.user("sales")
    client.app.state  # noqa: B018 - the app is started
    reply = _token(client, person.username)
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("gx_")
    me = client.get("/api/v1/auth/me", headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == person.username
    assert me.json()["permissions"]["customers"] == ["read", "create", "update", "export"]


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, people: People):
    person = people.user("sales")
    wrong = _token(client, person.username, "not the password")
    unknown = _token(client, "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"].startswith(PROBLEM)
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Invalid username or password."


def test_five_wrong_passwords_throttle_the_account(
    client: TestClient, people: People, session: Session
):
    person = people.user("sales")
    for _ in range(5):
        assert _token(client, person.username, "guessing-wrong").status_code == 401
    throttled = _token(client, person.username)  # even the right password waits now
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith(PROBLEM)
    assert int(throttled.headers["retry-after"]) > 0
    # the failures were kept although each request failed: audited and counted
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("login.%"))
    ).all()
    assert actions.count("login.failed") == 5 and "login.throttled" in actions


def test_throttling_unknown_names_looks_the_same(client: TestClient):
    for _ in range(5):
        _token(client, "ghost", "guessing-wrong")
    reply = _token(client, "ghost", "guessing-wrong")
    assert reply.status_code == 429


def test_other_accounts_are_not_throttled_by_one_attack(client: TestClient, people: People):
    victim, other = people.user("sales"), people.user("sales")
    for _ in range(5):
        _token(client, victim.username, "guessing-wrong")
    assert _token(client, other.username).status_code == 200


def test_many_failures_from_one_address_throttle_it(client: TestClient, people: People):
    person = people.user("sales")
    for n in range(20):
        _token(client, f"spray-{n}", "guessing-wrong")
    assert _token(client, person.username).status_code == 429


def test_tokens_can_be_created_listed_and_revoked(client: TestClient, people: People):
    person = people.user("analyst")
    headers = people.token(person)
    created = client.post("/api/v1/auth/tokens", json={"name": "nightly export"}, headers=headers)
    assert created.status_code == 201
    token = created.json()["token"]
    assert client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 200
    names = [t["name"] for t in client.get("/api/v1/auth/tokens", headers=headers).json()]
    assert "nightly export" in names
    assert "token" not in client.get("/api/v1/auth/tokens", headers=headers).json()[0]
    revoked = client.delete(f"/api/v1/auth/tokens/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    assert client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 401


def test_another_users_token_cannot_be_revoked(client: TestClient, people: People):
    owner, stranger = people.user("sales"), people.user("sales")
    created = client.post("/api/v1/auth/tokens", json={"name": "mine"}, headers=people.token(owner))
    reply = client.delete(
        f"/api/v1/auth/tokens/{created.json()['id']}", headers=people.token(stranger)
    )
    assert reply.status_code == 404


def test_bad_credentials_format_is_401_problem(client: TestClient):
    reply = client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert reply.status_code == 401 and reply.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_disabling_a_user_takes_effect_on_their_next_request(client: TestClient, people: People):
    admin, person = people.user("admin"), people.user("sales")
    token = _token(client, person.username).json()["access_token"]
    assert client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 200
    version = client.get(f"/api/v1/users/{person.user.id}", headers=people.token(admin)).headers[
        "etag"
    ]
    reply = client.patch(
        f"/api/v1/users/{person.user.id}",
        json={"is_active": False},
        headers={**people.token(admin), "If-Match": version},
    )
    assert reply.status_code == 200 and reply.json()["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 401
    assert _token(client, person.username).status_code == 401


def test_role_change_takes_effect_on_the_next_request(client: TestClient, people: People):
    admin, person = people.user("admin"), people.user("manager")
    headers = people.token(person)
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    client.patch(
        f"/api/v1/users/{person.user.id}", json={"role": "sales"}, headers=people.token(admin)
    )
    assert client.get("/api/v1/users", headers=headers).status_code == 403


def test_stale_if_match_gets_412_and_changes_nothing(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    team = client.post("/api/v1/teams", json={"name": "East"}, headers=admin)
    assert team.status_code == 201
    etag = team.headers["etag"]
    url = f"/api/v1/teams/{team.json()['id']}"
    first = client.patch(url, json={"description": "first"}, headers={**admin, "If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] != etag
    stale = client.patch(url, json={"description": "second"}, headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith(PROBLEM)
    assert client.get(url, headers=admin).json()["description"] == "first"


def test_malformed_if_match_is_422(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    team = client.post("/api/v1/teams", json={"name": "West"}, headers=admin).json()
    reply = client.patch(
        f"/api/v1/teams/{team['id']}",
        json={"description": "x"},
        headers={**admin, "If-Match": "yesterday"},
    )
    assert reply.status_code == 422


def test_validation_errors_are_problem_details_naming_fields(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    reply = client.post("/api/v1/users", json={"username": "x", "password": "short"}, headers=admin)
    assert reply.status_code == 422
    body = reply.json()
    assert reply.headers["content-type"].startswith(PROBLEM)
    assert body["status"] == 422 and body["type"] == "/problems/invalid-input"
    fields = {e["field"] for e in body["errors"]}
    assert {"body.username", "body.password", "body.role"} <= fields


def test_duplicate_name_is_409(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    client.post("/api/v1/teams", json={"name": "Dup"}, headers=admin)
    reply = client.post("/api/v1/teams", json={"name": "Dup"}, headers=admin)
    assert reply.status_code == 409 and reply.json()["errors"][0]["field"] == "name"


def test_users_are_paginated_with_a_cursor(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    for n in range(5):
        people.user("sales", username=f"page-{n}")
    seen: list[str] = []
    url = "/api/v1/users?q=page-&limit=2"
    while url:
        body = client.get(url, headers=admin).json()
        seen += [u["username"] for u in body["items"]]
        url = (
            f"/api/v1/users?q=page-&limit=2&cursor={body['next_cursor']}"
            if body["next_cursor"]
            else ""
        )
    assert seen == [f"page-{n}" for n in range(5)]
    assert client.get("/api/v1/users?cursor=bogus", headers=admin).status_code == 422
    assert client.get("/api/v1/users?limit=0", headers=admin).status_code == 422


def test_roles_are_edited_through_the_api(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    created = client.post(
        "/api/v1/roles",
        json={
            "name": "key_accounts",
            "label": "Key accounts",
            "record_scope": "team",
            "permissions": {"customers": ["read", "update"]},
        },
        headers=admin,
    )
    assert created.status_code == 201
    role = created.json()
    assert role["permissions"] == {"customers": ["read", "update"]}
    changed = client.patch(
        f"/api/v1/roles/{role['id']}",
        json={"permissions": {"customers": ["read"], "orders": ["read"]}},
        headers={**admin, "If-Match": created.headers["etag"]},
    )
    assert changed.status_code == 200
    assert changed.json()["permissions"] == {"customers": ["read"], "orders": ["read"]}
    assert changed.json()["version"] > role["version"]
    audit = client.get("/api/v1/audit?action=role.permissions", headers=admin).json()["items"]
    assert audit[0]["changes"]["permissions"]["after"] == ["customers:read", "orders:read"]


def test_health_checks_the_database(client: TestClient):
    reply = client.get("/api/v1/health")
    assert reply.status_code == 200 and reply.json()["database"] == "ok"


def test_openapi_and_offline_docs(client: TestClient):
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/auth/token" in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200


def test_unknown_api_path_is_a_problem(client: TestClient):
    reply = client.get("/api/v1/nothing-here")
    assert reply.status_code == 404 and reply.headers["content-type"].startswith(PROBLEM)


def test_unexpected_errors_are_500_problems_without_traceback(app, people: People, session):  # type: ignore[no-untyped-def]
    from guanxi.deps import public

    @app.get("/api/v1/explode", dependencies=[public])
    def explode() -> None:
        raise RuntimeError("secret internals")

    session.flush()
    with TestClient(app, raise_server_exceptions=False) as client:
        reply = client.get("/api/v1/explode")
    assert reply.status_code == 500
    assert reply.headers["content-type"].startswith(PROBLEM)
    assert "secret internals" not in reply.text and "Traceback" not in reply.text
