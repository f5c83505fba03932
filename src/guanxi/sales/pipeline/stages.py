"""The pipeline's stages: listed in board order, and added, renamed, reordered, retired or
removed by an administrator.

Two rules keep every opportunity placeable: exactly one active stage means "won" (winning moves
there) and at least one active stage means "lost". A stage still holding open opportunities
cannot be retired or removed, so no card disappears from the board.
"""

from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import ensure_version
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.sales.models import Opportunity, OpportunityStageChange, PipelineStage
from guanxi.sales.pipeline.schemas import StageCreate, StageUpdate


def list_stages(*, session: Session, active_only: bool = False) -> list[PipelineStage]:
    """The stages in board order (position, then id)."""
    stmt = select(PipelineStage).order_by(PipelineStage.position, PipelineStage.id)
    if active_only:
        stmt = stmt.where(PipelineStage.is_active.is_(True))
    return list(session.scalars(stmt))


def get_stage(*, session: Session, stage_id: int) -> PipelineStage:
    stage = session.get(PipelineStage, stage_id)
    if stage is None:
        raise NotFound(N_("Stage {id} was not found."), id=stage_id)
    return stage


def usable_stage(*, session: Session, stage_id: int) -> PipelineStage:
    """A stage an opportunity may be put in (exists and is active), or a field error."""
    stage = session.get(PipelineStage, stage_id)
    if stage is None or not stage.is_active:
        raise InvalidInput(
            N_("Choose an active pipeline stage."),
            errors=[FieldError("stage_id", N_("Choose one of the offered values."))],
        )
    return stage


def first_open_stage(*, session: Session) -> PipelineStage:
    """Where a new opportunity starts unless told otherwise."""
    for stage in list_stages(session=session, active_only=True):
        if stage.outcome == "open":
            return stage
    raise InvalidInput(N_("The pipeline has no open stage; an administrator must add one."))


def won_stage(*, session: Session) -> PipelineStage:
    for stage in list_stages(session=session, active_only=True):
        if stage.outcome == "won":
            return stage
    raise InvalidInput(N_("The pipeline has no won stage; an administrator must add one."))


def last_open_position(*, session: Session) -> int:
    """The position of the last open stage: a won opportunity went through them all."""
    position = session.scalar(
        select(func.max(PipelineStage.position)).where(
            PipelineStage.outcome == "open", PipelineStage.is_active.is_(True)
        )
    )
    return int(position or 0)


def create_stage(*, session: Session, actor: User, stage_in: StageCreate) -> PipelineStage:
    if session.scalar(select(PipelineStage.id).where(PipelineStage.key == stage_in.key)):
        raise Conflict(
            N_("A stage with the key {key} exists already."),
            errors=[FieldError("key", N_("This value is taken."))],
            key=stage_in.key,
        )
    before = _positions(session)
    position = stage_in.position
    if position is None:
        position = int(session.scalar(select(func.max(PipelineStage.position))) or 0) + 1
    else:
        _make_room(session, position)
    stage = PipelineStage(
        key=stage_in.key,
        label=stage_in.label.strip(),
        probability=stage_in.probability,
        outcome=stage_in.outcome,
        position=position,
        is_active=True,
    )
    session.add(stage)
    session.flush()
    _follow_positions(session, before)
    _ensure_outcomes(session)
    return stage


def update_stage(
    *,
    session: Session,
    actor: User,
    stage: PipelineStage,
    stage_in: StageUpdate,
    expected_version: int | None,
) -> PipelineStage:
    ensure_version(stage.version, expected_version)
    before = _positions(session)
    given = stage_in.model_fields_set
    changes_outcome = "outcome" in given and stage_in.outcome not in (None, stage.outcome)
    retires = "is_active" in given and stage_in.is_active is False and stage.is_active
    # a won or lost stage holding closed opportunities would hide them from board and totals
    if changes_outcome or retires:
        _ensure_empty(session, stage, N_("Move its opportunities to another stage first."))
    if "label" in given and stage_in.label:
        stage.label = stage_in.label.strip()
    if "probability" in given and stage_in.probability is not None:
        stage.probability = stage_in.probability
    if changes_outcome and stage_in.outcome is not None:
        stage.outcome = stage_in.outcome
    if "is_active" in given and stage_in.is_active is not None:
        stage.is_active = stage_in.is_active
    if (
        "position" in given
        and stage_in.position is not None
        and stage_in.position != stage.position
    ):
        _make_room(session, stage_in.position, except_id=stage.id)
        stage.position = stage_in.position
    session.flush()
    _follow_positions(session, before)
    _ensure_outcomes(session)
    return stage


def reorder_stages(*, session: Session, actor: User, stage_ids: list[int]) -> list[PipelineStage]:
    """Put the stages in the given order (every stage exactly once)."""
    stages = {s.id: s for s in list_stages(session=session)}
    if sorted(stage_ids) != sorted(stages):
        raise InvalidInput(
            N_("List every stage exactly once."),
            errors=[FieldError("stage_ids", N_("Choose one of the offered values."))],
        )
    before = _positions(session)
    for position, stage_id in enumerate(stage_ids):
        if stages[stage_id].position != position:
            stages[stage_id].position = position
    session.flush()
    _follow_positions(session, before)
    return list_stages(session=session)


def delete_stage(
    *, session: Session, actor: User, stage: PipelineStage, expected_version: int | None
) -> None:
    """Remove a stage that was never used; a used one is retired instead (its history stays)."""
    ensure_version(stage.version, expected_version)
    _ensure_empty(session, stage, N_("Move its opportunities to another stage first."))
    used = session.scalar(
        select(OpportunityStageChange.id)
        .where(
            (OpportunityStageChange.to_stage_id == stage.id)
            | (OpportunityStageChange.from_stage_id == stage.id)
        )
        .limit(1)
    )
    if used is not None:
        raise Conflict(
            N_("The stage {label} has history; deactivate it instead of deleting it."),
            label=stage.label,
        )
    session.delete(stage)
    session.flush()
    _ensure_outcomes(session)


def _ensure_empty(session: Session, stage: PipelineStage, hint: str) -> None:
    held = session.scalar(
        select(func.count(Opportunity.id)).where(
            Opportunity.stage_id == stage.id, Opportunity.deleted_at.is_(None)
        )
    )
    if held:
        raise Conflict(
            N_("The stage {label} still holds {count} opportunities."),
            errors=[FieldError("is_active", hint)],
            label=stage.label,
            count=int(held),
        )


def _ensure_outcomes(session: Session) -> None:
    active = list_stages(session=session, active_only=True)
    won = sum(1 for s in active if s.outcome == "won")
    if won != 1:
        raise InvalidInput(
            N_("The pipeline needs exactly one active won stage."),
            errors=[FieldError("outcome", N_("Exactly one active stage must mean won."))],
        )
    if not any(s.outcome == "lost" for s in active):
        raise InvalidInput(
            N_("The pipeline needs at least one active lost stage."),
            errors=[FieldError("outcome", N_("At least one active stage must mean lost."))],
        )


def _positions(session: Session) -> dict[int, int]:
    return {s.id: s.position for s in list_stages(session=session)}


def _follow_positions(session: Session, before: dict[int, int]) -> None:
    """Keep each opportunity's furthest stage the same stage when stages move: the funnel
    counts by ``furthest_stage_position``, so it must follow the stage to its new place."""
    moved = {
        old: stage.position
        for stage in list_stages(session=session)
        if (old := before.get(stage.id)) is not None and old != stage.position
    }
    if not moved:
        return
    session.execute(
        update(Opportunity)
        .where(Opportunity.furthest_stage_position.in_(list(moved)))
        .values(furthest_stage_position=case(moved, value=Opportunity.furthest_stage_position))
        .execution_options(synchronize_session=False)
    )


def _make_room(session: Session, position: int, except_id: int | None = None) -> None:
    """Shift the stages at ``position`` and after one place down, so positions stay distinct."""
    for stage in list_stages(session=session):
        if stage.id != except_id and stage.position >= position:
            stage.position += 1
