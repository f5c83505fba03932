"""Contract pages as a signed-in user drives them: the filtered list, the forms with inline
errors, renewal with links both ways, termination, statistics, roles and visibility."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Contract
from tests.conftest import People
from tests.sales.contracts_support import create_contract, customer
from tests.web.forms import sign_in, submit

TODAY = date.today()


def _day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-contract="(\d+)"', html)]


def test_list_filters_live_in_the_url(client: TestClient, people: People, session: Session):
    rep = people.user("sales", team=people.team("East"))
    api = people.token(rep)
    buyer = customer(session, rep.user)
    soon = create_contract(client, api, buyer, title="茶叶供货", end_date=_day(20))
    later = create_contract(client, api, buyer, title="包装服务", end_date=_day(75))
    far = create_contract(client, api, buyer, title="远期合同", end_date=_day(400))
    outsider = people.user("sales", team=people.team("West"))
    hidden = create_contract(client, people.token(outsider), customer(session, outsider.user))
    sign_in(client, rep.username, rep.password)

    everything = client.get("/sales/contracts")
    assert everything.status_code == 200
    assert _rows(everything.text) == [far["id"], later["id"], soon["id"]]  # not the hidden one
    assert "杭州青山茶业" in everything.text
    assert _rows(client.get("/sales/contracts?expiring=30").text) == [soon["id"]]
    assert _rows(client.get("/sales/contracts?expiring=90").text) == [later["id"], soon["id"]]
    assert _rows(client.get("/sales/contracts?status=expiring").text) == [soon["id"]]
    assert _rows(client.get("/sales/contracts?q=包装").text) == [later["id"]]
    assert "No contracts match these filters." in client.get("/sales/contracts?q=zzz").text
    # nonsense in the URL is ignored rather than an error
    assert client.get("/sales/contracts?expiring=soon&status=x").status_code == 200

    assert client.get(f"/sales/contracts/{hidden['id']}").status_code == 404
    assert client.get(f"/sales/contracts/{hidden['id']}/edit").status_code == 404


def test_create_form_keeps_input_and_shows_errors_inline(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    buyer = customer(session, rep.user)
    sign_in(client, rep.username, rep.password)
    form = client.get(f"/sales/contracts/new?customer_id={buyer}")
    assert form.status_code == 200 and "杭州青山茶业" in form.text

    bad = submit(
        client,
        "/sales/contracts/new",
        "/sales/contracts/new",
        {
            "title": "年度供货合同",
            "customer_id": str(buyer),
            "amount": "abc",
            "currency": "CNY",
            "start_date": _day(-10),
            "end_date": _day(300),
        },
    )
    assert bad.status_code == 422
    assert 'id="e-amount"' in bad.text and "年度供货合同" in bad.text

    good = submit(
        client,
        "/sales/contracts/new",
        "/sales/contracts/new",
        {
            "title": "年度供货合同",
            "customer_id": str(buyer),
            "amount": "120000.50",
            "currency": "CNY",
            "start_date": _day(-10),
            "end_date": _day(300),
            "signed_on": _day(-10),
            "owner_id": str(rep.user.id),
        },
    )
    assert good.status_code == 303, good.text
    record = client.get(good.headers["location"])
    assert record.status_code == 200
    assert f"HT-{TODAY.year}-" in record.text and 'data-status="active"' in record.text
    stored = session.scalars(select(Contract).where(Contract.title == "年度供货合同")).one()
    assert str(stored.amount) == "120000.50"


def test_edit_form_clears_text_and_refuses_a_stale_version(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    made = create_contract(client, api, customer(session, rep.user), notes="旧备注")
    sign_in(client, rep.username, rep.password)
    edit_url = f"/sales/contracts/{made['id']}/edit"
    fields = {
        "title": "改过的标题",
        "customer_id": str(made["customer_id"]),
        "amount": "1.00",
        "currency": "CNY",
        "start_date": made["start_date"],
        "end_date": _day(10),
        "notes": "",
        "warning_days": "",
        "version": str(made["version"]),
    }
    saved = submit(client, edit_url, edit_url, fields)
    assert saved.status_code == 303, saved.text
    session.expire_all()
    stored = session.get(Contract, made["id"])
    assert stored is not None
    assert (stored.title, stored.notes, stored.status) == ("改过的标题", "", "expiring")

    stale = submit(client, edit_url, edit_url, {**fields, "title": "又改"})  # old version
    assert stale.status_code == 422 and 'role="alert"' in stale.text


def test_renewal_and_termination_through_the_pages(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    old = create_contract(client, api, customer(session, rep.user), end_date=_day(20))
    sign_in(client, rep.username, rep.password)
    renew_url = f"/sales/contracts/{old['id']}/renew"
    form = client.get(renew_url)
    assert form.status_code == 200 and _day(21) in form.text  # starts the day after by default

    renewed = submit(
        client,
        renew_url,
        renew_url,
        {"start_date": _day(21), "end_date": _day(386), "amount": "130000", "version": "1"},
    )
    assert renewed.status_code == 303, renewed.text
    new_page = client.get(renewed.headers["location"])
    assert (
        f'href="/sales/contracts/{old["id"]}"' in new_page.text
        and "data-renewed-from" in new_page.text
    )
    old_page = client.get(f"/sales/contracts/{old['id']}")
    assert "data-renewed-by" in old_page.text and 'data-status="renewed"' in old_page.text
    assert client.get(renew_url).status_code == 200
    again = submit(client, renew_url, renew_url, {"version": "2"})
    assert again.status_code == 422  # renewed once already: the form says why

    new_id = int(renewed.headers["location"].rsplit("/", 1)[1])
    end_url = f"/sales/contracts/{new_id}/terminate"
    empty = submit(client, end_url, end_url, {"reason": "", "terminated_on": _day(0)})
    assert empty.status_code == 422 and 'id="e-reason"' in empty.text
    ended = submit(client, end_url, end_url, {"reason": "客户搬迁", "terminated_on": _day(0)})
    assert ended.status_code == 303
    page = client.get(f"/sales/contracts/{new_id}")
    assert 'data-status="terminated"' in page.text and "客户搬迁" in page.text


def test_stats_page_and_permissions(client: TestClient, people: People, session: Session):
    rep = people.user("sales", team=people.team("East"))
    api = people.token(rep)
    buyer = customer(session, rep.user)
    create_contract(client, api, buyer, amount="1000.00", end_date=_day(20))
    create_contract(client, api, buyer, amount="500.00", end_date=_day(200))
    outsider = people.user("sales", team=people.team("West"))
    create_contract(
        client, people.token(outsider), customer(session, outsider.user), amount="77777.00"
    )
    sign_in(client, rep.username, rep.password)

    page = client.get("/sales/contracts/stats")
    assert page.status_code == 200
    assert "1,500.00" in page.text and "77,777" not in page.text
    assert re.search(r'data-within="30">.*?<td class="num">1</td>', page.text, re.S)
    assert "renewed ÷" in page.text  # the definition is on the page
    assert client.get("/sales/contracts/stats?from=nonsense").status_code == 200

    marketer = people.user("marketing")
    client.cookies.clear()
    sign_in(client, marketer.username, marketer.password)
    for url in ("/sales/contracts", "/sales/contracts/stats", "/sales/contracts/new"):
        assert client.get(url).status_code == 403
    service_desk = people.user("service")
    client.cookies.clear()
    sign_in(client, service_desk.username, service_desk.password)
    assert client.get("/sales/contracts").status_code == 200  # may read
    assert client.get("/sales/contracts/new").status_code == 403  # may not create
