"""Sending a deal's email: once-only per (deal, step), within caps, never to a suppressed address.

The EmailLog row is the ledger. Its status walks pending → sending → sent (or failed/unknown):
- a retry that finds `sent` reports success without sending again;
- a retry that finds `sending` within the claim's lease (`send_steps.CLAIM_LEASE`) leaves it to
  the attempt that claimed it, which may only be slow (a lock wait is not a dead worker), and
  asks Temporal to try again later; past the lease, the claiming attempt did not finish, the
  outcome is unknown, so its Message-ID is looked up in the Sent folder and the row is marked
  sent, sent once more, or flagged `unknown` for a person (`unknown_sends.py`);
- suppression, a brand paused by the deliverability guard, the daily cap (the warm-up's while
  the brand warms up) and the minimum gap are checked in the same transaction that
  claims the row, under a lock on the brand row, so concurrent workers cannot overshoot.

Hence each ledger step is its own unit of work, run through the caller's `Transact`: `sending`
is committed BEFORE the provider call (a crash is detected, never resent), the outcome after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from dealpilot.ai.calls import AIDecisions
from dealpilot.deals.content import render_deal_email, tier_template_for
from dealpilot.deals.deliverability import gate
from dealpilot.deals.draft_content import DraftContent, DraftUnusableError, draft_content
from dealpilot.deals.send_limits import cap_retry_at, gap_free_at, gap_retry_at
from dealpilot.deals.send_steps import claim_in_progress, finish_row, lease_expired
from dealpilot.deals.store import brand_window, load_deal_rows, suppression_for
from dealpilot.deals.unknown_sends import Resend, Unresolved, resolve, unresolved
from dealpilot.deals.warmup import effective_cap
from dealpilot.inbox.sent import NoSentLookup, SentLookup
from dealpilot.mail import (
    MailProvider,
    OutcomeUnknownMailError,
    OutgoingEmail,
    PermanentMailError,
    TransientMailError,
)
from dealpilot.rendering.renderer import (
    EmailContext,
    EmailRenderer,
    TemplateRenderError,
)
from dealpilot.rendering.stage_email import StageEmail, load_email_context, render_draft_email
from dealpilot.tracking.tracker import Tracker, rewrite_links
from models import (
    Brand,
    Contact,
    EmailLog,
    EmailStatus,
    PipelineStage,
    StageTierTemplate,
)
from models.uow import Transact
from workflows.contracts import SendOutcome, SendRequest

CLAIMED = (EmailStatus.sending, EmailStatus.sent, EmailStatus.unknown)
RECIPIENT_CODES = frozenset({"recipient_refused", "invalid_address"})


@dataclass
class _Draft:
    log_id: int
    brand_id: int
    provider: str
    email: OutgoingEmail
    ai_generated: bool
    variant: str  # "A"/"B" only where the stage had two subjects (StageEmail.variant)
    brand_slug: str  # whose mail account sends it


def ledger_key(req: SendRequest) -> str:
    """The once-only key: the deal's step, or the suggested reply sent (a reply moves no step)."""
    if req.reply:
        return f"deal-{req.deal_id}:reply-{req.draft_id}"
    return f"deal-{req.deal_id}:step-{req.step}"


class Sender:
    def __init__(
        self,
        transact: Transact,
        *,
        renderer: EmailRenderer,
        providers: Callable[[str, str], MailProvider],
        ai: AIDecisions,
        tracker: Tracker,
        sent_lookup: SentLookup | None = None,
    ) -> None:
        """`sent_lookup` answers whether a send of unknown outcome is in the Sent folder."""
        self._transact = transact
        self._sent: SentLookup = sent_lookup or NoSentLookup()
        self._renderer = renderer
        self._providers = providers
        self._ai = ai
        self._tracker = tracker

    async def send(self, req: SendRequest, *, now: datetime) -> SendOutcome:
        """`now` is the attempt's clock (caps, gaps, sent_at, the claim's lease)."""
        key = ledger_key(req)
        opened = await self._transact(lambda session: self._open_ledger(session, req, key, now))
        if isinstance(opened, SendOutcome):
            return opened
        if isinstance(opened, int):
            return await self._deliver(req, opened, None, now)
        settled = await resolve(self._transact, self._sent, opened)
        if isinstance(settled, SendOutcome):
            return settled
        return await self._deliver(req, settled.log_id, settled, now)

    async def _deliver(
        self,
        req: SendRequest,
        log_id: int,
        again: Resend | None,
        now: datetime,
    ) -> SendOutcome:
        """Composes, claims and sends the row; `again` when it is sent once more after a lookup
        (same Message-ID, and the ledger says why)."""
        try:
            draft = await self._compose(req, log_id, again.message_id if again else None)
        except DraftUnusableError as exc:
            await self._finish(log_id, None, EmailStatus.failed, error=str(exc))
            return SendOutcome(status="failed", email_log_id=log_id, detail=str(exc))
        claimed = await self._transact(lambda session: self._claim(session, req, draft, now))
        if claimed is not None:
            return claimed
        provider = self._providers(draft.provider, draft.brand_slug)
        try:
            # The provider logs the send or its failure; these ids make that line findable.
            with structlog.contextvars.bound_contextvars(
                deal_id=req.deal_id, email_log_id=draft.log_id
            ):
                result = await provider.send(draft.email)
        except OutcomeUnknownMailError as exc:
            # Not looked up at once: a Sent folder may not show a message the provider is still
            # filing, and a "not found" then would send it twice. The row stays `unknown`.
            await self._finish(draft.log_id, now, EmailStatus.unknown, error=str(exc))
            return SendOutcome(status="unknown", email_log_id=draft.log_id, detail=str(exc))
        except TransientMailError:
            # Nothing went out: free the row so Temporal's retry can claim it again.
            note = again.note if again else ""
            await self._finish(draft.log_id, now, EmailStatus.pending, error=note)
            raise
        except PermanentMailError as exc:
            await self._finish(draft.log_id, now, EmailStatus.failed, error=str(exc))
            status = "rejected" if exc.code in RECIPIENT_CODES else "failed"
            return SendOutcome(status=status, email_log_id=draft.log_id, detail=str(exc))
        await self._finish(
            draft.log_id,
            now,
            EmailStatus.sent,
            error=again.note if again else "",
            sent_draft=(req.draft_id, req.deal_id) if req.draft_id is not None else None,
            message_id=result.message_id or draft.email.message_id,
            provider_message_id=result.provider_message_id,
            provider_request_id=result.provider_request_id,
        )
        return SendOutcome(
            status="sent",
            email_log_id=draft.log_id,
            message_id=result.message_id or draft.email.message_id,
            subject=draft.email.subject,
        )

    # -------------------------------------------------------------- ledger
    def _open_ledger(
        self, session: Session, req: SendRequest, key: str, now: datetime
    ) -> int | SendOutcome | Unresolved:
        row = session.exec(select(EmailLog).where(EmailLog.idempotency_key == key)).first()
        if row is not None and row.status == EmailStatus.sending and not lease_expired(row, now):
            # Temporal retried while the claiming attempt may still be finishing (it stopped
            # heartbeating: a frozen worker, not necessarily a dead one): its send is its own.
            raise claim_in_progress(row, now)
        if row is not None and row.status != EmailStatus.pending:
            # `sending` past its lease, and `unknown`, are looked up before anything else.
            return unresolved(row) or self._replay(row)
        if row is None:
            deal, contact, _pipeline, brand = load_deal_rows(session, req.deal_id)
            row = EmailLog(
                idempotency_key=key,
                brand_id=brand.id or 0,
                deal_id=deal.id,
                contact_id=contact.id,
                stage_id=req.stage_id,
                to_email=contact.email,
                provider=str(brand.provider),
                subject="",
                variant=req.variant,
            )
            session.add(row)
            session.flush()
        assert row.id is not None
        return row.id

    @staticmethod
    def _replay(row: EmailLog) -> SendOutcome:
        """What an earlier attempt decided (`sent`, `failed` or `unknown`), reported again."""
        if row.status == EmailStatus.sent:
            return SendOutcome(
                status="sent", email_log_id=row.id, message_id=row.message_id, subject=row.subject
            )
        return SendOutcome(status=str(row.status), email_log_id=row.id, detail=row.error)

    def _claim(
        self, session: Session, req: SendRequest, draft: _Draft, now: datetime
    ) -> SendOutcome | None:
        """Checks suppression, cap and gap, then marks the row `sending`. None means go."""
        brand = session.exec(
            select(Brand).where(Brand.id == draft.brand_id).with_for_update()
        ).one()
        row = session.get(EmailLog, draft.log_id)
        assert row is not None
        if row.status == EmailStatus.sending:
            # Another attempt claimed it between our open and this claim: it is alive.
            raise claim_in_progress(row, now)
        if row.status != EmailStatus.pending:
            return self._replay(row)
        suppression = suppression_for(session, draft.brand_id, draft.email.to_email)
        if suppression is not None:
            row.status, row.error = EmailStatus.failed, f"suppressed: {suppression.reason}"
            session.add(row)
            return SendOutcome(status="suppressed", email_log_id=row.id, detail=row.error)
        # A paused brand defers (dealpilot.deals.deliverability), then the cap and the gap.
        deferred = gate(session, brand, req.deal_id, now) or self._cap_or_gap(
            session, brand, req.deal_id, now
        )
        if deferred is not None:
            return deferred
        row.status = EmailStatus.sending
        row.sent_at = now
        row.subject = draft.email.subject
        row.body = draft.email.html
        row.body_text = draft.email.text
        row.message_id = draft.email.message_id
        row.provider = draft.provider
        row.ai_generated = draft.ai_generated
        row.variant = draft.variant
        session.add(row)
        return None

    @staticmethod
    def _cap_or_gap(
        session: Session, brand: Brand, deal_id: int, now: datetime
    ) -> SendOutcome | None:
        zone = ZoneInfo(brand.timezone)
        local_midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        sent_today, last = session.exec(
            select(func.count(), func.max(EmailLog.sent_at)).where(
                EmailLog.brand_id == brand.id,
                col(EmailLog.status).in_(CLAIMED),
                col(EmailLog.sent_at) >= local_midnight,
            )
        ).one()
        cap = effective_cap(brand)  # the warm-up's cap while the brand warms up
        if sent_today >= cap:
            return SendOutcome(
                status="deferred",
                retry_at=cap_retry_at(local_midnight, brand_window(brand), deal_id),
                detail=f"daily cap of {cap} reached for {brand.name}",
            )
        free_at = gap_free_at(last, brand.min_gap_seconds, now)
        if free_at is not None:
            return SendOutcome(
                status="deferred",
                retry_at=gap_retry_at(free_at, brand.min_gap_seconds, deal_id),
                detail=f"minimum gap of {brand.min_gap_seconds}s between sends",
            )
        return None

    async def _finish(
        self,
        log_id: int,
        claimed_at: datetime | None,
        status: EmailStatus,
        *,
        error: str = "",
        sent_draft: tuple[int, int] | None = None,
        **ids: str | None,
    ) -> None:
        """Writes this attempt's outcome; `claimed_at` is its claim (None: it never claimed)."""

        def step(session: Session) -> None:
            finish_row(
                session, log_id, claimed_at, status, error=error, sent_draft=sent_draft, ids=ids
            )

        await self._transact(step)

    # -------------------------------------------------------------- content
    async def _compose(self, req: SendRequest, log_id: int, message_id: str | None) -> _Draft:
        stage, ctx, contact, brand, held, tiered = await self._transact(
            lambda session: self._facts(session, req, log_id)
        )
        provider = str(brand.provider)
        rendered = await self._render(req, stage, ctx, held, tiered)
        unsubscribe = ctx.unsubscribe_url
        # A reviewed stage email was rendered before its ledger row existed: its unsubscribe
        # link names no email log, and must work all the same.
        keep = {unsubscribe, self._tracker.unsubscribe_url(brand.id or 0, contact.email, None)}
        html = rewrite_links(rendered.html, self._tracker, log_id, keep=keep)
        headers: dict[str, str] = {"X-Dealpilot-Deal": str(req.deal_id)}
        if held is not None and held.thread is not None:
            headers.update(held.thread.headers())  # an answer in the contact's thread
        if self._providers(provider, brand.slug).supports_custom_headers:
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        domain = brand.from_email.rpartition("@")[2] or "dealpilot.local"
        email = OutgoingEmail(
            from_email=brand.from_email,
            from_name=brand.from_name,
            to_email=contact.email,
            to_name=contact.name,
            subject=rendered.subject,
            html=html,
            text=rendered.text,
            message_id=message_id
            or f"<dp.{req.deal_id}.{req.step}.{secrets.token_hex(6)}@{domain}>",
            reply_to=brand.reply_to,
            headers=headers,
            client_reference=ledger_key(req),
        )
        ai, variant = rendered.ai_generated, rendered.variant
        return _Draft(log_id, brand.id or 0, provider, email, ai, variant, brand.slug)

    async def _render(
        self,
        req: SendRequest,
        stage: PipelineStage,
        ctx: EmailContext,
        held: DraftContent | None,
        tiered: StageTierTemplate | None,
    ) -> StageEmail:
        if held is None:
            return await render_deal_email(
                self._renderer,
                stage,
                ctx,
                req,
                tiered,
                lambda data: self._ai.compose_email(data, req.deal_id),
            )
        try:
            return render_draft_email(
                self._renderer,
                held.subject,
                held.body,
                ctx,
                variant=held.variant,
                ai_generated=held.ai_generated,
            )
        except TemplateRenderError as exc:
            raise DraftUnusableError(f"draft {req.draft_id}: {exc}") from exc

    def _facts(
        self, session: Session, req: SendRequest, log_id: int
    ) -> tuple[
        PipelineStage, EmailContext, Contact, Brand, DraftContent | None, StageTierTemplate | None
    ]:
        """The stage, the deal's rows, the draft and the tier's template, detached (read here,
        used after)."""
        stage = session.get(PipelineStage, req.stage_id)
        assert stage is not None
        ctx, contact, brand = load_email_context(
            session,
            req.deal_id,
            unsubscribe_url=lambda b, c: self._tracker.unsubscribe_url(b.id or 0, c.email, log_id),
            tracking_pixel=self._tracker.pixel(log_id),
        )
        held = None if req.draft_id is None else draft_content(session, req, brand)
        tiered = None if held is not None else tier_template_for(session, req, ctx)
        return stage, ctx, contact, brand, held, tiered
