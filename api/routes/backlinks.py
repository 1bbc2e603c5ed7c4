"""Backlink opportunities: CRUD, CSV import from Ahrefs/Semrush/Ubersuggest, AI pitches,
enrolment into the Backlink Outreach pipeline, and link verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api.deps import (
    AIDep,
    EngineDep,
    OptionalTemporalDep,
    PageDep,
    SessionDep,
    SettingsDep,
    UnitOfWorkDep,
)
from api.routing import CRMRouter
from api.uploads import TOO_LARGE_RESPONSE, check_size, reject_nul
from dealpilot.ai import AIError
from dealpilot.backlinks import (
    LinkChecks,
    Pitcher,
    PitchOutcome,
    candidate_ids,
    limits_from,
    service,
)
from dealpilot.backlinks.imports import import_backlinks
from dealpilot.core.errors import DealpilotError, ErrorDetail, NotFound, Unprocessable
from dealpilot.core.settings import Settings
from dealpilot.deals.lookup import get_or_404, get_referenced, resolve_brand_id
from dealpilot.deals.updates import apply_update
from dealpilot.imports.csvfile import Result
from dealpilot.temporal.starting import start_after_commit
from models import (
    BacklinkOpportunity,
    BacklinkStatus,
    Brand,
    Contact,
    Deal,
    LinkCheck,
    Pipeline,
)
from models.backlink import (
    BacklinkOpportunityCreate,
    BacklinkOpportunityPublic,
    BacklinkOpportunityUpdate,
)
from models.pagination import Page, paginate
from workflows.link_checks import LinkOutcome

router = CRMRouter(prefix="/backlinks", tags=["backlinks"])


def _public(row: Any) -> BacklinkOpportunityPublic:
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
    return paginate(session, stmt, page, _public)


@router.post("/", response_model=BacklinkOpportunityPublic, status_code=201)
def create_backlink(
    data: BacklinkOpportunityCreate, session: SessionDep
) -> BacklinkOpportunityPublic:
    get_referenced(session, Brand, data.brand_id, field="brand_id")
    _same_brand(session, data.brand_id, data.contact_id, data.deal_id)
    row = BacklinkOpportunity.model_validate(data)
    session.add(row)
    session.flush()
    return _public(row)


@router.get("/{backlink_id}/", response_model=BacklinkOpportunityPublic)
def get_backlink(backlink_id: int, session: SessionDep) -> BacklinkOpportunityPublic:
    return _public(
        get_or_404(session, BacklinkOpportunity, backlink_id, what="Backlink opportunity")
    )


@router.patch("/{backlink_id}/", response_model=BacklinkOpportunityPublic)
def update_backlink(
    backlink_id: int, data: BacklinkOpportunityUpdate, session: SessionDep
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
    return _public(row)


# ------------------------------------------------------------------------------ import
class ImportedBacklinkRow(BaseModel):
    line: int
    target_url: str
    result: Result
    reason: str
    opportunity_id: int | None


class BacklinkImportResult(BaseModel):
    brand_id: int
    tool: str
    rows_read: int
    created: int
    updated: int
    skipped: int
    invalid: int
    rows: list[ImportedBacklinkRow]  # every row that did not create an opportunity


@router.post(
    "/import/",
    response_model=BacklinkImportResult,
    status_code=201,
    responses={
        200: {"model": BacklinkImportResult, "description": "Read, nothing created"},
        **TOO_LARGE_RESPONSE,
    },
)
async def import_backlinks_csv(
    response: Response,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="An Ahrefs, Semrush or Ubersuggest export")],
    brand: Annotated[str, Form(description="Brand id or slug", max_length=64)],
    tool: Annotated[
        str | None,
        Form(description="ahrefs | semrush | ubersuggest; detected from the header if not given"),
    ] = None,
    keywords: Annotated[
        str, Form(description="Topic words for the relevance score", max_length=1000)
    ] = "",
) -> BacklinkImportResult:
    """Imports opportunities from a research tool's CSV export (at most 20 MB). The page where
    our link should appear becomes `target_url`; authority is the tool's domain score (0-100)
    and relevance the topical overlap with `keywords` (else the brand's name). A URL the brand
    already has is updated, never duplicated. A file-level problem imports nothing: 422
    `invalid_file` / `missing_columns`."""
    check_size(file)
    reject_nul(brand=brand, tool=tool, keywords=keywords)
    report = await run_in_threadpool(
        import_backlinks, session, file.file, brand=brand, tool=tool, keywords=keywords
    )
    counts = report.counts
    response.status_code = 201 if counts[Result.created] else 200
    return BacklinkImportResult(
        brand_id=report.brand_id,
        tool=report.tool.value,
        rows_read=len(report.rows),
        created=counts[Result.created],
        updated=counts[Result.updated],
        skipped=counts[Result.skipped],
        invalid=counts[Result.invalid],
        rows=[
            ImportedBacklinkRow(
                line=row.line,
                target_url=row.target_url,
                result=row.result,
                reason=row.reason,
                opportunity_id=row.opportunity_id,
            )
            for row in report.rows
            if row.result != Result.created
        ],
    )


# ------------------------------------------------------------------------------- pitch
class BulkPitchRequest(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=200)


class BulkPitchResult(BaseModel):
    pitched: int
    failed: int
    results: list[PitchOutcome]


def _ai_failed(exc: AIError) -> DealpilotError:
    return DealpilotError(
        "The AI engine could not write the pitch; try again",
        code="ai_unavailable",
        status_code=502,
        details=[ErrorDetail(problem=type(exc).__name__)],
    )


def _reread(engine: Engine, backlink_id: int) -> BacklinkOpportunityPublic:
    with Session(engine) as session:
        row = session.get(BacklinkOpportunity, backlink_id)
        if row is None:
            raise NotFound(f"Backlink opportunity {backlink_id} does not exist")
        return _public(row)


@router.post("/pitch/", response_model=BulkPitchResult)
async def pitch_backlinks(data: BulkPitchRequest, engine: EngineDep, ai: AIDep) -> BulkPitchResult:
    """An AI outreach angle and anchor text for each opportunity (stored on it, logged in the
    AI activity). Each is independent: a failed AI call is reported and the others kept."""
    results = await Pitcher(engine, ai).pitch_many(data.ids)
    ok = sum(1 for r in results if r.ok)
    return BulkPitchResult(pitched=ok, failed=len(results) - ok, results=results)


@router.post("/{backlink_id}/pitch/", response_model=BacklinkOpportunityPublic)
async def pitch_backlink(
    backlink_id: int, engine: EngineDep, ai: AIDep
) -> BacklinkOpportunityPublic:
    """Writes the opportunity's outreach angle and anchor text suggestion with the AI engine
    (the offline heuristic engine when no OpenAI key is set); 502 `ai_unavailable` if the AI
    fails, nothing changed then."""
    try:
        outcome = await Pitcher(engine, ai).pitch(backlink_id)
    except AIError as exc:
        raise _ai_failed(exc) from exc
    if outcome is None:
        raise NotFound(f"Backlink opportunity {backlink_id} does not exist")
    return await run_in_threadpool(_reread, engine, backlink_id)


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


# ------------------------------------------------------------------------------ verify
class LinkCheckResult(BaseModel):
    opportunity_id: int
    link_check: LinkCheck
    anchor: str | None
    rel: str | None
    error: str
    newly_found: bool
    newly_removed: bool
    deal_id: int | None
    deal_moved: bool
    deal_note: str


class VerifyOneResult(BaseModel):
    opportunity: BacklinkOpportunityPublic
    check: LinkCheckResult


class BrandVerifyRequest(BaseModel):
    brand: str = Field(max_length=64, description="Brand id or slug")


class BrandVerifyResult(BaseModel):
    brand_id: int
    checked: int
    found: int
    missing: int
    removed: int
    errors: int
    deals_moved: int
    results: list[LinkCheckResult]


def _checks(engine: Engine, settings: Settings) -> LinkChecks:
    return LinkChecks(engine, limits_from(settings))


def _result(outcome: LinkOutcome) -> LinkCheckResult:
    return LinkCheckResult.model_validate(outcome, from_attributes=True)


def _exists(session: Session, backlink_id: int) -> None:
    get_or_404(session, BacklinkOpportunity, backlink_id, what="Backlink opportunity")
    session.commit()  # no transaction stays open while the page is fetched


@router.post("/{backlink_id}/verify/", response_model=VerifyOneResult)
async def verify_backlink(
    backlink_id: int,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    temporal: OptionalTemporalDep,
) -> VerifyOneResult:
    """Fetches the opportunity's page now and checks that our link is on it (anchor text and
    rel: dofollow or nofollow/sponsored/ugc). Found: status placed, and its open deal moves to
    Link Placed. Gone after being found: `removed`, noted in the AI activity. The page's own
    failures (timeout, 404, not HTML) are `error` with the reason, never an API error."""
    await run_in_threadpool(_exists, session, backlink_id)
    outcomes = await _checks(engine, settings).verify([backlink_id], temporal)
    if not outcomes:
        raise NotFound(f"Backlink opportunity {backlink_id} does not exist")
    return VerifyOneResult(
        opportunity=await run_in_threadpool(_reread, engine, backlink_id),
        check=_result(outcomes[0]),
    )


def _brand_candidates(session: Session, brand: str) -> tuple[int, list[int]]:
    brand_id = resolve_brand_id(session, brand)
    assert brand_id is not None
    ids = candidate_ids(session, brand_id)
    session.commit()
    return brand_id, ids


@router.post("/verify/", response_model=BrandVerifyResult)
async def verify_brand_backlinks(
    data: BrandVerifyRequest,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    temporal: OptionalTemporalDep,
) -> BrandVerifyResult:
    """Verifies every outreaching or placed opportunity of the brand now (a few pages at a
    time), as the daily `link-check` schedule does for all brands."""
    brand_id, ids = await run_in_threadpool(_brand_candidates, session, data.brand.strip())
    outcomes = await _checks(engine, settings).verify(ids, temporal)
    results = [_result(o) for o in outcomes]

    def count(state: LinkCheck) -> int:
        return sum(1 for r in results if r.link_check == state)

    return BrandVerifyResult(
        brand_id=brand_id,
        checked=len(results),
        found=count(LinkCheck.found),
        missing=count(LinkCheck.missing),
        removed=count(LinkCheck.removed),
        errors=count(LinkCheck.error),
        deals_moved=sum(1 for r in results if r.deal_moved),
        results=results,
    )
