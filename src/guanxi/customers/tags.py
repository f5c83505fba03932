"""Tags and classification (客户分类与标签): free tags anyone who edits customers may add, and tags
in admin-defined categories, some of which allow one tag per customer."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.concurrency import ensure_version
from guanxi.customers.models import CustomerTag, Tag, TagCategory
from guanxi.customers.schemas import TagCategoryIn, TagIn
from guanxi.errors import N_, Conflict, FieldError, NotFound


def resolve(session: Session, names: list[str], *, create: bool = True) -> list[Tag]:
    """The tags with these names, creating missing ones as free tags (or skipping them)."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not wanted:
        return []
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(wanted)))}
    result = []
    for name in wanted:
        tag = found.get(name)
        if tag is None and create:
            if len(name) > 80:
                raise Conflict(
                    N_("A tag name has at most 80 characters."),
                    errors=[FieldError("tags", N_("Must be at most {max_length} characters."))],
                )
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
        if tag is not None:
            result.append(tag)
    return merged([], result)


def merged(current: list[Tag], added: list[Tag]) -> list[Tag]:
    """``current`` plus ``added``; a tag of an exclusive category replaces its sibling."""
    result = list(current)
    for tag in added:
        if tag in result:
            continue
        if tag.category is not None and tag.category.exclusive:
            result = [t for t in result if t.category_id != tag.category_id]
        result.append(tag)
    return result


def list_tags(*, session: Session, with_counts: bool = False) -> list[tuple[Tag, int | None]]:
    tags = list(session.scalars(select(Tag).order_by(Tag.name)))
    if not with_counts:
        return [(t, None) for t in tags]
    rows = session.execute(select(CustomerTag.tag_id, func.count()).group_by(CustomerTag.tag_id))
    counts = {tag_id: count for tag_id, count in rows}
    return [(t, counts.get(t.id, 0)) for t in tags]


def get_tag(*, session: Session, tag_id: int) -> Tag:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(N_("Tag {id} was not found."), id=tag_id)
    return tag


def create_tag(*, session: Session, tag_in: TagIn) -> Tag:
    if session.scalar(select(Tag.id).where(Tag.name == tag_in.name)) is not None:
        raise Conflict(
            N_("A tag named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=tag_in.name,
        )
    if tag_in.category_id is not None:
        get_category(session=session, category_id=tag_in.category_id)
    tag = Tag(name=tag_in.name, category_id=tag_in.category_id, color=tag_in.color)
    session.add(tag)
    session.flush()
    return tag


def update_tag(*, session: Session, tag: Tag, tag_in: TagIn) -> Tag:
    if tag_in.name != tag.name and session.scalar(select(Tag.id).where(Tag.name == tag_in.name)):
        raise Conflict(
            N_("A tag named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=tag_in.name,
        )
    if tag_in.category_id is not None:
        get_category(session=session, category_id=tag_in.category_id)
    tag.name, tag.category_id, tag.color = tag_in.name, tag_in.category_id, tag_in.color
    session.flush()
    return tag


def delete_tag(*, session: Session, tag: Tag) -> None:
    session.delete(tag)
    session.flush()


def list_categories(*, session: Session) -> list[TagCategory]:
    return list(session.scalars(select(TagCategory).order_by(TagCategory.name)))


def get_category(*, session: Session, category_id: int) -> TagCategory:
    category = session.get(TagCategory, category_id)
    if category is None:
        raise NotFound(
            N_("Category {id} was not found."),
            errors=[FieldError("category_id", N_("Unknown category."))],
            id=category_id,
        )
    return category


def create_category(*, session: Session, category_in: TagCategoryIn) -> TagCategory:
    if session.scalar(select(TagCategory.id).where(TagCategory.name == category_in.name)):
        raise Conflict(
            N_("A category named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=category_in.name,
        )
    category = TagCategory(**category_in.model_dump())
    session.add(category)
    session.flush()
    return category


def update_category(
    *,
    session: Session,
    category: TagCategory,
    category_in: TagCategoryIn,
    expected_version: int | None,
) -> TagCategory:
    ensure_version(category.version, expected_version)
    for key, value in category_in.model_dump().items():
        setattr(category, key, value)
    session.flush()
    return category


def delete_category(*, session: Session, category: TagCategory) -> None:
    """Its tags stay, as free tags."""
    session.delete(category)
    session.flush()
