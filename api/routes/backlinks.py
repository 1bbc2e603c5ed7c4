"""Backlink opportunities: CRUD, AI pitches, and enrolment into the Backlink Outreach
pipeline. The CSV import from Ahrefs/Semrush/Ubersuggest is in backlink_import.py, link
verification in backlink_checks.py (both under the same /backlinks prefix)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api.deps import (
    AIDep,
    IdPath,
    OptionalTemporalDep,
    PageDep,
    SessionDep,
    TransactDep,
    UnitOfWorkDep,
)
from api.routing import CRMRouter
from dealpilot.backlinks import Pitcher, PitchOutcome, service
from dealpilot.core.errors import ErrorDetail, NotFound, Unprocessable
from dealpilot.deals.lookup import get_or_404, get_referenced, resolve_brand_id
from dealpilot.deals.updates import apply_update
from dealpilot.temporal.starting import start_after_commit
from models import BacklinkOpportunity, BacklinkStatus, Brand, Contact, Deal, LinkCheck, Pipeline
from models.backlink import (
    BacklinkOpportunityCreate,
    BacklinkOpportunityPublic,
    BacklinkOpportunityUpdate,
)
from models.pagination import Page, paginate
from models.types import Id
from models.uow import Transact

router = CRMRouter(prefix="/backlinks", tags=["backlinks"])


def public(row: Any) -> BacklinkOpportunityPublic:
    return BacklinkOpportunityPublic.model_validate(row)


def _same_brand(
    session: Session, brand_id: int, contact_id: int | None, deal_id: int | None
) -> None:
    """Brands are isolated: an opportunity may only point at its own brand's rows."""
    if contact_id is not None:
        contact = get_referenced(session, Contact, contact_id, field="contact_id")
        if contact.brand_id != brand_id:
            raise Unprocessable(
                "The contact belongs to another brand",
                code="brand_mismatch",
                details=[ErrorDetail(field="contact_id", problem="contact of another brand")],
            )
    if deal_id is not None:
        deal = get_referenced(session, Deal, deal_id, field="deal_id")
        pipeline = session.get(Pipeline, deal.pipeline_id)
        if pipeline is None or pipeline.brand_id != brand_id:
            raise Unprocessable(
                "The deal belongs to another brand",
                code="brand_mismatch",
                details=[ErrorDetail(field="deal_id", problem="deal of another brand")],
            )


@router.get("/", response_model=Page[BacklinkOpportunityPublic])
def list_backlinks(
    session: SessionDep,
    page: PageDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    status: BacklinkStatus | None = None,
    link_check: Annotated[
        LinkCheck | None, Query(description="removed: links that were placed and are gone")
    ] = None,
) -> Page[BacklinkOpportunityPublic]:
    stmt = select(BacklinkOpportunity).order_by(col(BacklinkOpportunity.id).desc())
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(BacklinkOpportunity.brand_id) == brand_id)
    if status is not None:
        stmt = stmt.where(col(BacklinkOpportunity.status) == status)
    if link_check is not None:
        stmt = stmt.where(col(BacklinkOpportunity.link_check) == link_check)
    return paginate(session, stmt, page, public)


@router.post("/", response_model=BacklinkOpportunityPublic, status_code=201)
def create_backlink(
    data: BacklinkOpportunityCreate, session: SessionDep
) -> BacklinkOpportunityPublic:
    get_referenced(session, Brand, data.brand_id, field="brand_id")
    _same_brand(session, data.brand_id, data.contact_id, data.deal_id)
    row = BacklinkOpportunity.model_validate(data)
    session.add(row)
    session.flush()
    return public(row)


@router.get("/{backlink_id}/", response_model=BacklinkOpportunityPublic)
def get_backlink(backlink_id: IdPath, session: SessionDep) -> BacklinkOpportunityPublic:
    return public(
        get_or_404(session, BacklinkOpportunity, backlink_id, what="Backlink opportunity")
    )


@router.patch("/{backlink_id}/", response_model=BacklinkOpportunityPublic)
def update_backlink(
    backlink_id: IdPath, data: BacklinkOpportunityUpdate, session: SessionDep
) -> BacklinkOpportunityPublic:
    row = get_or_404(session, BacklinkOpportunity, backlink_id, what="Backlink opportunity")
    _same_brand(session, row.brand_id, data.contact_id, data.deal_id)
    apply_update(
        row,
        data,
        nullable={
            "domain_authority",
            "relevance_score",
            "contact_id",
            "deal_id",
            "link_rel",
            "verified_at",
        },
    )
    session.add(row)
    session.flush()
    return public(row)


# ------------------------------------------------------------------------------- pitch
class BulkPitchRequest(BaseModel):
    ids: list[Id] = Field(min_length=1, max_length=200)


class BulkPitchResult(BaseModel):
    pitched: int
    failed: int
    results: list[PitchOutcome]


def _committed(session: Session, backlink_id: int) -> BacklinkOpportunityPublic:
    row = session.get(BacklinkOpportunity, backlink_id)
    if row is None:
        raise NotFound(f"Backlink opportunity {backlink_id} does not exist")
    return public(row)


async def reread(transact: Transact, backlink_id: int) -> BacklinkOpportunityPublic:
    """The opportunity as committed, read in a unit of work of its own after an AI call or a
    check."""
    return await transact(lambda session: _committed(session, backlink_id))


@router.post("/pitch/", response_model=BulkPitchResult)
async def pitch_backlinks(
    data: BulkPitchRequest, transact: TransactDep, ai: AIDep
) -> BulkPitchResult:
    """An AI outreach angle and anchor text for each opportunity (stored on it, logged in the
    AI activity). Each is independent: a failed AI call is reported and the others kept."""
    results = await Pitcher(transact, ai).pitch_many(data.ids)
    ok = sum(1 for r in results if r.ok)
    return BulkPitchResult(pitched=ok, failed=len(results) - ok, results=results)


@router.post("/{backlink_id}/pitch/", response_model=BacklinkOpportunityPublic)
async def pitch_backlink(
    backlink_id: IdPath, transact: TransactDep, ai: AIDep
) -> BacklinkOpportunityPublic:
    """Writes the opportunity's outreach angle and anchor text suggestion with the AI engine
    (the offline heuristic engine when no OpenAI key is set); 502 `ai_unavailable` if the AI
    fails, nothing changed then."""
    outcome = await Pitcher(transact, ai).pitch(backlink_id)
    if outcome is None:
        raise NotFound(f"Backlink opportunity {backlink_id} does not exist")
    return await reread(transact, backlink_id)


# ------------------------------------------------------------------------------- enrol
class BacklinkEnrolResult(BaseModel):
    pipeline_id: int
    enrolled: list[service.EnrolledOpportunity]
    skipped: list[service.SkippedOpportunity]
    workflows_started: int
    workflows_not_started: int


@router.post("/enrol/", response_model=BacklinkEnrolResult)
async def enrol_backlinks(
    response: Response,
    data: service.BacklinkEnrolRequest,
    session: SessionDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
) -> BacklinkEnrolResult:
    """Enrols opportunities in the brand's Backlink Outreach pipeline (or `pipeline_id`): a
    deal in the first stage for each opportunity's contact (its `contact_id`, `contact_email`
    for a single opportunity, or an email column of the imported row; a new address becomes
    a backlink_target contact). Opportunities without a contact, already in an open deal, or
    whose contact cannot be enrolled are skipped with a reason. Workflows start after the
    commit; 201 when any deal was created."""
    result = await run_in_threadpool(service.enrol, session, data)
    started = start_after_commit(uow, temporal, [e.deal_id for e in result.enrolled])
    await uow.commit_now()
    for item in result.enrolled:
        item.workflow_id = started.get(item.deal_id)
    ok = sum(1 for e in result.enrolled if e.workflow_id is not None)
    response.status_code = 201 if result.enrolled else 200
    return BacklinkEnrolResult(
        pipeline_id=result.pipeline_id,
        enrolled=result.enrolled,
        skipped=result.skipped,
        workflows_started=ok,
        workflows_not_started=len(result.enrolled) - ok,
    )
