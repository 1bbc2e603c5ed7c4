"""What a person does to a deal, sent to its workflow (the authority on the deal's stage and
status): stage moves, won/lost, pause/resume, "send now", and the workflow's own view (state,
timeline). Also previews and drafts of the next email, rendered but never sent.

Errors: 404 unknown deal, 503 `temporal_unavailable`, 409 `no_workflow` (never started),
422 `invalid_stage`, 409 `deal_closed`, 409 `deal_starting`, 409 `no_next_stage`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api.deps import (
    AIDep,
    IdPath,
    OptionalTemporalDep,
    RendererDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
    TransactDep,
    UnitOfWorkDep,
)
from api.routing import CRMRouter
from dealpilot.core.errors import DealpilotError
from dealpilot.deals import actions
from dealpilot.deals.draft_content import without_preview_links
from dealpilot.deals.previews import PreviewFacts, preview_facts, render_preview
from dealpilot.deals.schemas import (
    CloseBody,
    DraftCreated,
    DraftSkipped,
    DraftsRequest,
    DraftsResult,
    EmailPreview,
    PauseBody,
    SendNowOutcome,
)
from dealpilot.rendering.stage_email import StageEmail, as_literal_template
from models import Deal, DraftKind, DraftStatus, EmailDraft
from models.deal import DealMoveStage, DealPublic
from models.uow import UnitOfWork
from workflows.contracts import DealStateView, MoveStageRequest, SendNowRequest, TimelineEntry

router = CRMRouter(prefix="/deals", tags=["deal actions"])

NEXT_EMAIL_DRAFT = "next_email"
_NOT_YET: dict[int | str, dict[str, Any]] = {
    202: {"model": DealPublic, "description": "Delivered, not applied yet"}
}


async def load_deal(uow: UnitOfWork, deal_id: int) -> Deal:
    """The deal (404 unknown) with the read committed: no transaction stays open while its
    workflow is called (the workflow's activity writes the same row)."""
    deal = await actions.load_deal(uow.session, deal_id)
    await uow.commit_now()
    return deal


async def _deal(deal_id: IdPath, uow: UnitOfWorkDep) -> Deal:
    return await load_deal(uow, deal_id)


# Declared before TemporalDep in each handler: an unknown deal is a 404 even without Temporal.
DealDep = Annotated[Deal, Depends(_deal)]


@router.post("/{deal_id}/move-stage/", response_model=DealPublic)
async def move_stage(
    deal: DealDep, temporal: TemporalDep, data: DealMoveStage, session: SessionDep
) -> DealPublic:
    """Moves the deal to a stage of its pipeline (by `stage_id` or `stage` slug) through the
    workflow's `move_stage` update; 422 `invalid_stage` for a stage of another pipeline."""
    req = MoveStageRequest(stage_id=data.stage_id, stage=data.stage, actor="api")
    await temporal.move_stage(deal, req)
    return await actions.reread(session, deal.id or 0)


@router.post("/{deal_id}/next-stage/", response_model=DealPublic)
async def next_stage(deal: DealDep, temporal: TemporalDep, session: SessionDep) -> DealPublic:
    """Moves the deal to the stage after its current one (by order); 409 at the last."""
    current = await temporal.state(deal)
    target = await run_in_threadpool(actions.following_stage, session, deal, current.stage_id)
    await temporal.move_stage(deal, MoveStageRequest(stage_id=target.id, actor="api"))
    return await actions.reread(session, deal.id or 0)


@router.post("/{deal_id}/mark-won/", response_model=DealPublic)
async def mark_won(
    deal: DealDep,
    temporal: TemporalDep,
    session: SessionDep,
    body: Annotated[CloseBody | None, Body()] = None,
) -> DealPublic:
    await temporal.close(deal, won=True, reason=(body or CloseBody()).reason)
    return await actions.reread(session, deal.id or 0)


@router.post("/{deal_id}/mark-lost/", response_model=DealPublic)
async def mark_lost(
    deal: DealDep,
    temporal: TemporalDep,
    session: SessionDep,
    body: Annotated[CloseBody | None, Body()] = None,
) -> DealPublic:
    await temporal.close(deal, won=False, reason=(body or CloseBody()).reason)
    return await actions.reread(session, deal.id or 0)


@router.post("/{deal_id}/pause/", response_model=DealPublic, responses=_NOT_YET)
async def pause(
    deal: DealDep,
    temporal: TemporalDep,
    session: SessionDep,
    transact: TransactDep,
    response: Response,
    body: Annotated[PauseBody | None, Body()] = None,
) -> DealPublic:
    """Stops the autopilot until resumed (`pause` signal). Replies and bounces still count."""
    reason = (body or PauseBody()).reason
    if not await actions.pause_or_resume(temporal, transact, deal, pause=True, reason=reason):
        response.status_code = 202
    return await actions.reread(session, deal.id or 0)


@router.post("/{deal_id}/resume/", response_model=DealPublic, responses=_NOT_YET)
async def resume(
    deal: DealDep,
    temporal: TemporalDep,
    session: SessionDep,
    transact: TransactDep,
    response: Response,
) -> DealPublic:
    """Resumes the autopilot (`resume` signal); an action that fell due meanwhile runs now."""
    if not await actions.pause_or_resume(temporal, transact, deal, pause=False):
        response.status_code = 202
    return await actions.reread(session, deal.id or 0)


@router.post("/{deal_id}/send-now/", response_model=SendNowOutcome)
async def send_now(deal: DealDep, temporal: TemporalDep) -> SendNowOutcome:
    """Sends the deal's next email now, the one `GET .../preview/` shows (the workflow's
    `send_now` update): no AI decision, no send window, no review hold. Suppression, bounces,
    the daily cap and the send gap still apply, and the answer says what happened (`sent`,
    else `outcome` and `detail`). 409 `no_next_email` (a stage a person owns),
    `review_pending`, `deal_paused` or `deal_closed` when nothing can be sent."""
    result = await temporal.send_now(deal, SendNowRequest(actor="api"))
    return SendNowOutcome(
        deal_id=deal.id or 0,
        workflow_id=deal.workflow_id or "",
        sent=result.sent,
        outcome=result.outcome,
        stage_name=result.stage,
        subject=result.subject,
        email_log_id=result.email_log_id,
        detail=result.detail,
        retry_at=result.retry_at,
        status=result.state.status,
    )


@router.get("/{deal_id}/state/", response_model=DealStateView)
async def state(deal: DealDep, temporal: TemporalDep) -> DealStateView:
    """The workflow's `state` query: stage, status, tier, next action and counters."""
    return await temporal.state(deal)


@router.get("/{deal_id}/timeline/", response_model=list[TimelineEntry])
async def timeline(deal: DealDep, temporal: TemporalDep) -> list[TimelineEntry]:
    """The workflow's `timeline` query: recent events and decisions, newest last."""
    return await temporal.timeline(deal)


def _preview(facts: PreviewFacts, rendered: StageEmail) -> EmailPreview:
    return EmailPreview(
        deal_id=facts.deal_id,
        stage_id=facts.stage.id or 0,
        stage_name=facts.stage.name,
        to_email=facts.to_email,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        template_key=rendered.template_key,
        variant=rendered.variant,
    )


@router.get("/{deal_id}/preview/", response_model=EmailPreview)
async def preview(
    deal_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    renderer: RendererDep,
    ai: AIDep,
    temporal: OptionalTemporalDep,
) -> EmailPreview:
    """The next email the autopilot would send, rendered but not sent: no EmailLog, no
    provider call. Tracking is left out (no pixel, links not rewritten) and the unsubscribe
    link is a placeholder. 409 `no_next_email` when no automatic email comes next."""
    facts = await run_in_threadpool(
        preview_facts, session, deal_id, base_url=settings.public_base_url
    )
    return _preview(facts, await render_preview(renderer, ai, facts, temporal))


def _open_drafts(session: Session, deal_ids: list[int]) -> set[int]:
    rows = session.execute(
        select(col(EmailDraft.deal_id)).where(
            col(EmailDraft.deal_id).in_(deal_ids),
            col(EmailDraft.kind) == DraftKind.next_email,
            col(EmailDraft.status) == DraftStatus.draft,
        )
    ).scalars()
    return {deal_id for deal_id in rows if deal_id is not None}


@router.post("/drafts/", response_model=DraftsResult, status_code=201)
async def create_drafts(
    data: DraftsRequest,
    session: SessionDep,
    settings: SettingsDep,
    renderer: RendererDep,
    ai: AIDep,
    temporal: OptionalTemporalDep,
) -> DraftsResult:
    """Renders each deal's next email into an EmailDraft (status `draft`, kind `next_email`:
    a "stored draft" in the review queue, `GET /api/crm/review/`, where approving sends it);
    nothing is sent here. A deal that already has such a draft open is skipped."""
    ids = list(dict.fromkeys(data.deal_ids))
    existing = await run_in_threadpool(_open_drafts, session, ids)
    created: list[DraftCreated] = []
    skipped: list[DraftSkipped] = []
    for deal_id in ids:
        if deal_id in existing:
            skipped.append(
                DraftSkipped(
                    deal_id=deal_id,
                    reason="draft_exists",
                    message="the deal already has a draft of its next email waiting for review",
                )
            )
            continue
        try:
            facts = await run_in_threadpool(
                preview_facts, session, deal_id, base_url=settings.public_base_url
            )
            rendered = await render_preview(renderer, ai, facts, temporal)
        except DealpilotError as exc:
            skipped.append(DraftSkipped(deal_id=deal_id, reason=exc.code, message=exc.message))
            continue
        draft = EmailDraft(
            brand_id=facts.brand_id,
            pipeline_id=facts.pipeline_id,
            deal_id=deal_id,
            kind=DraftKind.next_email,
            email_type=NEXT_EMAIL_DRAFT,
            stage_id=facts.stage.id,
            recipients=[facts.to_email],
            subject=as_literal_template(rendered.subject)[:300],
            # No preview link is stored: the send puts its own signed unsubscribe link in.
            body=without_preview_links(as_literal_template(rendered.html)),
            status=DraftStatus.draft,
            ai_generated=rendered.ai_generated,
        )
        await run_in_threadpool(_add, session, draft)
        created.append(
            DraftCreated(
                deal_id=deal_id,
                draft_id=draft.id or 0,
                subject=draft.subject,
                template_key=rendered.template_key,
            )
        )
    return DraftsResult(created=created, skipped=skipped)


def _add(session: Session, row: EmailDraft) -> None:
    session.add(row)
    session.flush()
