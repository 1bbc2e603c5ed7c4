"""The composer's rules that need no database and no HTTP: the email types and tones it offers,
pasted recipient lists, the saved contact filter, scheduling in a time zone, and how a draft
is rendered for one recipient. Used by the API service, the CLI and the scheduled-drafts job.

A draft's body is plain text (paragraphs separated by blank lines) that may use the same
sandboxed template variables as stage templates: `{{ contact.first_name }}`,
`{{ contact.company or "your business" }}`, `{{ brand.name }}`, `{{ sender_name }}` ...
It is rendered per recipient and laid out in the brand's layout, which adds the greeting
("Hi Priya,"), the sign-off and the unsubscribe footer, so the body has neither (see
`dealpilot.rendering.stage_email.render_draft_email`, the one renderer of drafts: previews and
the deal's send both use it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator

from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.rendering.renderer import BrandInfo, ContactInfo, EmailContext
from models import ContactType
from models.brand import check_timezone
from models.contact import normalise_email

DEFAULT_TIMEZONE = "Australia/Sydney"
CONTACT_SOURCE = "composer"

# email_type -> what the AI is asked to write (ComposeInput.purpose).
EMAIL_TYPES: dict[str, str] = {
    "intro": "intro: a first, short introduction",
    "follow_up": "follow-up to an earlier conversation",
    "backlink_pitch": "backlink pitch: suggest a link to our content that helps their readers",
    "partnership": "partnership proposal",
    "announcement": "announcement of news or a launch",
}

# tone -> how the AI is asked to sound (ComposeInput.tone).
TONES: dict[str, str] = {
    "friendly": "friendly and warm",
    "professional": "professional and concise",
    "direct": "direct and to the point",
    "casual": "casual and relaxed",
    "formal": "formal and courteous",
    "enthusiastic": "upbeat and enthusiastic",
}

# The contact a draft is checked and previewed with when no real recipient is named.
SAMPLE_CONTACT = ContactInfo(
    email="alex.sample@example.com",
    name="Alex Sample",
    company="Sample Pty Ltd",
    website="https://sample.example.com",
)

_SPLIT_RE = re.compile(r"[,;\n\r\t]")


class ComposerError(Unprocessable):
    """A request the composer cannot carry out (422); `code` is stable, the message is for
    people, `field` names the input at fault."""

    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        details = [ErrorDetail(field=field, problem=message)] if field else None
        super().__init__(message, code=code, details=details)
        self.field = field


def check_email_type(value: str) -> str:
    value = value.strip().lower().replace("-", "_")
    if value not in EMAIL_TYPES:
        raise ValueError(f"unknown email type {value!r}; one of {', '.join(EMAIL_TYPES)}")
    return value


def check_tone(value: str) -> str:
    value = value.strip().lower()
    if value not in TONES:
        raise ValueError(f"unknown tone {value!r}; one of {', '.join(TONES)}")
    return value


# ---------------------------------------------------------------------- recipients
@dataclass(frozen=True)
class PastedAddress:
    raw: str
    email: str | None  # normalised; None when not a valid address
    name: str = ""
    error: str = ""


def _tokens(text: str) -> list[str]:
    """Splits on commas, semicolons and line breaks, except inside quotes or <...>, so
    `"Sharma, Priya" <priya@x.com>` stays one entry."""
    out: list[str] = []
    buf: list[str] = []
    quoted = angled = False
    for ch in text:
        if ch == '"' and not angled:
            quoted = not quoted
        elif ch == "<" and not quoted:
            angled = True
        elif ch == ">" and not quoted:
            angled = False
        if _SPLIT_RE.match(ch) and not quoted and not angled:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return [t.strip() for t in out if t.strip()]


def _split_name(token: str) -> tuple[str, str]:
    """("Priya Sharma", "priya@x.com") from `Priya Sharma <priya@x.com>`; ("", token) else."""
    match = re.fullmatch(r"(.*?)<\s*([^<>]*?)\s*>\s*", token)
    if match is None:
        return "", token.strip().strip("<>").strip()
    name = match.group(1).strip().strip('"').strip("'").strip()
    return " ".join(name.split()), match.group(2)


def parse_pasted(text: str) -> list[PastedAddress]:
    """Every entry of a pasted list, in order, valid or not (duplicates kept: the caller
    reports them)."""
    parsed = []
    for token in _tokens(text):
        name, address = _split_name(token)
        if address.lower().startswith("mailto:"):
            address = address[7:]
        try:
            parsed.append(PastedAddress(raw=token, email=normalise_email(address), name=name))
        except ValueError as exc:
            parsed.append(PastedAddress(raw=token, email=None, name=name, error=str(exc)))
    return parsed


def format_recipient(email: str, name: str = "") -> str:
    """How a recipient is kept in `EmailDraft.recipients`: `a@b` or `Name <a@b>`."""
    clean = " ".join(name.replace("<", "").replace(">", "").replace('"', "").split())
    return f"{clean} <{email}>" if clean else email


class RecipientFilter(BaseModel):
    """A saved selection of the brand's contacts, resolved when the draft is sent: contacts
    having every tag in `tags`, of `contact_type`, from `source`, matching `q` (name, email or
    company). At least one criterion."""

    tags: list[str] = Field(default_factory=list, max_length=20)
    contact_type: ContactType | None = None
    source: str | None = Field(default=None, max_length=100)
    q: str | None = Field(default=None, max_length=200)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in value if t.strip()))

    @model_validator(mode="after")
    def _some(self) -> RecipientFilter:
        if not (self.tags or self.contact_type or self.source or (self.q or "").strip()):
            raise ValueError("a filter needs at least one of tags, contact_type, source, q")
        return self


# ---------------------------------------------------------------------- scheduling
def to_utc(at: datetime, timezone: str) -> datetime:
    """The UTC instant of `at`: a naive `at` is wall-clock time in `timezone`, an aware one
    keeps its own offset. A wall-clock time the zone skips (the hour clocks go forward) is
    refused; one it repeats (clocks go back) is its first occurrence."""
    if check_timezone(timezone) is None:
        raise ComposerError("a time zone is required", code="invalid_timezone", field="timezone")
    if at.tzinfo is not None:
        return at.astimezone(UTC)
    zone = ZoneInfo(timezone)
    local = at.replace(tzinfo=zone, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != at:
        raise ComposerError(
            f"{at:%Y-%m-%d %H:%M} does not exist in {timezone} (the clocks skip it)",
            code="nonexistent_local_time",
            field="at",
        )
    return utc


def zone_name(value: str | None) -> str:
    name = (value or "").strip() or DEFAULT_TIMEZONE
    try:
        check_timezone(name)
    except ValueError as exc:
        raise ComposerError(str(exc), code="invalid_timezone", field="timezone") from exc
    return name


# ---------------------------------------------------------------------- rendering
def sample_context(brand: BrandInfo, *, unsubscribe_url: str) -> EmailContext:
    return EmailContext(brand=brand, contact=SAMPLE_CONTACT, unsubscribe_url=unsubscribe_url)
