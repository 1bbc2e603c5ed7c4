"""What a polled message is: our own mail, a bounce, an auto-reply, other automated mail, or
a person's reply. Plain functions over plain data, unit-tested without a mailbox."""

from __future__ import annotations

import re
from enum import StrEnum

from dealpilot.inbox.message import InboxMessage

# Every Message-ID we generate looks like <dp.{deal}.{step}.{hex}@{brand domain}>.
OWN_MESSAGE_ID = re.compile(r"^<dp\.[^@<>\s]+@[^@<>\s]+>$", re.IGNORECASE)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"\b(?:undeliver(?:able|ed)|delivery status notification|mail delivery (?:failed|failure|"
    r"subsystem)|returned mail|failure notice|delivery (?:has )?failed)",
    re.IGNORECASE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office)\b",
    re.IGNORECASE,
)
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


class Kind(StrEnum):
    own = "own"  # our own sent mail (a copy in the mailbox, or a loop): ignored
    bounce = "bounce"  # a delivery failure report: a bounce event for the original
    complaint = "complaint"  # a feedback-loop report (ARF): the recipient marked us as spam
    auto_reply = "auto_reply"  # out of office and friends: delivered; the deal pauses
    automated = "automated"  # newsletters, notifications: not a reply, skipped
    reply = "reply"  # a person wrote back


def kind_of(msg: InboxMessage, own_addresses: frozenset[str]) -> Kind:
    if msg.from_email in own_addresses or (
        msg.message_id is not None and OWN_MESSAGE_ID.match(msg.message_id)
    ):
        return Kind.own
    if is_complaint(msg):
        return Kind.complaint
    if is_bounce(msg):
        return Kind.bounce
    if is_auto_reply(msg):
        return Kind.auto_reply
    if is_automated(msg):
        # Automated mail that answers one of ours (a ticket system's acknowledgement, a
        # "Precedence: bulk" out-of-office) is an auto-reply; anything else is not about a deal.
        return Kind.auto_reply if msg.in_reply_to or msg.references else Kind.automated
    return Kind.reply


def is_complaint(msg: InboxMessage) -> bool:
    """An ARF report, except one saying the mail was *not* spam."""
    return msg.feedback is not None and msg.feedback[0] != "not-spam"


def is_bounce(msg: InboxMessage) -> bool:
    if msg.dsn is not None:
        return True
    return bool(_BOUNCE_SENDER.match(msg.from_email) and _BOUNCE_SUBJECT.search(msg.subject))


def is_auto_reply(msg: InboxMessage) -> bool:
    """RFC 3834's Auto-Submitted: auto-replied, the common X-Autoreply/X-Autorespond markers,
    Precedence: auto_reply, or an "Out of Office"/"Automatic reply" subject."""
    if msg.header("auto-submitted").strip().lower().startswith("auto-replied"):
        return True
    if msg.header("x-autoreply") or msg.header("x-autorespond"):
        return True
    if msg.header("precedence").strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_REPLY_SUBJECT.search(msg.subject))


def is_automated(msg: InboxMessage) -> bool:
    submitted = msg.header("auto-submitted").strip().lower()
    if submitted and submitted != "no":
        return True
    return msg.header("precedence").strip().lower() in _AUTO_PRECEDENCE


def auto_reply_subject(subject: str) -> str:
    """The subject a classifier sees for an auto-reply: headers said it was automatic, so the
    subject says so too (the original is kept in the event's payload)."""
    if _AUTO_REPLY_SUBJECT.search(subject):
        return subject
    return f"Automatic reply: {subject}".strip()


def is_hard_bounce(status: str) -> bool:
    """RFC 3463 class: 5.x.x permanent, 4.x.x transient. No status: treat as permanent."""
    return not status.strip().startswith("4")
