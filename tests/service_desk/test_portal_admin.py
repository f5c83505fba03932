"""The administrator's choice of the profile fields customers may change in the portal, as a
page and through the API, both for settings:manage only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.service_desk.portal import settings as portal_settings
from tests.conftest import People


def test_the_admin_chooses_the_fields_by_page_and_by_api(
    client: TestClient, people: People, session: Session
) -> None:
    admin = people.token(people.user("admin"))
    sales = people.token(people.user("sales"))
    session.flush()
    url = "/api/v1/portal/settings"

    assert client.get(url, headers=sales).status_code == 403
    assert client.get(url, headers=admin).json() == {
        "editable_fields": list(portal_settings.DEFAULT_EDITABLE)
    }
    bad = client.put(url, json={"editable_fields": ["city", "notes"]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "editable_fields"
    saved = client.put(url, json={"editable_fields": ["address", "phones"]}, headers=admin)
    assert saved.json() == {"editable_fields": ["phones", "address"]}
    assert portal_settings.load(session).editable_fields == ["phones", "address"]
    page = client.get("/admin/portal", headers=admin)
    assert page.status_code == 200
    assert 'value="phones" checked' in page.text and 'value="city" >' in page.text


def test_the_admin_form_refuses_a_field_that_cannot_be_offered_and_saves_a_good_choice(
    client: TestClient, people: People, session: Session
) -> None:
    admin = people.token(people.user("admin"))
    session.flush()

    refused = client.post(
        "/admin/portal", data={"editable_fields": ["city", "notes"]}, headers=admin
    )
    assert refused.status_code == 422
    assert "These fields cannot be offered in the portal: notes." in refused.text
    assert 'value="city" checked' in refused.text
    assert portal_settings.load(session).editable_fields == list(portal_settings.DEFAULT_EDITABLE)

    saved = client.post(
        "/admin/portal",
        data={"editable_fields": ["interests", "city"]},
        headers=admin,
        follow_redirects=False,
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/portal")
    assert portal_settings.load(session).editable_fields == ["city", "interests"]
    nobody = client.post("/admin/portal", data={"editable_fields": "city"})
    assert nobody.status_code == 401
