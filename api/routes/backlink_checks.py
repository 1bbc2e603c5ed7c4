"""Link verification: is our link on the opportunity's page (now, for one opportunity or a
whole brand), with the deal moved to Link Placed when it is. The daily `link-check` schedule
runs the same checks for every brand."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import IdPath, OptionalTemporalDep, SettingsDep, TransactDep, UnitOfWorkDep
from api.routes.backlinks import reread
from api.routing import CRMRouter
from dealpilot.backlinks import LinkChecks, candidate_ids, limits_from
from dealpilot.core.errors import NotFound
from dealpilot.core.settings import Settings
from dealpilot.deals.lookup import get_or_404, resolve_brand_id
from models import BacklinkOpportunity, LinkCheck
from models.backlink import BacklinkOpportunityPublic
from models.uow import Transact, UnitOfWork
from workflows.link_checks import LinkOutcome

router = CRMRouter(prefix="/backlinks", tags=["backlinks"])


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


def _checks(transact: Transact, settings: Settings) -> LinkChecks:
    return LinkChecks(transact, limits_from(settings))


def _result(outcome: LinkOutcome) -> LinkCheckResult:
    return LinkCheckResult.model_validate(outcome, from_attributes=True)


async def _exists(uow: UnitOfWork, backlink_id: int) -> None:
    what = "Backlink opportunity"
    await run_in_threadpool(get_or_404, uow.session, BacklinkOpportunity, backlink_id, what=what)
    await uow.commit_now()  # no transaction stays open while the page is fetched


@router.post("/{backlink_id}/verify/", response_model=VerifyOneResult)
async def verify_backlink(
    backlink_id: IdPath,
    uow: UnitOfWorkDep,
    transact: TransactDep,
    settings: SettingsDep,
    temporal: OptionalTemporalDep,
) -> VerifyOneResult:
    """Fetches the opportunity's page now and checks that our link is on it (anchor text and
    rel: dofollow or nofollow/sponsored/ugc). Found: status placed, and its open deal moves to
    Link Placed. Gone after being found: `removed`, noted in the AI activity. The page's own
    failures (timeout, 404, not HTML) are `error` with the reason, never an API error."""
    await _exists(uow, backlink_id)
    outcomes = await _checks(transact, settings).verify([backlink_id], temporal)
    if not outcomes:
        raise NotFound(f"Backlink opportunity {backlink_id} does not exist")
    return VerifyOneResult(
        opportunity=await reread(transact, backlink_id),
        check=_result(outcomes[0]),
    )


def _brand_candidates(session: Session, brand: str) -> tuple[int, list[int]]:
    brand_id = resolve_brand_id(session, brand)
    assert brand_id is not None
    return brand_id, candidate_ids(session, brand_id)


@router.post("/verify/", response_model=BrandVerifyResult)
async def verify_brand_backlinks(
    data: BrandVerifyRequest,
    uow: UnitOfWorkDep,
    transact: TransactDep,
    settings: SettingsDep,
    temporal: OptionalTemporalDep,
) -> BrandVerifyResult:
    """Verifies every outreaching or placed opportunity of the brand now (a few pages at a
    time), as the daily `link-check` schedule does for all brands."""
    brand_id, ids = await run_in_threadpool(_brand_candidates, uow.session, data.brand.strip())
    await uow.commit_now()  # no transaction stays open while the pages are fetched
    outcomes = await _checks(transact, settings).verify(ids, temporal)
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
