"""The email composer: AI-drafted (or hand-written) emails for many recipients, edited,
previewed, sent now or scheduled in a time zone. Sending creates the deals in the pipeline and
each deal's workflow sends its own email, so caps, send windows and suppression all apply."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.deps import (
    AIDep,
    IdPath,
    IdQuery,
    OptionalTemporalDep,
    PageDep,
    RendererDep,
    SessionDep,
    SettingsDep,
    TransactDep,
)
from api.routing import CRMRouter
from dealpilot.composer import recipients, service
from dealpilot.composer.rules import DEFAULT_TIMEZONE
from dealpilot.composer.schemas import (
    DraftCreate,
    DraftPreview,
    DraftPublic,
    DraftUpdate,
    PreviewRequest,
    Resolution,
    ResolveRequest,
)
from dealpilot.composer.sending import send_now
from dealpilot.deals.lookup import brand_by_ref
from models import Contact, DraftStatus, Suppression, utcnow
from models.contact import ContactPublic
from models.pagination import Page, paginate

router = CRMRouter(prefix="/composer", tags=["composer"])


class ScheduleBody(BaseModel):
    at: datetime = Field(
        description="When to send. Without an offset it is wall-clock time in `timezone`."
    )
    timezone: str = Field(default=DEFAULT_TIMEZONE, description="IANA zone, e.g. Australia/Perth")


class RecipientMatch(ContactPublic):
    suppressed: bool


@router.post("/drafts/", response_model=DraftPublic, status_code=201)
async def create_draft(
    data: DraftCreate, session: SessionDep, ai: AIDep, renderer: RendererDep
) -> DraftPublic:
    """With `ai` (default) the AI drafts subject and body from the brand, pipeline, email type,
    tone and `instructions` (logged as an AI decision); with `ai=false` `subject` and `body`
    are a person's. The body is message text: the brand layout adds greeting, sign-off and
    unsubscribe footer; it may use template variables such as `{{ contact.first_name }}`."""
    plan = await run_in_threadpool(service.plan_draft, session, data)
    composed = await service.compose(ai, plan, data) if data.ai else None
    draft = await run_in_threadpool(service.store_draft, session, renderer, plan, data, composed)
    return service.to_public(draft)


@router.get("/drafts/", response_model=Page[DraftPublic])
def list_drafts(
    session: SessionDep,
    page: PageDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    pipeline: IdQuery = None,
    status: DraftStatus | None = None,
    email_type: str | None = None,
) -> Page[DraftPublic]:
    stmt = service.list_stmt(
        session, brand=brand, pipeline=pipeline, status=status, email_type=email_type
    )
    return paginate(session, stmt, page, service.to_public)


@router.get("/drafts/{draft_id}/", response_model=DraftPublic)
def get_draft(draft_id: IdPath, session: SessionDep) -> DraftPublic:
    return service.to_public(recipients.get_draft(session, draft_id))


@router.patch("/drafts/{draft_id}/", response_model=DraftPublic)
def update_draft(
    draft_id: IdPath, data: DraftUpdate, session: SessionDep, renderer: RendererDep
) -> DraftPublic:
    """A person's edit of an unsent draft; subject and body are checked by rendering them in
    the sandbox for a sample contact (422 `template_error`)."""
    return service.to_public(service.update_draft(session, renderer, draft_id, data))


@router.delete("/drafts/{draft_id}/", status_code=204)
def delete_draft(draft_id: IdPath, session: SessionDep) -> Response:
    """Only an unsent draft can be deleted (a sent one is the record of what went out)."""
    service.delete_draft(session, draft_id)
    return Response(status_code=204)


@router.post("/drafts/{draft_id}/preview/", response_model=DraftPreview)
def preview_draft(
    draft_id: IdPath,
    session: SessionDep,
    renderer: RendererDep,
    settings: SettingsDep,
    data: PreviewRequest | None = None,
) -> DraftPreview:
    """The email as one recipient would receive it (tracking left out; the unsubscribe link
    is a placeholder)."""
    draft = recipients.get_draft(session, draft_id)
    ctx = service.preview_context(
        session, draft, data or PreviewRequest(), base_url=settings.public_base_url
    )
    return service.render_preview(renderer, draft, ctx)


@router.post(
    "/drafts/{draft_id}/send/",
    response_model=DraftPublic,
    responses={202: {"model": DraftPublic, "description": "Sent; some workflows start later"}},
)
async def send_draft(
    draft_id: IdPath, transact: TransactDep, temporal: OptionalTemporalDep, response: Response
) -> DraftPublic:
    """Sends now: the deals are created (skipped recipients listed with their reason in
    `outcome.skipped`) and each deal's workflow sends the draft to its contact. A draft is
    sent once (409 `draft_already_sent`); without Temporal nothing happens (503). 202: the
    deals were created but Temporal could not be reached to start some of their workflows
    (`outcome.workflows_pending`); the scheduled-drafts job starts them, with the draft."""
    draft = await send_now(temporal, transact, draft_id)
    if draft.outcome.get("workflows_pending"):
        response.status_code = 202
    return service.to_public(draft)


@router.post("/drafts/{draft_id}/schedule/", response_model=DraftPublic)
def schedule_draft(draft_id: IdPath, data: ScheduleBody, session: SessionDep) -> DraftPublic:
    """Sends at `at` (the scheduled-drafts job releases it within a minute of that time)."""
    draft = service.schedule_draft(session, draft_id, data.at, data.timezone, now=utcnow())
    return service.to_public(draft)


@router.post("/drafts/{draft_id}/unschedule/", response_model=DraftPublic)
def unschedule_draft(draft_id: IdPath, session: SessionDep) -> DraftPublic:
    return service.to_public(service.unschedule_draft(session, draft_id))


@router.get("/recipients/", response_model=list[RecipientMatch])
def search_recipients(
    session: SessionDep,
    brand: Annotated[str, Query(description="Brand id or slug")],
    q: Annotated[str | None, Query(max_length=200, description="Name, email or company")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[RecipientMatch]:
    """The brand's contacts matching `q`, each flagged when the brand may not email it."""
    found = brand_by_ref(session, brand)
    assert found.id is not None
    contacts = recipients.search_contacts(session, found.id, q, limit=limit)
    suppressed = set(
        session.exec(
            select(Suppression.email).where(
                Suppression.brand_id == found.id,
                col(Suppression.email).in_([c.email for c in contacts]),
            )
        ).all()
    )
    return [
        RecipientMatch.model_validate(
            {**_fields(c), "suppressed": c.email in suppressed},
        )
        for c in contacts
    ]


def _fields(contact: Contact) -> dict[str, object]:
    return {name: getattr(contact, name) for name in ContactPublic.model_fields}


@router.post("/recipients/resolve/", response_model=Resolution)
def resolve_recipients(data: ResolveRequest, session: SessionDep) -> Resolution:
    """What sending would do with each recipient: `valid` (a contact), `new` (a contact is
    created), `invalid`, `suppressed`, `open_deal` (in `pipeline`), `duplicate`,
    `unknown_contact`. Changes nothing."""
    return recipients.resolve_request(session, data)
