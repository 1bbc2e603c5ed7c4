"""What a reply says and how it was sent: its own text (no HTML, no quoted history), and the
signals mail software leaves (RFC 3834 auto-reply headers, DSNs, ARF complaint reports)."""

from __future__ import annotations

import html
import re

from dealpilot.ai.schemas import ReplyInput

# Where quoted history starts: "On Tue, 3 Mar 2026, Priya <p@x> wrote:" (often wrapped over
# two lines), Outlook's header block, a forward separator.
_HISTORY = re.compile(
    r"^\s*(?:On\b.{0,200}?\bwrote:|-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}|_{10,}"
    r"|From:\s.+\n\s*(?:Sent|Date):)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"<\s*(?:br\s*/?|/p|/div|/li|/tr|/h\d)\s*>", re.IGNORECASE)
_DROPPED = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_LOOKS_HTML = re.compile(r"<\s*(?:html|body|div|p|br|span|table|b|strong)\b", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)

_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_BOUNCE_SENDER = re.compile(r"(?:^|<|\s)(?:mailer-daemon|postmaster)@", re.IGNORECASE)


def html_to_text(text: str) -> str:
    """HTML-only mail as plain text; plain text is returned unchanged."""
    if not _LOOKS_HTML.search(text):
        return text
    text = _DROPPED.sub(" ", text)
    text = _BLOCK_END.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def strip_quoted(text: str) -> str:
    """The new part of a reply: no quoted history, no '>' lines."""
    m = _HISTORY.search(text)
    if m is not None:
        text = text[: m.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def own_text(reply: ReplyInput) -> str:
    """What the sender wrote; someone who typed below a forward's header wrote nothing
    above it, so then the whole text is theirs."""
    text = html_to_text(reply.text)
    return strip_quoted(text) or text.strip()


def header(reply: ReplyInput, name: str) -> str:
    wanted = name.lower()
    for key, value in reply.headers.items():
        if key.lower() == wanted:
            return value.strip()
    return ""


def is_automatic(reply: ReplyInput) -> bool:
    """RFC 3834 `Auto-Submitted` other than "no", the common `X-Autoreply`/`X-Autorespond`
    markers, and `Precedence: bulk|junk|list|auto_reply`."""
    auto = header(reply, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if header(reply, "X-Autoreply") or header(reply, "X-Autorespond"):
        return True
    return header(reply, "Precedence").lower() in _AUTO_PRECEDENCE


def _report_type(reply: ReplyInput) -> str:
    m = re.search(r"report-type=\"?([\w-]+)", header(reply, "Content-Type"), re.IGNORECASE)
    return m.group(1).lower() if m else ""


def is_delivery_report(reply: ReplyInput) -> bool:
    """A DSN (RFC 3464) by its content type or the sender mail systems use for bounces."""
    return _report_type(reply) == "delivery-status" or bool(
        _BOUNCE_SENDER.search(reply.from_email or "")
    )


def is_feedback_report(reply: ReplyInput) -> bool:
    """An ARF (RFC 5965) abuse report: a recipient marked our mail as spam."""
    return _report_type(reply) == "feedback-report" or bool(
        re.search(r"^Feedback-Type:\s*abuse", reply.text, re.IGNORECASE | re.MULTILINE)
    )


def addresses(text: str) -> list[str]:
    return [a.strip(".'").lower() for a in EMAIL.findall(text)]
