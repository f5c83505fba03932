"""The issue's promise in one place: a sales user cannot see, search, export or merge another
team's customer, through the API or the pages (the CLI's side is in test_records_cli.py). A
customer out of sight is "not found", never "forbidden", so its existence does not leak."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.customers.models import Customer
from tests.conftest import PASSWORD, People
from tests.web.forms import csrf_from, sign_in


def _create(client: TestClient, headers: dict[str, str], **fields: object) -> int:
    reply = client.post("/api/v1/customers", json=fields, headers=headers)
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def _names_in_csv(content: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return [row[2] for row in rows[1:]]


def test_another_teams_customer_is_out_of_reach_everywhere(
    client: TestClient, people: People, session: Session
):
    east, west = people.team("East"), people.team("West")
    rep = people.user("sales", team=west)
    lead = people.user("manager", team=west)
    east_rep = people.token(people.user("sales", team=east))
    theirs = _create(
        client,
        east_rep,
        name="张秘密",
        city="上海",
        phones=["13800138000"],
        emails=["secret@example.cn"],
    )
    mine = _create(client, people.token(rep), name="张公开", city="上海", phones=["13900139000"])

    # API: read, search by name, phone and e-mail fragments, export, duplicates, merge
    api = people.token(rep)
    assert client.get(f"/api/v1/customers/{theirs}", headers=api).status_code == 404
    for fragment in ("张", "秘密", "0013 8000", "secret@"):
        found = client.get("/api/v1/customers", params={"q": fragment}, headers=api).json()
        assert theirs not in [c["id"] for c in found["items"]], fragment
    exported = client.get("/api/v1/customers/export", headers=api)
    assert _names_in_csv(exported.content) == ["张公开"]
    chosen = client.get(f"/api/v1/customers/export?ids={theirs}", headers=api)
    assert _names_in_csv(chosen.content) == []
    manager_api = people.token(lead)  # may merge, but not what they cannot see
    merged = client.post(
        "/api/v1/customers/merge",
        json={"survivor_id": mine, "other_id": theirs},
        headers=manager_api,
    )
    assert merged.status_code == 404
    assert (
        client.get(
            "/api/v1/customers/duplicates", params={"customer_id": theirs}, headers=manager_api
        ).status_code
        == 404
    )

    # pages: the 360 page, the edit form, the list and its search, the export, the merge page
    sign_in(client, rep.username, PASSWORD)
    assert client.get(f"/customers/{theirs}").status_code == 404
    assert client.get(f"/customers/{theirs}/edit").status_code == 404
    listed = client.get("/customers", params={"q": "张"}).text
    assert "张公开" in listed and "张秘密" not in listed
    assert "张秘密" not in client.get("/customers", params={"q": "13800138000"}).text
    download = client.get("/customers/export", params={"format": "csv", "q": "张"})
    assert _names_in_csv(download.content) == ["张公开"]
    token = csrf_from(client.get(f"/customers/{mine}").text)
    consent = client.post(
        f"/customers/{theirs}/consents",
        data={"csrf_token": token, "purpose": "marketing_email", "granted": "false"},
    )
    assert consent.status_code == 404
    client.cookies.clear()
    sign_in(client, lead.username, PASSWORD)
    assert client.get(f"/customers/merge?a={mine}&b={theirs}").status_code == 404
    token = csrf_from(client.get(f"/customers/merge?a={mine}").text)
    posted = client.post(
        "/customers/merge",
        data={"csrf_token": token, "survivor_id": str(mine), "other_id": str(theirs)},
    )
    assert posted.status_code == 404

    session.expire_all()
    untouched = session.get(Customer, theirs)
    assert untouched is not None and untouched.merged_into_id is None and untouched.version == 1
