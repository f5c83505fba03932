"""Pages through a client that behaves like a browser: sessions, CSRF, language, forms."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserUpdate
from guanxi.deps import SESSION_COOKIE
from tests.conftest import PASSWORD, People
from tests.web.forms import csrf_from, sign_in, submit


def test_sign_in_sets_a_hardened_session_cookie(client: TestClient, people: People):
    person = people.user("sales")
    reply = sign_in(client, person.username, PASSWORD, "/customers")
    assert reply.status_code == 303 and reply.headers["location"] == "/customers"
    cookie = reply.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/").status_code == 200


def test_wrong_password_shows_a_generic_error(client: TestClient, people: People):
    person = people.user("sales")
    reply = sign_in(client, person.username, "wrong password!")
    assert reply.status_code == 401
    assert "Invalid username or password." in reply.text
    assert SESSION_COOKIE not in reply.headers.get("set-cookie", "")


def test_sign_in_without_the_csrf_token_is_refused(client: TestClient, people: People):
    person = people.user("sales")
    client.get("/login")
    reply = client.post("/login", data={"username": person.username, "password": PASSWORD})
    assert reply.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_forms_need_the_sessions_csrf_token(client: TestClient, people: People):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    forged = client.post("/admin/teams", data={"name": "Forged"}, follow_redirects=False)
    assert forged.status_code == 403
    genuine = submit(client, "/admin/teams", "/admin/teams", {"name": "Genuine"})
    assert genuine.status_code == 303
    assert "Genuine" in client.get("/admin/teams").text
    assert "Forged" not in client.get("/admin/teams").text


def test_open_redirects_are_refused(client: TestClient, people: People):
    person = people.user("sales")
    reply = sign_in(client, person.username, PASSWORD, "//evil.example/")
    assert reply.headers["location"] == "/"


def test_sign_out_ends_the_session(client: TestClient, people: People):
    person = people.user("sales")
    sign_in(client, person.username, PASSWORD)
    cookie = client.cookies.get(SESSION_COOKIE)
    reply = submit(client, "/", "/logout", {})
    assert reply.status_code == 303 and reply.headers["location"] == "/login"
    client.cookies.set(SESSION_COOKIE, cookie)  # replaying the old cookie does not work
    assert client.get("/", follow_redirects=False).status_code == 303


def test_disabled_users_session_ends_at_once(client: TestClient, people: People, session: Session):
    admin, person = people.user("admin"), people.user("sales")
    sign_in(client, person.username, PASSWORD)
    assert client.get("/").status_code == 200
    session.refresh(person.user)  # signing in bumped the row's version
    auth_service.update_user(
        session=session,
        actor=admin.user,
        user=person.user,
        user_in=UserUpdate(is_active=False),
        expected_version=None,
    )
    session.flush()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_language_switch_translates_the_navigation(client: TestClient, people: People):
    person = people.user("manager")
    sign_in(client, person.username, PASSWORD)
    english = client.get("/")
    assert "Customers" in english.text and "客户" not in english.text
    reply = submit(client, "/", "/locale", {"locale": "zh_CN", "next": "/"})
    assert reply.status_code == 303
    chinese = client.get("/")
    assert 'lang="zh-CN"' in chinese.text
    for word in ("客户", "互动", "销售", "服务", "营销", "分析"):
        assert word in chinese.text


def test_language_choice_is_kept_on_the_account(
    client: TestClient, people: People, session: Session
):
    person = people.user("sales")
    sign_in(client, person.username, PASSWORD)
    submit(client, "/", "/locale", {"locale": "zh_CN", "next": "/"})
    session.refresh(person.user)
    assert person.user.locale == "zh_CN"


def test_anonymous_visitors_can_switch_the_login_page_language(client: TestClient):
    page = client.get("/login")
    client.post(
        "/locale", data={"locale": "zh_CN", "next": "/login", "csrf_token": csrf_from(page.text)}
    )
    assert "登录" in client.get("/login").text


def test_navigation_shows_only_permitted_areas(client: TestClient, people: People):
    person = people.user("service")
    sign_in(client, person.username, PASSWORD)
    home = client.get("/").text
    assert 'href="/service"' in home and 'href="/admin"' not in home
    assert client.get("/admin/users").status_code == 403


def test_admin_creates_a_user_in_the_ui(client: TestClient, people: People, session: Session):
    admin = people.user("admin")
    team = people.team("Shanghai")
    sign_in(client, admin.username, PASSWORD)
    reply = submit(
        client,
        "/admin/users/new",
        "/admin/users",
        {
            "username": "newrep",
            "password": "a good long password",
            "role": "sales",
            "team_id": str(team.id),
            "display_name": "New Rep",
            "email": "NEW@example.com",
        },
    )
    assert reply.status_code == 303
    created = auth_service.get_user_by_username(session=session, username="newrep")
    assert created is not None and created.team_id == team.id and created.email == "new@example.com"


def test_user_form_keeps_input_and_shows_inline_errors(client: TestClient, people: People):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    reply = submit(
        client,
        "/admin/users/new",
        "/admin/users",
        {
            "username": "ok-name",
            "password": "short",
            "role": "sales",
            "display_name": "Kept Name",
        },
    )
    assert reply.status_code == 422
    assert "Must be at least 10 characters." in reply.text
    assert 'value="Kept Name"' in reply.text


def test_stale_edit_in_the_ui_is_refused(client: TestClient, people: People):
    admin, person = people.user("admin"), people.user("sales")
    sign_in(client, admin.username, PASSWORD)
    url = f"/admin/users/{person.user.id}"
    page = client.get(url).text
    token = csrf_from(page)
    form = {
        "csrf_token": token,
        "display_name": "First",
        "role": "sales",
        "is_active": "on",
        "version": str(person.user.version),
    }
    assert client.post(url, data=form, follow_redirects=False).status_code == 303
    second = client.post(url, data={**form, "display_name": "Second"}, follow_redirects=False)
    assert second.status_code == 422
    assert "changed since you loaded it" in second.text


def test_role_editor_saves_the_permission_matrix(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    reply = submit(
        client,
        "/admin/roles/new",
        "/admin/roles",
        {
            "name": "key_accounts",
            "label": "Key accounts",
            "record_scope": "team",
            "grant": ["customers:read", "customers:update", "orders:read"],
        },
    )
    assert reply.status_code == 303
    role = auth_service.get_role_by_name(session=session, name="key_accounts")
    assert role.grants() == {("customers", "read"), ("customers", "update"), ("orders", "read")}


def test_audit_page_filters_by_action(client: TestClient, people: People):
    admin = people.user("admin")
    people.team("Audited team")
    sign_in(client, admin.username, PASSWORD)
    page = client.get("/admin/audit?entity_type=team&action=create").text
    assert "Audited team" in page
    logins = client.get("/admin/audit?action=login").text
    assert "login.succeeded" in logins and "Audited team" not in logins
    assert client.get("/admin/audit?since=yesterday").status_code == 422


def test_audit_chain_can_be_verified_from_the_page(client: TestClient, people: People):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    assert "intact" in client.get("/admin/audit/verify").text


def test_account_page_creates_and_revokes_tokens(client: TestClient, people: People):
    person = people.user("analyst")
    sign_in(client, person.username, PASSWORD)
    created = submit(client, "/account", "/account/tokens", {"name": "notebook"})
    assert created.status_code == 200 and "gx_" in created.text
    token = created.text.split("data-new-token>")[1].split("<")[0]
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_pages_have_security_headers(client: TestClient):
    reply = client.get("/login")
    assert reply.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in reply.headers["content-security-policy"]


def test_phone_width_menu_is_there(client: TestClient, people: People):
    person = people.user("sales")
    sign_in(client, person.username, PASSWORD)
    assert "data-nav-toggle" in client.get("/").text


def test_refused_team_delete_explains_why(client: TestClient, people: People):
    admin = people.user("admin")
    team = people.team("Busy team")
    people.user("sales", team=team)
    sign_in(client, admin.username, PASSWORD)
    reply = submit(client, f"/admin/teams/{team.id}", f"/admin/teams/{team.id}/delete", {})
    assert reply.status_code == 422 and "still has members" in reply.text
    assert "Busy team" in client.get("/admin/teams").text


def test_admin_role_label_can_change_but_not_its_grants(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    role = auth_service.get_role_by_name(session=session, name="admin")
    reply = submit(
        client,
        f"/admin/roles/{role.id}",
        f"/admin/roles/{role.id}",
        {"label": "Superuser", "description": "", "version": str(role.version)},
    )
    assert reply.status_code == 303
    session.expire_all()
    role = auth_service.get_role_by_name(session=session, name="admin")
    assert role.label == "Superuser" and role.allows("audit", "read")
