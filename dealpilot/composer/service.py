"""The email composer: drafts written by the AI (or a person) for many recipients, edited,
previewed, scheduled in a time zone; sending is `dealpilot.composer.sending`.

Used by the REST API, the `dealpilot compose` CLI and the scheduled-drafts job. Functions take
a session and flush, never commit: the caller commits. Review-queue drafts (drafts that hold
back a deal's email, `deal_id` set) are not the composer's and are never shown or touched here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel import Session, col, select

from dealpilot.ai import AIEngine, AIError, AIResult, ComposedEmail, ComposeInput
from dealpilot.ai.prompt_rows import active_texts
from dealpilot.composer import rules
from dealpilot.composer.recipients import (
    first_stage,
    get_draft,
    pipeline_by_ref,
    recipient_list,
)
from dealpilot.composer.schemas import (
    DraftCreate,
    DraftPreview,
    DraftPublic,
    DraftUpdate,
    PreviewRequest,
)
from dealpilot.core.errors import Conflict, DealpilotError, ErrorDetail, Unprocessable
from dealpilot.deals.lookup import brand_by_ref
from dealpilot.rendering.renderer import (
    BrandInfo,
    ContactInfo,
    EmailContext,
    EmailRenderer,
    TemplateRenderError,
)
from dealpilot.rendering.stage_email import as_literal_template, render_draft_email
from models import AIDecisionLog, Brand, Contact, DraftKind, DraftStatus, EmailDraft, utcnow

PREVIEW_UNSUBSCRIBE_PATH = "/api/crm/unsubscribe/preview"
UNSENT = (DraftStatus.draft, DraftStatus.scheduled)


def to_public(draft: EmailDraft) -> DraftPublic:
    local = None
    if draft.scheduled_at is not None:
        local = draft.scheduled_at.astimezone(ZoneInfo(draft.timezone)).strftime(
            "%Y-%m-%d %H:%M %Z"
        )
    return DraftPublic(
        id=draft.id or 0,
        brand_id=draft.brand_id,
        pipeline_id=draft.pipeline_id,
        email_type=draft.email_type,
        tone=draft.tone,
        recipients=list(draft.recipients),
        recipient_filter=draft.recipient_filter,
        subject=draft.subject,
        body=draft.body,
        status=DraftStatus(draft.status),
        ai_generated=draft.ai_generated,
        one_off=draft.one_off,
        scheduled_at=draft.scheduled_at,
        timezone=draft.timezone,
        scheduled_local=local,
        sent_at=draft.sent_at,
        outcome=dict(draft.outcome or {}),
        created_at=draft.created_at,
        updated_at=draft.updated_at,
    )


# ---------------------------------------------------------------------- drafting
class DraftPlan(BaseModel):
    """What a new draft needs, checked against the database before the AI is called."""

    brand_id: int
    brand: dict[str, str]
    pipeline_id: int
    pipeline_type: str
    stage_name: str
    recipients: list[str]
    contact: dict[str, str] | None  # the only recipient, when there is exactly one
    prompts: dict[str, str] = {}  # the brand's active prompt rows (type → text)
    brand_voice: str = ""
    brand_description: str = ""


def plan_draft(session: Session, data: DraftCreate) -> DraftPlan:
    brand = brand_by_ref(session, data.brand)
    pipeline = pipeline_by_ref(session, brand, data.pipeline)
    assert brand.id is not None
    assert pipeline.id is not None
    stage = first_stage(session, pipeline.id)
    recipients = recipient_list(session, brand, data.contact_ids, data.addresses)
    contact = None
    if len(recipients) == 1 and data.filter is None:
        email = rules.parse_pasted(recipients[0])[0].email or ""
        row = session.exec(
            select(Contact).where(Contact.brand_id == brand.id, Contact.email == email)
        ).first()
        contact = {
            "email": email,
            "name": row.name if row else rules.parse_pasted(recipients[0])[0].name,
            "company": row.company if row else "",
            "website": row.website if row else "",
        }
    info = BrandInfo.from_row(brand)
    return DraftPlan(
        brand_id=brand.id,
        brand=vars(info),
        pipeline_id=pipeline.id,
        pipeline_type=str(pipeline.pipeline_type),
        stage_name=stage.name,
        recipients=recipients,
        contact=contact,
        prompts=active_texts(session, brand.id),
        brand_voice=brand.voice,
        brand_description=brand.description,
    )


async def compose(ai: AIEngine, plan: DraftPlan, data: DraftCreate) -> AIResult[ComposedEmail]:
    contact = plan.contact or {}
    request = ComposeInput(
        brand_name=plan.brand["name"],
        brand_voice=plan.brand_voice or None,
        brand_description=plan.brand_description or None,
        sender_name=plan.brand["from_name"] or None,
        pipeline_type=plan.pipeline_type,
        stage_name=plan.stage_name,
        purpose=rules.EMAIL_TYPES[data.email_type],
        tone=rules.TONES[data.tone],
        contact_name=contact.get("name") or None,
        contact_company=contact.get("company") or None,
        contact_email=contact.get("email", ""),
        contact_website=contact.get("website") or None,
        notes=data.instructions.strip() or None,
    )
    try:
        return await ai.with_prompts(plan.prompts).compose_email(request)
    except AIError as exc:
        raise DealpilotError(
            "The AI engine could not write this draft; try again or write it yourself (ai=false)",
            code="ai_unavailable",
            status_code=502,
        ) from exc


def check_templates(
    renderer: EmailRenderer, brand: BrandInfo, subject: str, body: str, *, base_url: str = ""
) -> None:
    """Renders subject and body for a sample contact exactly as a deal's send will render
    them (`render_draft_email`): a template mistake is a 422 naming the field."""
    ctx = rules.sample_context(brand, unsubscribe_url=base_url + PREVIEW_UNSUBSCRIBE_PATH)
    checks: list[tuple[str, Callable[[], object]]] = []
    if subject.strip():
        checks.append(("subject", lambda: renderer.render_subject(subject, ctx)))
    if body.strip():
        checks.append(
            ("body", lambda: render_draft_email(renderer, subject or "(subject)", body, ctx))
        )
    for field, render in checks:
        try:
            render()
        except TemplateRenderError as exc:
            raise Unprocessable(
                f"The {field} is not a valid template: {exc}",
                code="template_error",
                details=[ErrorDetail(field=field, problem=str(exc))],
            ) from exc


def store_draft(
    session: Session,
    renderer: EmailRenderer,
    plan: DraftPlan,
    data: DraftCreate,
    composed: AIResult[ComposedEmail] | None,
) -> EmailDraft:
    brand = BrandInfo(**plan.brand)
    if composed is not None:
        subject = composed.value.subject
        body = "\n\n".join(p.strip() for p in composed.value.body_paragraphs if p.strip())
        try:
            check_templates(renderer, brand, subject, body)
        except Unprocessable:
            # AI text with stray braces is kept word for word, not evaluated.
            subject, body = as_literal_template(subject), as_literal_template(body)
    else:
        subject, body = data.subject, data.body
        check_templates(renderer, brand, subject, body)
    draft = EmailDraft(
        kind=DraftKind.composer,
        brand_id=plan.brand_id,
        pipeline_id=plan.pipeline_id,
        email_type=data.email_type,
        tone=data.tone,
        recipients=plan.recipients,
        recipient_filter=data.filter.model_dump(mode="json") if data.filter else None,
        subject=subject,
        body=body,
        status=DraftStatus.draft,
        ai_generated=composed is not None,
        one_off=data.one_off,
        timezone=rules.DEFAULT_TIMEZONE,
    )
    session.add(draft)
    session.flush()
    if composed is not None:
        session.add(
            AIDecisionLog(
                brand_id=plan.brand_id,
                decision_type="compose_email",
                action_taken="composer_draft",
                reasoning=f"composer draft {draft.id}: {composed.value.subject}",
                meta={
                    **composed.value.model_dump(mode="json"),
                    "draft_id": draft.id,
                    "email_type": data.email_type,
                    "tone": data.tone,
                    "instructions": data.instructions,
                },
                model=composed.model,
                prompt_tokens=composed.prompt_tokens,
                completion_tokens=composed.completion_tokens,
                latency_ms=composed.latency_ms,
            )
        )
        session.flush()
    return draft


# ---------------------------------------------------------------------- editing
def _unsent(draft: EmailDraft, doing: str) -> None:
    if draft.status not in UNSENT:
        raise Conflict(
            f"Draft {draft.id} is {draft.status}: it can no longer be {doing}",
            code="draft_not_editable",
        )


def update_draft(
    session: Session, renderer: EmailRenderer, draft_id: int, data: DraftUpdate
) -> EmailDraft:
    draft = get_draft(session, draft_id, lock=True)
    _unsent(draft, "edited")
    changes = data.model_dump(exclude_unset=True)
    brand = session.get(Brand, draft.brand_id)
    assert brand is not None
    for name in ("subject", "body", "tone", "email_type", "one_off"):
        if changes.get(name) is not None:
            setattr(draft, name, changes[name])
    if "subject" in changes or "body" in changes:
        check_templates(renderer, BrandInfo.from_row(brand), draft.subject, draft.body)
    if data.addresses is not None or data.contact_ids is not None:
        draft.recipients = recipient_list(
            session, brand, data.contact_ids or [], data.addresses or ""
        )
    if "filter" in changes:
        draft.recipient_filter = data.filter.model_dump(mode="json") if data.filter else None
    draft.updated_at = utcnow()
    session.add(draft)
    session.flush()
    return draft


def delete_draft(session: Session, draft_id: int) -> None:
    draft = get_draft(session, draft_id, lock=True)
    if draft.status == DraftStatus.sent:
        raise Conflict(f"Draft {draft_id} was sent: it is kept", code="draft_sent")
    session.delete(draft)
    session.flush()


def list_stmt(
    session: Session,
    *,
    brand: str | None,
    pipeline: int | None,
    status: DraftStatus | None,
    email_type: str | None,
) -> Any:
    stmt = select(EmailDraft).where(col(EmailDraft.kind) == DraftKind.composer)
    if brand is not None:
        stmt = stmt.where(EmailDraft.brand_id == brand_by_ref(session, brand).id)
    if pipeline is not None:
        stmt = stmt.where(EmailDraft.pipeline_id == pipeline)
    if status is not None:
        stmt = stmt.where(EmailDraft.status == status)
    if email_type is not None:
        stmt = stmt.where(EmailDraft.email_type == email_type)
    return stmt.order_by(col(EmailDraft.created_at).desc(), col(EmailDraft.id).desc())


# ---------------------------------------------------------------------- scheduling
def schedule_draft(
    session: Session, draft_id: int, at: datetime, timezone: str | None, *, now: datetime
) -> EmailDraft:
    draft = get_draft(session, draft_id, lock=True)
    _unsent(draft, "scheduled")
    zone = rules.zone_name(timezone)
    when = rules.to_utc(at, zone)
    if when <= now:
        raise Unprocessable(
            f"{at:%Y-%m-%d %H:%M} {zone} is in the past; pick a later time",
            code="time_in_past",
            details=[ErrorDetail(field="at", problem="in the past")],
        )
    require_sendable(draft)
    draft.status, draft.scheduled_at, draft.timezone = DraftStatus.scheduled, when, zone
    draft.updated_at = utcnow()
    session.add(draft)
    session.flush()
    return draft


def unschedule_draft(session: Session, draft_id: int) -> EmailDraft:
    draft = get_draft(session, draft_id, lock=True)
    if draft.status != DraftStatus.scheduled:
        raise Conflict(f"Draft {draft_id} is {draft.status}, not scheduled", code="not_scheduled")
    draft.status, draft.scheduled_at, draft.updated_at = DraftStatus.draft, None, utcnow()
    session.add(draft)
    session.flush()
    return draft


def require_sendable(draft: EmailDraft) -> None:
    missing = [name for name in ("subject", "body") if not getattr(draft, name).strip()]
    if not draft.recipients and not draft.recipient_filter:
        missing.append("recipients")
    if draft.pipeline_id is None:
        missing.append("pipeline")
    if missing:
        raise Unprocessable(
            f"Draft {draft.id} is not ready to send: {', '.join(missing)} missing",
            code="draft_incomplete",
            details=[ErrorDetail(field=name, problem="missing") for name in missing],
        )


# ---------------------------------------------------------------------- preview
def preview_context(
    session: Session, draft: EmailDraft, req: PreviewRequest, *, base_url: str
) -> EmailContext:
    brand = session.get(Brand, draft.brand_id)
    assert brand is not None
    unsubscribe = base_url.rstrip("/") + PREVIEW_UNSUBSCRIBE_PATH
    contact: ContactInfo | None = None
    if req.contact_id is not None:
        row = session.get(Contact, req.contact_id)
        if row is None or row.brand_id != brand.id:
            raise Unprocessable(
                f"No contact {req.contact_id} in this brand",
                code="unknown_contact",
                details=[ErrorDetail(field="contact_id", problem="no such contact here")],
            )
        contact = ContactInfo.from_row(row)
    else:
        wanted = req.email or (draft.recipients[0] if draft.recipients else None)
        if wanted:
            parsed = rules.parse_pasted(wanted)
            email = parsed[0].email if parsed else None
            if email is None:
                raise Unprocessable(
                    f"{wanted!r} is not a valid address",
                    code="invalid_email",
                    details=[ErrorDetail(field="email", problem="not a valid address")],
                )
            row = session.exec(
                select(Contact).where(Contact.brand_id == brand.id, Contact.email == email)
            ).first()
            contact = ContactInfo.from_row(row) if row else ContactInfo(email, parsed[0].name)
    if contact is None:
        return rules.sample_context(BrandInfo.from_row(brand), unsubscribe_url=unsubscribe)
    return EmailContext(
        brand=BrandInfo.from_row(brand), contact=contact, unsubscribe_url=unsubscribe
    )


def render_preview(renderer: EmailRenderer, draft: EmailDraft, ctx: EmailContext) -> DraftPreview:
    try:
        rendered = render_draft_email(renderer, draft.subject, draft.body, ctx)
    except TemplateRenderError as exc:
        raise Unprocessable(str(exc), code="template_error") from exc
    return DraftPreview(
        draft_id=draft.id or 0,
        to_email=ctx.contact.email,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
    )
