"""A person's draft as a send uses it: its subject and body (composer email, approved review
email, stored next-email draft, suggested reply) and, for a suggested reply, the contact's
thread it answers.

A stored draft was rendered before its send, with a placeholder unsubscribe link (the API's
preview path); `without_preview_links` puts the template variable back, so the send renders the
real, signed link of its own ledger row in its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from dealpilot.core.enums import EmailEventType
from models import Brand, DraftKind, DraftStatus, EmailDraft, EmailEvent, EmailLog
from workflows.contracts import SendRequest

PREVIEW_UNSUBSCRIBE_PATH = "/api/crm/unsubscribe/preview"
# An absolute or relative preview link, as the preview and the stored drafts write it.
_PREVIEW_LINK = re.compile(r"(?:https?://[^\s\"'<>]*)?" + re.escape(PREVIEW_UNSUBSCRIBE_PATH))
_RAW_OPEN, _RAW_CLOSE = "{% raw %}", "{% endraw %}"
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


class DraftUnusableError(Exception):
    """The draft a send names cannot be sent (missing, another brand's or deal's, rejected, or
    a template mistake): the send fails for a person to look at, it is never retried."""


@dataclass(frozen=True)
class Thread:
    """The contact's message a reply answers: In-Reply-To and References of the answer."""

    in_reply_to: str
    references: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        refs = list(dict.fromkeys([*self.references, self.in_reply_to]))
        return {"In-Reply-To": self.in_reply_to, "References": " ".join(refs[-20:])}


@dataclass(frozen=True)
class DraftContent:
    subject: str
    body: str
    ai_generated: bool
    variant: str  # a review draft's A/B subject; "" for the other kinds
    thread: Thread | None = None  # a suggested reply's thread (None: not known)


def without_preview_links(body: str) -> str:
    """`body` with every preview unsubscribe link replaced by `{{ unsubscribe_url }}`, so the
    send's own signed link goes in. A body stored as a literal (`{% raw %}`) template is
    opened around the variable."""
    if not _PREVIEW_LINK.search(body):
        return body
    literal = body.startswith(_RAW_OPEN) and body.endswith(_RAW_CLOSE)
    variable = f"{_RAW_CLOSE}{{{{ unsubscribe_url }}}}{_RAW_OPEN}" if literal else None
    return _PREVIEW_LINK.sub(lambda _m: variable or "{{ unsubscribe_url }}", body)


def reply_subject(subject: str) -> str:
    subject = subject.strip() or "your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def thread_of(session: Session, event_id: int | None, deal_id: int) -> Thread | None:
    """The thread of reply event `event_id` (else the deal's latest reply): its Message-ID,
    and the ids it referred to (our sent email's among them)."""
    event = session.get(EmailEvent, event_id) if event_id is not None else None
    if event is None or event.deal_id != deal_id:
        event = session.exec(
            select(EmailEvent)
            .where(EmailEvent.deal_id == deal_id, EmailEvent.event_type == EmailEventType.reply)
            .order_by(col(EmailEvent.occurred_at).desc(), col(EmailEvent.id).desc())
        ).first()
    if event is None:
        return None
    payload: dict[str, Any] = event.payload or {}
    raw = payload.get("raw") if isinstance(payload.get("raw"), dict) else {}
    assert isinstance(raw, dict)
    candidates = [raw.get(k) for k in ("message_id", "Message-Id", "MessageID")]
    candidates.append(event.dedupe_key)
    message_id = next(
        (m.group(0) for c in candidates if isinstance(c, str) and (m := _MESSAGE_ID.search(c))),
        None,
    )
    refs = [r for r in payload.get("message_ids") or [] if isinstance(r, str) and r.strip()]
    refs = [r if r.startswith("<") else f"<{r.strip()}>" for r in refs]
    if event.email_log_id is not None:
        log = session.get(EmailLog, event.email_log_id)
        if log is not None and log.message_id:
            refs.insert(0, log.message_id)
    if message_id is None:
        # The contact's own Message-ID is unknown: answer the last message of ours they saw.
        if not refs:
            return None
        return Thread(in_reply_to=refs[-1], references=list(dict.fromkeys(refs)))
    return Thread(in_reply_to=message_id, references=list(dict.fromkeys(refs)))


def draft_content(session: Session, req: SendRequest, brand: Brand) -> DraftContent:
    draft = session.get(EmailDraft, req.draft_id)
    if draft is None:
        raise DraftUnusableError(f"draft {req.draft_id} does not exist")
    if draft.brand_id != brand.id:
        raise DraftUnusableError(f"draft {req.draft_id} belongs to another brand")
    if draft.deal_id is not None and draft.deal_id != req.deal_id:
        raise DraftUnusableError(f"draft {req.draft_id} belongs to another deal")
    if draft.status == DraftStatus.rejected:
        raise DraftUnusableError(f"draft {req.draft_id} was rejected")
    variant = draft.variant if draft.kind == DraftKind.review else ""
    body = without_preview_links(draft.body)
    if not req.reply:
        return DraftContent(draft.subject, body, draft.ai_generated, variant)
    if draft.kind != DraftKind.reply:
        raise DraftUnusableError(f"draft {req.draft_id} is not a suggested reply")
    if not draft.body.strip():
        raise DraftUnusableError(f"draft {req.draft_id} has no answer written yet")
    event_id = (draft.outcome or {}).get("reply_event_id")
    thread = thread_of(session, event_id if isinstance(event_id, int) else None, req.deal_id)
    return DraftContent(reply_subject(draft.subject), body, draft.ai_generated, "", thread)
