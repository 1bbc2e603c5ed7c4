"""The pipeline board: a pipeline's stages as columns, each with its count and one page of
cards. A fixed number of queries per board (the pipeline, its stages, the counts, one page
per column, the cards' last emails), whatever the number of deals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope, Member, brand_members
from dealpilot.core.errors import NotFound
from models import Brand, Contact, Deal, DealStatus, EmailLog, Pipeline, PipelineStage

PER_COLUMN = 25
OPEN = (DealStatus.active, DealStatus.paused)


@dataclass(frozen=True)
class BoardFilters:
    tier: str | None = None
    search: str = ""
    # "open" (active and paused), or one status.
    status: str = "open"
    # "" any owner, "none" unassigned, else a console user's id.
    owner: str = ""


@dataclass
class Card:
    deal_id: int
    contact_name: str
    contact_email: str
    company: str
    tier: str
    value: Decimal | None
    status: str
    next_action_at: datetime | None
    next_action_reason: str
    owner_id: int | None = None
    owner: str = ""
    last_email: str = ""


@dataclass
class Column:
    stage_id: int
    name: str
    kind: str
    is_terminal: bool
    count: int
    offset: int
    cards: list[Card] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.cards) < self.count


@dataclass
class PipelineChoice:
    pipeline_id: int
    name: str
    brand: str
    brand_id: int = 0


@dataclass
class Board:
    pipeline_id: int
    pipeline_name: str
    brand_name: str
    choices: list[PipelineChoice]
    columns: list[Column]
    owners: list[Member] = field(default_factory=list)


def pipeline_choices(session: Session, scope: BrandScope) -> list[PipelineChoice]:
    rows = session.exec(
        select(Pipeline, Brand.name)
        .join(Brand, col(Brand.id) == col(Pipeline.brand_id))
        .where(scope.condition(Pipeline.brand_id))
        .order_by(col(Brand.slug), col(Pipeline.name))
    ).all()
    return [PipelineChoice(p.id or 0, p.name, brand, p.brand_id) for p, brand in rows]


def _filtered(query: Any, filters: BoardFilters) -> Any:
    if filters.status == "open":
        query = query.where(col(Deal.status).in_(OPEN))
    elif filters.status != "all":
        query = query.where(col(Deal.status) == filters.status)
    if filters.tier:
        query = query.where(col(Deal.engagement_tier) == filters.tier)
    if filters.owner == "none":
        query = query.where(col(Deal.owner_id).is_(None))
    elif filters.owner.isdigit():
        query = query.where(col(Deal.owner_id) == int(filters.owner))
    if filters.search.strip():
        like = f"%{filters.search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Contact.email).like(like),
                func.lower(Contact.name).like(like),
                func.lower(Contact.company).like(like),
            )
        )
    return query


def _last_emails(session: Session, deal_ids: list[int]) -> dict[int, str]:
    if not deal_ids:
        return {}
    latest = (
        select(func.max(EmailLog.id))
        .where(col(EmailLog.deal_id).in_(deal_ids))
        .group_by(col(EmailLog.deal_id))
    )
    logs = session.exec(select(EmailLog).where(col(EmailLog.id).in_(latest))).all()
    return {log.deal_id or 0: email_state(log) for log in logs}


def email_state(log: EmailLog) -> str:
    if log.replied:
        return "replied"
    if log.bounced:
        return "bounced"
    if log.clicked:
        return "clicked"
    if log.opened:
        return "opened"
    return str(log.status)


def board(
    session: Session,
    scope: BrandScope,
    pipeline_id: int | None,
    filters: BoardFilters,
    offsets: dict[int, int],
    *,
    per_column: int = PER_COLUMN,
) -> Board:
    choices = pipeline_choices(session, scope)
    if pipeline_id is None:
        if not choices:
            raise NotFound("No pipeline of yours to show")
        pipeline_id = choices[0].pipeline_id
    chosen = next((c for c in choices if c.pipeline_id == pipeline_id), None)
    if chosen is None:
        raise NotFound(f"Pipeline {pipeline_id} not found")
    stages = session.exec(
        select(PipelineStage)
        .where(PipelineStage.pipeline_id == pipeline_id)
        .order_by(col(PipelineStage.order))
    ).all()
    deals = (
        select(Deal, Contact)
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .where(Deal.pipeline_id == pipeline_id)
    )
    deals = _filtered(deals, filters)
    counts_query = _filtered(
        select(Deal.stage_id, func.count())
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .where(Deal.pipeline_id == pipeline_id),
        filters,
    ).group_by(col(Deal.stage_id))
    counts: dict[int, int] = dict(session.execute(counts_query).all())
    columns = []
    for stage in stages:
        stage_id = stage.id or 0
        offset = max(0, offsets.get(stage_id, 0))
        column = Column(
            stage_id, stage.name, stage.kind, stage.is_terminal, counts.get(stage_id, 0), offset
        )
        if column.count:
            rows = session.exec(
                deals.where(Deal.stage_id == stage_id)
                .order_by(col(Deal.updated_at).desc(), col(Deal.id).desc())
                .offset(offset)
                .limit(per_column)
            ).all()
            column.cards = [
                Card(
                    deal_id=deal.id or 0,
                    contact_name=contact.name,
                    contact_email=contact.email,
                    company=contact.company,
                    tier=deal.engagement_tier,
                    value=deal.value,
                    status=deal.status,
                    next_action_at=deal.next_action_at,
                    next_action_reason=deal.next_action_reason,
                    owner_id=deal.owner_id,
                )
                for deal, contact in rows
            ]
        columns.append(column)
    last = _last_emails(session, [c.deal_id for column in columns for c in column.cards])
    owners = brand_members(session, chosen.brand_id)
    names = {o.user_id: o.label for o in owners}
    for column in columns:
        for card in column.cards:
            card.last_email = last.get(card.deal_id, "")
            if card.owner_id is not None:
                card.owner = names.get(card.owner_id, f"user {card.owner_id}")
    return Board(pipeline_id, chosen.name, chosen.brand, choices, columns, owners)
