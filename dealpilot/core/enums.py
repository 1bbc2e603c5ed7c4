"""Status and kind values shared by every layer, workflows included.

Stdlib only: DealWorkflow imports these inside Temporal's workflow sandbox, and the tables
(`models` re-exports them) store their string values. A StrEnum member serializes as its
plain string, so workflow payloads and recorded histories keep the same shape.
"""

from __future__ import annotations

from enum import StrEnum


class ContactType(StrEnum):
    lead = "lead"
    backlink_target = "backlink_target"
    partner = "partner"


class SuppressionReason(StrEnum):
    unsubscribed = "unsubscribed"
    hard_bounce = "hard_bounce"
    complaint = "complaint"
    manual = "manual"


class PipelineType(StrEnum):
    sales = "sales"
    backlink = "backlink"
    partnership = "partnership"
    directory = "directory"
    onboarding = "onboarding"


class StageKind(StrEnum):
    entry = "entry"
    sequence = "sequence"
    reply = "reply"
    manual = "manual"
    won = "won"
    lost = "lost"


class AutoAction(StrEnum):
    none = "none"
    send_email = "send_email"  # the autopilot sends this stage's email as it advances into it
    send_on_enter = "send_on_enter"  # sent whenever a deal enters the stage (product events)
    # A ready draft of the stage's email waits in the review queue for a person to send
    # (a proposal follow-up: a person decides when it goes).
    draft_on_enter = "draft_on_enter"
    draft_reply = "draft_reply"  # a reply arrived: draft a suggested answer for a person
    close = "close"


class DealStatus(StrEnum):
    active = "active"
    won = "won"
    lost = "lost"
    paused = "paused"


class EngagementTier(StrEnum):
    new = "new"
    engaged = "engaged"
    hot = "hot"
    warm = "warm"
    lurker = "lurker"
    cold = "cold"
    ghost = "ghost"


class EmailStatus(StrEnum):
    pending = "pending"  # reserved, provider not yet called
    sending = "sending"  # provider called, outcome not yet recorded
    sent = "sent"
    failed = "failed"
    unknown = "unknown"  # a crash left the outcome unknown: flagged for review, never resent


class EmailEventType(StrEnum):
    open = "open"
    click = "click"
    reply = "reply"
    bounce = "bounce"
    soft_bounce = "soft_bounce"
    complaint = "complaint"
    unsubscribe = "unsubscribe"
    delivered = "delivered"


class DraftKind(StrEnum):
    """The four things an EmailDraft row can be (one table, one name each)."""

    composer = "composer"  # an operator's bulk email (the composer); deal_id NULL
    review = "review"  # a deal's stage email held in the review queue for a person
    reply = "reply"  # the AI's suggested answer to a reply, for a person to send
    next_email = "next_email"  # a deal's next email rendered on request; never sent


class DraftStatus(StrEnum):
    draft = "draft"
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"
    scheduled = "scheduled"
    sent = "sent"


class BacklinkStatus(StrEnum):
    new = "new"
    researching = "researching"
    outreaching = "outreaching"
    placed = "placed"
    rejected = "rejected"


class LinkCheck(StrEnum):
    """What the last fetch of a backlink's target page found."""

    unchecked = "unchecked"
    found = "found"  # our link is on the page
    missing = "missing"  # never seen on the page yet
    removed = "removed"  # seen before, gone now
    error = "error"  # the page could not be fetched or read


class PromptType(StrEnum):
    analyze_deal = "analyze_deal"
    compose_email = "compose_email"
    classify_reply = "classify_reply"
    score_lead = "score_lead"
    generate_backlink_pitch = "generate_backlink_pitch"
    smart_salutation = "smart_salutation"


class MailProviderName(StrEnum):
    outbox = "outbox"
    smtp = "smtp"
    zoho = "zoho"  # the Zoho Mail REST API: no custom headers (no List-Unsubscribe)
    zoho_smtp = "zoho_smtp"  # Zoho's SMTP servers: every header
    zeptomail = "zeptomail"


class SendStatus(StrEnum):
    """What the send activity reports back to a deal (SendOutcome.status)."""

    sent = "sent"
    suppressed = "suppressed"
    deferred = "deferred"  # a daily cap or send gap: try again at `retry_at`
    failed = "failed"
    unknown = "unknown"  # the provider may have sent it: never resend blindly
    rejected = "rejected"  # the provider refused the address
    review = "review"  # held as a draft for a person (human review mode)


class ReplyIntent(StrEnum):
    interested = "interested"
    not_interested = "not_interested"
    question = "question"
    out_of_office = "out_of_office"
    auto_reply = "auto_reply"  # automatic, not an absence: the sequence carries on
    referral = "referral"  # someone else to talk to: a person follows it up
    left_company = "left_company"
    unsubscribe = "unsubscribe"
    bounce = "bounce"


class DealAction(StrEnum):
    """What the AI decided for a deal whose time came (AnalyzeResult.action)."""

    send_email = "send_email"
    wait = "wait"
    change_approach = "change_approach"
    pause = "pause"
    flag_for_review = "flag_for_review"


class ReviewAction(StrEnum):
    approve = "approve"
    edit = "edit"
    reject = "reject"
    discard = "discard"  # the deal moved on while the draft waited (not a person's choice)


class UserRole(StrEnum):
    """A console user's role: an admin sees every brand and the settings; an operator sees
    only the brands an admin granted (another brand's pages and objects are a 404)."""

    admin = "admin"
    operator = "operator"
