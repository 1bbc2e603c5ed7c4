"""Deal creation and the deal fields the database owns. Functions flush, never commit: the
request commits, and only then may a workflow be started for the deal
(`dealpilot.temporal.starting`).
Stage and status belong to the deal's workflow once it runs (see `dealpilot.deals.actions`)."""

from __future__ import annotations

from sqlalchemy import Row, Select, select
from sqlmodel import Session, col

from dealpilot.core.errors import Conflict, ErrorDetail, NotFound, Unprocessable
from dealpilot.deals import sequences
from dealpilot.deals.lookup import get_referenced, row_fields
from models import Brand, Contact, Deal, DealStatus, Pipeline, PipelineStage, StageKind, utcnow
from models.deal import DealCreate, DealPublic

OPEN_STATUSES = (DealStatus.active, DealStatus.paused)
CLOSED_STATUSES = (DealStatus.won, DealStatus.lost)


def _open_deal_exists(
    session: Session, contact_id: int, pipeline_id: int, *, excluding: int | None = None
) -> bool:
    stmt = select(col(Deal.id)).where(
        col(Deal.contact_id) == contact_id,
        col(Deal.pipeline_id) == pipeline_id,
        col(Deal.status).in_(OPEN_STATUSES),
    )
    if excluding is not None:
        stmt = stmt.where(col(Deal.id) != excluding)
    return session.execute(stmt.limit(1)).first() is not None


def _stage_in_pipeline(session: Session, stage_id: int, pipeline_id: int) -> PipelineStage:
    stage = get_referenced(session, PipelineStage, stage_id, field="stage_id")
    if stage.pipeline_id != pipeline_id:
        raise Unprocessable(
            f"Stage {stage_id} belongs to another pipeline, not pipeline {pipeline_id}",
            code="stage_not_in_pipeline",
            details=[ErrorDetail(field="stage_id", problem="not a stage of this pipeline")],
        )
    return stage


def _status_for_stage(stage: PipelineStage, current: DealStatus) -> DealStatus:
    if stage.kind == StageKind.won:
        return DealStatus.won
    if stage.kind == StageKind.lost:
        return DealStatus.lost
    # Leaving a won/lost stage reopens the deal; a paused deal stays paused.
    return DealStatus.active if current in CLOSED_STATUSES else current


def create_deal(session: Session, data: DealCreate) -> Deal:
    # Lock the contact row so two concurrent requests cannot both open a deal for it.
    contact = session.execute(
        select(Contact).where(col(Contact.id) == data.contact_id).with_for_update()
    ).scalar_one_or_none()
    if contact is None:
        get_referenced(session, Contact, data.contact_id, field="contact_id")  # raises
        raise AssertionError("unreachable")
    pipeline = get_referenced(session, Pipeline, data.pipeline_id, field="pipeline_id")
    if contact.brand_id != pipeline.brand_id:
        raise Unprocessable(
            "The contact and the pipeline belong to different brands; brands are isolated",
            code="brand_mismatch",
            details=[ErrorDetail(field="pipeline_id", problem="pipeline of another brand")],
        )
    assert pipeline.id is not None
    assert contact.id is not None
    if data.stage_id is not None:
        stage = _stage_in_pipeline(session, data.stage_id, pipeline.id)
    else:
        first = session.execute(
            select(PipelineStage)
            .where(col(PipelineStage.pipeline_id) == pipeline.id)
            .order_by(col(PipelineStage.order))
            .limit(1)
        ).scalar_one_or_none()
        if first is None:
            raise Unprocessable(
                f"Pipeline {pipeline.id} has no stages yet", code="pipeline_has_no_stages"
            )
        stage = first
    if _open_deal_exists(session, contact.id, pipeline.id):
        raise Conflict(
            f"Contact {contact.id} already has an open deal in pipeline {pipeline.id}",
            code="deal_exists",
        )
    assert stage.id is not None
    deal = Deal(
        contact_id=contact.id,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        # A deal created without a value is worth the pipeline's default (analytics).
        value=data.value if data.value is not None else pipeline.default_deal_value,
        ai_notes=data.ai_notes,
        status=_status_for_stage(stage, DealStatus.active),
        sequence_id=sequences.for_enrolment(session, pipeline.id, data.sequence_id),
    )
    session.add(deal)
    session.flush()
    return deal


def stages_in_order(session: Session, pipeline_id: int) -> list[PipelineStage]:
    return list(
        session.execute(
            select(PipelineStage)
            .where(col(PipelineStage.pipeline_id) == pipeline_id)
            .order_by(col(PipelineStage.order), col(PipelineStage.id))
        ).scalars()
    )


DB_ONLY_FIELDS = ("value", "ai_notes", "lost_reason", "owner_id")


def update_fields(session: Session, deal_id: int, changes: dict[str, object]) -> Deal:
    """Writes the fields no workflow decides on (value, notes); `changes` is pre-validated."""
    session.expire_all()  # the workflow may have just written this row on its own connection
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"Deal {deal_id} does not exist")
    for field in DB_ONLY_FIELDS:
        if field in changes:
            setattr(deal, field, changes[field])
    deal.updated_at = utcnow()
    session.add(deal)
    session.flush()
    return deal


DealRow = Row[Deal, int | None, str, str, str, str, str]


def deal_rows() -> Select[Deal, int | None, str, str, str, str, str]:
    """Deals with the names a client shows next to them, in one query."""
    return (
        select(
            Deal,
            col(Brand.id),
            col(Brand.slug),
            col(Contact.email),
            col(Contact.name),
            col(Pipeline.name),
            col(PipelineStage.name),
        )
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .join(Pipeline, col(Pipeline.id) == col(Deal.pipeline_id))
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .join(PipelineStage, col(PipelineStage.id) == col(Deal.stage_id))
    )


def to_public(row: DealRow) -> DealPublic:
    deal, brand_id, brand_slug, email, name, pipeline_name, stage_name = row
    return DealPublic.model_validate(
        {
            **row_fields(deal),
            "brand_id": brand_id,
            "brand_slug": brand_slug,
            "contact_email": email,
            "contact_name": name,
            "pipeline_name": pipeline_name,
            "stage_name": stage_name,
        }
    )


def get_deal_public(session: Session, deal_id: int) -> DealPublic:
    row = session.execute(deal_rows().where(col(Deal.id) == deal_id)).first()
    if row is None:
        raise NotFound(f"Deal {deal_id} does not exist")
    return to_public(row)
