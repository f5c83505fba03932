"""The administration pages for tags, tag categories and custom fields."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.customers.models import CustomFieldDefinition, Tag, TagCategory
from tests.conftest import PASSWORD, People
from tests.web.forms import sign_in, submit


def _category(session: Session, name: str) -> TagCategory:
    session.expire_all()
    category = session.scalar(select(TagCategory).where(TagCategory.name == name))
    assert category is not None, name
    return category


def _tag(session: Session, name: str) -> Tag | None:
    session.expire_all()
    return session.scalar(select(Tag).where(Tag.name == name))


def test_an_admin_classifies_tags_into_categories(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    assert 'href="/admin/tags"' in client.get("/admin").text
    reply = submit(
        client,
        "/admin/tags",
        "/admin/tag-categories",
        {"name": "客户等级", "description": "A/B/C", "exclusive": "on"},
    )
    assert reply.status_code == 303
    grade = _category(session, "客户等级")
    assert grade.exclusive and grade.description == "A/B/C"

    reply = submit(
        client, "/admin/tags", "/admin/tags", {"name": "A级", "category_id": str(grade.id)}
    )
    assert reply.status_code == 303
    page = client.get(reply.headers["location"]).text
    assert "Tag A级 created." in page
    tag = _tag(session, "A级")
    assert tag is not None and tag.category_id == grade.id

    # a free tag, then renamed and moved into the category
    submit(client, "/admin/tags", "/admin/tags", {"name": "b级", "category_id": ""})
    free = _tag(session, "b级")
    assert free is not None and free.category_id is None
    reply = submit(
        client,
        "/admin/tags",
        f"/admin/tags/{free.id}",
        {"name": "B级", "category_id": str(grade.id)},
    )
    assert reply.status_code == 303
    moved = _tag(session, "B级")
    assert moved is not None and moved.category_id == grade.id

    # rename the category; with the version it was loaded with
    reply = submit(
        client,
        "/admin/tags",
        f"/admin/tag-categories/{grade.id}",
        {"name": "客户级别", "description": "", "version": str(grade.version)},
    )
    assert reply.status_code == 303
    renamed = _category(session, "客户级别")
    assert not renamed.exclusive  # the unticked box means "no"

    # deleting the category keeps its tags, as free tags; deleting a tag removes it
    reply = submit(client, "/admin/tags", f"/admin/tag-categories/{grade.id}/delete", {})
    assert reply.status_code == 303
    kept = _tag(session, "A级")
    assert kept is not None and kept.category_id is None
    reply = submit(client, "/admin/tags", f"/admin/tags/{kept.id}/delete", {})
    assert reply.status_code == 303 and _tag(session, "A级") is None


def test_tag_forms_show_their_errors_inline(client: TestClient, people: People):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    submit(client, "/admin/tags", "/admin/tag-categories", {"name": "行业"})
    reply = submit(client, "/admin/tags", "/admin/tag-categories", {"name": "行业"})
    assert reply.status_code == 422
    assert "A category named 行业 already exists." in reply.text
    assert "This name is taken." in reply.text
    submit(client, "/admin/tags", "/admin/tags", {"name": "VIP"})
    reply = submit(client, "/admin/tags", "/admin/tags", {"name": "VIP"})
    assert reply.status_code == 422 and "A tag named VIP already exists." in reply.text
    reply = submit(client, "/admin/tags", "/admin/tags", {"name": "x" * 81})
    assert reply.status_code == 422 and "Must be at most 80 characters." in reply.text
    reply = submit(client, "/admin/tags", "/admin/tags", {"name": "新", "category_id": "999999"})
    assert reply.status_code == 422 and "Unknown category." in reply.text


def test_tag_usage_counts_link_to_the_filtered_list(client: TestClient, people: People):
    admin = people.user("admin")
    headers = people.token(admin)
    for name in ("甲", "乙"):
        client.post("/api/v1/customers", json={"name": name, "tags": ["重点"]}, headers=headers)
    sign_in(client, admin.username, PASSWORD)
    page = client.get("/admin/tags").text
    assert 'href="/customers?tag=%E9%87%8D%E7%82%B9">2</a>' in page


def test_an_admin_defines_custom_fields(client: TestClient, people: People, session: Session):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    assert 'href="/admin/custom-fields"' in client.get("/admin").text
    reply = submit(
        client,
        "/admin/custom-fields",
        "/admin/custom-fields",
        {
            "entity": "customer",
            "key": "grade",
            "label": "客户等级",
            "field_type": "choice",
            "choices": "A\nB\n\nC\nA",
            "required": "on",
        },
    )
    assert reply.status_code == 303, reply.text
    assert "Field 客户等级 created." in client.get(reply.headers["location"]).text
    session.expire_all()
    field = session.scalar(
        select(CustomFieldDefinition).where(CustomFieldDefinition.key == "grade")
    )
    assert field is not None
    assert (field.field_type, field.choices, field.required, field.active) == (
        "choice",
        ["A", "B", "C"],
        True,
        True,
    )

    # edit the label and choices; deactivate it (the unticked box)
    reply = submit(
        client,
        "/admin/custom-fields",
        f"/admin/custom-fields/{field.id}",
        {"label": "等级", "choices": "A\nB", "version": str(field.version)},
    )
    assert reply.status_code == 303
    session.expire_all()
    assert (field.label, field.choices, field.required, field.active) == (
        "等级",
        ["A", "B"],
        False,
        False,
    )
    assert "inactive" in client.get("/admin/custom-fields").text


def test_custom_field_mistakes_are_shown_on_the_form(client: TestClient, people: People):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    good = {"entity": "customer", "key": "budget", "label": "预算", "field_type": "number"}
    assert submit(client, "/admin/custom-fields", "/admin/custom-fields", good).status_code == 303

    for changes, message in (
        ({}, "A custom field budget already exists."),
        ({"key": "Budget 2"}, "Use lower-case letters, digits and _"),
        ({"key": "colour", "field_type": "colour"}, "Choose one of the offered values."),
        ({"key": "size", "field_type": "choice", "choices": ""}, "A choice field needs choices."),
        ({"key": "nolabel", "label": ""}, "This field is required."),
    ):
        reply = submit(client, "/admin/custom-fields", "/admin/custom-fields", {**good, **changes})
        assert reply.status_code == 422, changes
        assert message in reply.text, changes
        # what was typed is still there
        assert f'value="{changes.get("key", "budget")}"' in reply.text

    assert "预算" in client.get("/admin/custom-fields").text
    # a contact field may reuse a customer field's key
    reply = submit(
        client, "/admin/custom-fields", "/admin/custom-fields", {**good, "entity": "contact"}
    )
    assert reply.status_code == 303


def test_a_stale_category_edit_is_refused(client: TestClient, people: People, session: Session):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    submit(client, "/admin/tags", "/admin/tag-categories", {"name": "行业"})
    category = _category(session, "行业")
    path = f"/admin/tag-categories/{category.id}"
    fresh = {"name": "行业分类", "version": str(category.version)}
    assert submit(client, "/admin/tags", path, fresh).status_code == 303
    stale = {"name": "Industry", "version": str(category.version)}
    reply = submit(client, "/admin/tags", path, stale)
    assert reply.status_code == 422 and "changed since you loaded it" in reply.text
    assert _category(session, "行业分类").name == "行业分类"


def test_sales_users_cannot_reach_the_admin_pages(client: TestClient, people: People):
    sales = people.user("sales")
    sign_in(client, sales.username, PASSWORD)
    assert client.get("/admin/tags").status_code == 403
    assert client.get("/admin/custom-fields").status_code == 403
    marketing = people.user("marketing")
    client.cookies.clear()
    sign_in(client, marketing.username, PASSWORD)
    # marketing may tag customers but not administer the classification or the fields
    assert client.get("/admin/tags").status_code == 403
    assert client.get("/admin/custom-fields").status_code == 403
    manager = people.user("manager", team=people.team())
    client.cookies.clear()
    sign_in(client, manager.username, PASSWORD)
    assert client.get("/admin/tags").status_code == 200
    assert client.get("/admin/custom-fields").status_code == 403
    assert 'href="/admin/custom-fields"' not in client.get("/admin").text
