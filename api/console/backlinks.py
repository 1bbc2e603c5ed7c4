"""Backlink opportunities: the list (the user's brands, by brand and status, paged, with the
link's last check), importing them (a research tool's CSV export, or pasted page URLs),
AI pitches and enrolment in the brand's backlink pipeline. The same domain code as the REST
API's /api/crm/backlinks/ (import, pitch, enrol); enrolled deals' workflows start after the
commit, as there."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import AIDep, OptionalTemporalDep, SessionDep, TransactDep, UnitOfWorkDep
from api.uploads import MAX_UPLOAD_BYTES
from dealpilot.backlinks import Pitcher, service
from dealpilot.backlinks.imports import import_backlinks
from dealpilot.backlinks.pasted import import_urls
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.desk.backlinks import opportunities, scoped_ids
from dealpilot.desk.contacts import brands_in_scope
from dealpilot.imports.csvfile import Result
from dealpilot.imports.starting import RETRY_HINT
from dealpilot.temporal.starting import start_after_commit
from models import BacklinkStatus, Brand
from models.pagination import PageParams

router = APIRouter()
PAGE = 50
HOME = "/console/backlinks"
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Ids = Annotated[list[int], Form(min_length=1, max_length=200)]


def _said(rows: list[tuple[int, str, Result, str]]) -> str:
    """Counts, then the first few rows that created nothing, for the page's message."""
    counts = {r: sum(1 for row in rows if row[2] == r) for r in Result}
    text = ", ".join(f"{n} {r}" for r, n in counts.items() if n)
    problems = [f"line {line} {url[:80]}: {why}" for line, url, r, why in rows if why][:5]
    return text + (" (" + "; ".join(problems) + ")" if problems else "")


def _brand(session: SessionDep, operator: OperatorDep, slug: str) -> Brand:
    found = {b.slug: b for b in brands_in_scope(session, operator.scope)}.get(slug)
    if found is None:
        raise NotFound(f"Brand {slug} not found")
    return found


@router.get("/backlinks")
def backlinks_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    status: Annotated[str, Query(max_length=20)] = "",
    brand: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
) -> Response:
    wanted = status if status in BacklinkStatus.__members__ else ""
    page = opportunities(
        session, operator.scope, PageParams(limit=PAGE, offset=offset), status=wanted, brand=brand
    )
    context = {
        "page": page,
        "status": wanted,
        "brand": brand,
        "brands": brands_in_scope(session, operator.scope),
        "statuses": list(BacklinkStatus),
        "per_page": PAGE,
    }
    return render(request, "backlinks.html", context)


@router.post("/backlinks/import")
async def import_file(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    file: Annotated[UploadFile, File()],
    brand: Annotated[str, Form(max_length=64)],
    tool: Annotated[str, Form(max_length=20)] = "",
    keywords: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """An Ahrefs, Semrush or Ubersuggest export, as `POST /api/crm/backlinks/import/`."""
    row_brand = _brand(uow.session, operator, brand)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        cookie.flash(f"The file is larger than {MAX_UPLOAD_BYTES >> 20} MB; split it.", "error")
        return RedirectResponse(HOME, status_code=303)
    try:
        report = await run_in_threadpool(
            import_backlinks,
            uow.session,
            io.BytesIO(data),
            brand=str(row_brand.id),
            tool=tool or None,
            keywords=keywords,
        )
    except DealpilotError as exc:
        uow.session.rollback()  # a broken file imports nothing
        cookie.flash(f"Nothing imported: {exc.message}", "error")
        return RedirectResponse(HOME, status_code=303)
    rows = [(r.line, r.target_url, r.result, r.reason) for r in report.rows]
    cookie.flash(f"Imported from {report.tool} for {brand}: {_said(rows)}.", "success")
    return RedirectResponse(f"{HOME}?brand={brand}", status_code=303)


@router.post("/backlinks/paste")
def import_pasted(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    session: SessionDep,
    brand: Annotated[str, Form(max_length=64)],
    urls: Annotated[str, Form(max_length=100_000)],
) -> Response:
    row_brand = _brand(session, operator, brand)
    try:
        report = import_urls(session, row_brand, urls)
    except DealpilotError as exc:
        session.rollback()
        cookie.flash(f"Nothing imported: {exc.message}", "error")
        return RedirectResponse(HOME, status_code=303)
    rows = [(r.line, r.target_url, r.result, r.reason) for r in report]
    cookie.flash(f"Pasted URLs for {brand}: {_said(rows)}.", "success")
    return RedirectResponse(f"{HOME}?brand={brand}", status_code=303)


@router.post("/backlinks/pitch")
async def pitch(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    transact: TransactDep,
    ai: AIDep,
    ids: Ids,
) -> Response:
    """The AI's outreach angle and anchor text for each (stored on it, logged as an AI
    decision); one failed AI call does not undo the others."""
    wanted = await run_in_threadpool(scoped_ids, uow.session, operator.scope, ids)
    await uow.commit_now()  # no transaction stays open while the AI writes
    results = await Pitcher(transact, ai).pitch_many(wanted)
    ok = sum(1 for r in results if r.ok)
    cookie.flash(f"Pitched {ok} of {len(results)} opportunities.", "success")
    failed = [f"{r.opportunity_id}: {r.error}" for r in results if not r.ok]
    if failed:
        cookie.flash("The AI failed for " + "; ".join(failed[:5]), "error")
    return RedirectResponse(HOME, status_code=303)


@router.post("/backlinks/enrol")
async def enrol(
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    temporal: OptionalTemporalDep,
    ids: Ids,
    contact_email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Deals in the brand's Backlink Outreach pipeline for each opportunity's contact (the
    address given for a single one, or the contact column of its imported row), as
    `POST /api/crm/backlinks/enrol/`; their workflows start after the commit."""
    wanted = await run_in_threadpool(scoped_ids, uow.session, operator.scope, ids)
    try:
        request = service.BacklinkEnrolRequest(
            ids=wanted, contact_email=contact_email.strip() or None
        )
        result = await run_in_threadpool(service.enrol, uow.session, request)
    except ValidationError as exc:
        cookie.flash("Not enrolled: " + "; ".join(str(e["msg"]) for e in exc.errors()), "error")
        return RedirectResponse(HOME, status_code=303)
    except DealpilotError as exc:
        uow.session.rollback()
        cookie.flash(f"Not enrolled: {exc.message}", "error")
        return RedirectResponse(HOME, status_code=303)
    started = start_after_commit(uow, temporal, [e.deal_id for e in result.enrolled])
    await uow.commit_now()
    running = sum(1 for e in result.enrolled if started.get(e.deal_id))
    cookie.flash(
        f"Enrolled {len(result.enrolled)} ({running} workflows started); "
        f"skipped {len(result.skipped)}.",
        "success" if result.enrolled else "error",
    )
    waiting = len(result.enrolled) - running
    if waiting:
        cookie.flash(f"Temporal did not start {waiting} deals' workflows: {RETRY_HINT}.", "error")
    if result.skipped:
        why = [f"{s.opportunity_id}: {s.message}" for s in result.skipped[:5]]
        cookie.flash("Skipped " + "; ".join(why), "error")
    return RedirectResponse(HOME, status_code=303)
