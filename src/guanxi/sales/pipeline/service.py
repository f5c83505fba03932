"""Use cases for opportunities (销售机会): create, read, update, delete, move between stages, win
(optionally with its order) and the stage history.

Every stage change, the first placement included, writes one ``OpportunityStageChange`` with who
and when, and when the opportunity entered the stage it leaves; the funnel reads only these rows
and ``furthest_stage_position``, so both are kept here and nowhere else. Lists and the board live
in ``listing``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from guanxi.auth.models import User
from guanxi.auth.visibility import ensure_may_hand_to, get_visible, restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import service as customer_service
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from guanxi.sales.models import (
    Opportunity,
    OpportunityStageChange,
    Order,
    PipelineStage,
    Product,
    seconds_between,
)
from guanxi.sales.pipeline import stages
from guanxi.sales.pipeline.schemas import (
    OpportunityCreate,
    OpportunityFields,
    OpportunityRead,
    OpportunityUpdate,
    StageChangeRead,
)
from guanxi.webhooks.events import emit

# fields copied from the input as typed (the rest need checks: customer, owner, product, stage)
_PLAIN_FIELDS = ("title", "amount", "currency", "expected_close_date", "source", "notes")
LOST_REASON_REQUIRED = N_("Say why the opportunity was lost.")


def get(*, session: Session, actor: User, opportunity_id: int) -> Opportunity:
    """An opportunity the actor may see; deleted and hidden ones are not found."""
    opportunity = get_visible(session, Opportunity, opportunity_id, actor)
    if opportunity.deleted_at is not None:
        raise NotFound(N_("Record {id} was not found."), id=opportunity_id)
    return opportunity


def create(*, session: Session, actor: User, opportunity_in: OpportunityCreate) -> Opportunity:
    """A new opportunity, owned by the actor unless handed to someone they reach, placed in the
    chosen stage (else the first open one) with that placement as its first history row."""
    given = opportunity_in.model_fields_set
    opportunity = Opportunity(owner_id=actor.id, team_id=actor.team_id, furthest_stage_position=0)
    _apply(session, actor, opportunity, opportunity_in, given | {"customer_id"})
    if opportunity_in.stage_id is not None:
        stage = stages.usable_stage(session=session, stage_id=opportunity_in.stage_id)
    else:
        stage = stages.first_open_stage(session=session)
    if stage.outcome == "lost":
        opportunity.furthest_stage_position = stages.first_open_stage(session=session).position
    _place(
        session,
        actor,
        opportunity,
        stage,
        lost_reason=opportunity_in.lost_reason,
        keep_probability="probability" in given and opportunity_in.probability is not None,
    )
    session.flush()
    emit(session, "opportunity.created", to_read(opportunity).model_dump())
    _announce_outcome(session, opportunity)
    return opportunity


def update(
    *,
    session: Session,
    actor: User,
    opportunity: Opportunity,
    opportunity_in: OpportunityUpdate,
    expected_version: int | None,
) -> Opportunity:
    """Change the fields sent; a new ``stage_id`` moves it (with history) like ``move``."""
    ensure_version(opportunity.version, expected_version)
    given = opportunity_in.model_fields_set
    _apply(session, actor, opportunity, opportunity_in, given)
    moved = False
    if "stage_id" in given and opportunity_in.stage_id not in (None, opportunity.stage_id):
        stage = stages.usable_stage(session=session, stage_id=int(opportunity_in.stage_id or 0))
        _place(
            session,
            actor,
            opportunity,
            stage,
            lost_reason=opportunity_in.lost_reason,
            keep_probability="probability" in given and opportunity_in.probability is not None,
        )
        moved = True
    elif "lost_reason" in given and opportunity.stage.outcome == "lost":
        if not opportunity_in.lost_reason.strip():
            raise InvalidInput(
                LOST_REASON_REQUIRED, errors=[FieldError("lost_reason", LOST_REASON_REQUIRED)]
            )
        opportunity.lost_reason = opportunity_in.lost_reason.strip()
    session.flush()
    emit(session, "opportunity.updated", to_read(opportunity).model_dump())
    if moved:
        _announce_outcome(session, opportunity)
    return opportunity


def move(
    *,
    session: Session,
    actor: User,
    opportunity: Opportunity,
    stage_id: int,
    expected_version: int | None,
    lost_reason: str | None = None,
) -> Opportunity:
    """Move to another stage, as a drag on the board does. A client that loaded an older version
    gets 409 (someone else moved or changed it meanwhile); the same stage is a no-op."""
    if expected_version is not None and expected_version != opportunity.version:
        raise Conflict(
            N_(
                "The opportunity changed since you loaded it (you had version {expected}, it is "
                "now {current}). Reload and try again."
            ),
            expected=expected_version,
            current=opportunity.version,
        )
    stage = stages.usable_stage(session=session, stage_id=stage_id)
    if stage.id == opportunity.stage_id:
        return opportunity
    _place(session, actor, opportunity, stage, lost_reason=lost_reason or "")
    session.flush()
    _announce_outcome(session, opportunity)
    return opportunity


def win(
    *,
    session: Session,
    actor: User,
    opportunity: Opportunity,
    create_order: bool,
    expected_version: int | None = None,
    lines: list[Any] | None = None,
) -> tuple[Opportunity, Order | None]:
    """Move to the won stage and, when asked, create the draft order for it: by default one line
    of the opportunity's product (quantity 1 at its amount) or, without a product, a line named
    after the opportunity; ``lines`` (``OrderLineIn``) replace that default."""
    if create_order and not actor.can("orders", "create"):
        raise PermissionDenied(
            N_("Your role may not {action} {resource}."), action="create", resource="orders"
        )
    if create_order:
        _ensure_no_order_yet(session, opportunity)
    won = stages.won_stage(session=session)
    opportunity = move(
        session=session,
        actor=actor,
        opportunity=opportunity,
        stage_id=won.id,
        expected_version=expected_version,
    )
    if not create_order:
        return opportunity, None
    from guanxi.sales.orders import service as orders_service
    from guanxi.sales.orders.schemas import OrderCreate, OrderLineIn

    if lines is None:
        if opportunity.product_id is not None:
            line = OrderLineIn(
                product_id=opportunity.product_id,
                quantity=Decimal("1"),
                unit_price=opportunity.amount,
            )
        else:
            line = OrderLineIn(
                description=opportunity.title, quantity=Decimal("1"), unit_price=opportunity.amount
            )
        lines = [line]
    order = orders_service.create(
        session=session,
        actor=actor,
        order_in=OrderCreate(
            customer_id=opportunity.customer_id,
            channel="field",
            currency=opportunity.currency,
            opportunity_id=opportunity.id,
            status="draft",
            lines=lines,
            owner_id=opportunity.owner_id,
        ),
    )
    return opportunity, order


def _ensure_no_order_yet(session: Session, opportunity: Opportunity) -> None:
    """Winning twice must not sell twice: one live order per opportunity."""
    number = session.scalar(
        select(Order.number)
        .where(Order.opportunity_id == opportunity.id, Order.status != "cancelled")
        .limit(1)
    )
    if number is not None:
        raise Conflict(
            N_("Order {number} was already created for this opportunity."), number=number
        )


def delete(
    *, session: Session, actor: User, opportunity: Opportunity, expected_version: int | None
) -> None:
    """Move to the bin (soft delete): lists, the board and the funnel stop counting it."""
    ensure_version(opportunity.version, expected_version)
    opportunity.deleted_at = utcnow()
    session.flush()


def history(*, session: Session, opportunity: Opportunity) -> list[StageChangeRead]:
    """Every stage change of the opportunity, oldest first, with stage names and who moved it."""
    before, after = aliased(PipelineStage), aliased(PipelineStage)
    rows = session.execute(
        select(OpportunityStageChange, before.label, after.label, User)
        .outerjoin(before, before.id == OpportunityStageChange.from_stage_id)
        .join(after, after.id == OpportunityStageChange.to_stage_id)
        .outerjoin(User, User.id == OpportunityStageChange.changed_by_id)
        .where(OpportunityStageChange.opportunity_id == opportunity.id)
        .order_by(OpportunityStageChange.changed_at, OpportunityStageChange.id)
    )
    changes = []
    for change, from_label, to_label, user in rows:
        entered = change.from_stage_entered_at
        changes.append(
            StageChangeRead(
                id=change.id,
                from_stage_id=change.from_stage_id,
                from_stage_label=from_label,
                to_stage_id=change.to_stage_id,
                to_stage_label=to_label,
                changed_by_id=change.changed_by_id,
                changed_by=user.label if user is not None else None,
                changed_at=change.changed_at,
                from_stage_entered_at=entered,
                seconds_in_stage=(
                    int((change.changed_at - entered).total_seconds()) if entered else None
                ),
            )
        )
    return changes


def list_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 20
) -> list[Opportunity]:
    """The customer's opportunities the actor may see, for the customer 360 page: open ones
    first (soonest expected close), then the latest closed."""
    stmt = restrict(
        select(Opportunity).where(
            Opportunity.customer_id == customer_id, Opportunity.deleted_at.is_(None)
        ),
        Opportunity,
        actor,
    )
    ordered = stmt.join(PipelineStage, PipelineStage.id == Opportunity.stage_id).order_by(
        (PipelineStage.outcome != "open"),
        Opportunity.closed_at.desc(),
        Opportunity.expected_close_date,
        Opportunity.id.desc(),
    )
    return list(session.scalars(ordered.limit(limit)))


def to_read(opportunity: Opportunity) -> OpportunityRead:
    stage = opportunity.stage
    return OpportunityRead(
        id=opportunity.id,
        customer_id=opportunity.customer_id,
        title=opportunity.title,
        amount=opportunity.amount,
        currency=opportunity.currency,
        expected_close_date=opportunity.expected_close_date,
        probability=opportunity.probability,
        stage_id=opportunity.stage_id,
        stage_key=stage.key,
        stage_label=stage.label,
        outcome=stage.outcome,
        source=opportunity.source,
        product_id=opportunity.product_id,
        lost_reason=opportunity.lost_reason,
        notes=opportunity.notes,
        owner_id=opportunity.owner_id,
        team_id=opportunity.team_id,
        stage_changed_at=opportunity.stage_changed_at,
        furthest_stage_position=opportunity.furthest_stage_position,
        closed_at=opportunity.closed_at,
        external_id=opportunity.external_id,
        version=opportunity.version,
        created_at=opportunity.created_at,
        updated_at=opportunity.updated_at,
    )


# ---------------------------------------------------------------- the rules in one place


def _place(
    session: Session,
    actor: User,
    opportunity: Opportunity,
    stage: PipelineStage,
    *,
    lost_reason: str,
    keep_probability: bool = False,
) -> None:
    """Put the opportunity in ``stage`` and write the history row (the one home of the rules)."""
    if stage.outcome == "lost":
        if not lost_reason.strip():
            raise InvalidInput(
                LOST_REASON_REQUIRED, errors=[FieldError("lost_reason", LOST_REASON_REQUIRED)]
            )
        opportunity.lost_reason = lost_reason.strip()
    else:
        opportunity.lost_reason = ""
    now = utcnow()
    is_first = opportunity.id is None
    from_stage_id = None if is_first else opportunity.stage_id
    entered_at = None if is_first else opportunity.stage_changed_at
    opportunity.stage_id = stage.id
    opportunity.stage = stage
    opportunity.stage_changed_at = now
    if stage.outcome == "open":
        opportunity.furthest_stage_position = max(
            opportunity.furthest_stage_position or 0, stage.position
        )
        opportunity.closed_at = None
    elif stage.outcome == "won":
        opportunity.furthest_stage_position = max(
            opportunity.furthest_stage_position or 0, stages.last_open_position(session=session)
        )
        opportunity.closed_at = now
    else:  # lost: keeps the furthest open stage it reached
        opportunity.closed_at = now
    if not keep_probability:
        opportunity.probability = stage.probability
    if is_first:
        session.add(opportunity)
        session.flush()  # the history row needs the id
    session.add(
        OpportunityStageChange(
            opportunity_id=opportunity.id,
            from_stage_id=from_stage_id,
            to_stage_id=stage.id,
            changed_by_id=actor.id,
            changed_at=now,
            from_stage_entered_at=entered_at,
            seconds_in_stage=seconds_between(entered_at, now),
        )
    )
    if not is_first:
        emit(
            session,
            "opportunity.stage_changed",
            {
                "id": opportunity.id,
                "from_stage_id": from_stage_id,
                "to_stage_id": stage.id,
                "to_stage_key": stage.key,
                "outcome": stage.outcome,
                "changed_by_id": actor.id,
                "changed_at": now,
            },
        )


def _announce_outcome(session: Session, opportunity: Opportunity) -> None:
    outcome = opportunity.stage.outcome
    if outcome in ("won", "lost"):
        emit(session, f"opportunity.{outcome}", to_read(opportunity).model_dump())


def _apply(
    session: Session,
    actor: User,
    opportunity: Opportunity,
    fields: OpportunityFields,
    given: set[str],
) -> None:
    for name in _PLAIN_FIELDS:
        if name in given:
            value = getattr(fields, name)
            setattr(opportunity, name, value.strip() if isinstance(value, str) else value)
    if "currency" in given:
        opportunity.currency = fields.currency.upper()
    if "probability" in given and fields.probability is not None:
        opportunity.probability = fields.probability
    customer_id = getattr(fields, "customer_id", None)
    if "customer_id" in given and customer_id is not None:
        try:
            customer_service.get(session=session, actor=actor, customer_id=customer_id)
        except NotFound as exc:
            raise InvalidInput(
                N_("Choose a customer you can see."),
                errors=[FieldError("customer_id", N_("Unknown customer."))],
            ) from exc
        opportunity.customer_id = customer_id
    if "product_id" in given:
        if fields.product_id is not None and session.get(Product, fields.product_id) is None:
            raise InvalidInput(
                N_("Choose a product from the catalogue."),
                errors=[FieldError("product_id", N_("Unknown product."))],
            )
        opportunity.product_id = fields.product_id
    if "external_id" in given:
        _ensure_external_id_free(session, fields.external_id, opportunity.id)
        opportunity.external_id = fields.external_id or None
    if "owner_id" in given and fields.owner_id is not None:
        owner = session.get(User, fields.owner_id)
        if owner is None or not owner.is_active:
            raise InvalidInput(
                N_("The owner must be an active user."),
                errors=[FieldError("owner_id", N_("Unknown or disabled user."))],
            )
        ensure_may_hand_to(session, actor, owner)
        opportunity.owner_id = owner.id
        opportunity.team_id = owner.team_id


def _ensure_external_id_free(session: Session, external_id: str | None, own_id: int | None) -> None:
    if not external_id:
        return
    holder = session.scalar(select(Opportunity.id).where(Opportunity.external_id == external_id))
    if holder is not None and holder != own_id:
        raise Conflict(
            N_("Another opportunity already has the external id {external_id}."),
            errors=[FieldError("external_id", N_("This value is taken."))],
            external_id=external_id,
        )
