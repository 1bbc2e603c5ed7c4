"""Email rendering: brand + pipeline + stage templates, or an AI body in the brand layout.

Templates are user-editable, so they run in Jinja2's immutable sandbox with StrictUndefined:
a typo or a sandbox escape is a clear error, never a half-rendered email. Every field of the
context is always present (empty string when unknown) and `None` renders as "", so a sparse
contact falls back to the template's `or "..."` defaults instead of printing "None".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

if TYPE_CHECKING:
    from models import BacklinkOpportunity, Brand, Contact

EMAIL_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "emails"
DEFAULT_LAYOUT = "_default/_layout.html"
AI_BODY_TEMPLATE = "_ai_body.html"

# Segments starting with "_" are layouts and partials, never a stage's template.
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


class TemplateRenderError(Exception):
    """A template is missing, malformed, or refers to data the context does not have."""


class UnknownTemplateError(TemplateRenderError):
    pass


class UnsafeTemplateError(TemplateRenderError):
    """The template tried to reach outside the sandbox (dunder attributes, internals)."""


# --- context -------------------------------------------------------------------------------

_ROLE_MAILBOXES = frozenset(
    """info sales admin administrator contact contactus hello hi hey support help enquiries
    enquiry inquiries inquiry office team mail email accounts account accounting billing
    finance marketing noreply donotreply reply reception frontdesk bookings booking book
    service services webmaster web media press pr careers jobs hr recruitment events
    realestate rentals rental property properties leasing director manager owner ceo founder
    general orders order shop store newsletter news feedback partners partnerships hosting
    it tech dev legal privacy compliance operations ops studio agency""".split()
)
_HONORIFICS = frozenset("mr mrs ms miss mx dr prof sir madam dame shri smt sri".split())
_COMPANY_WORDS = frozenset(
    """pty ltd limited inc llc co corp company group realty solutions services team
    consulting studio agency holdings enterprises trust partners""".split()
)
# Two leading consonants read like a name ("Priya", "Chris") only for these onsets;
# otherwise a run like "jsmith" is an initial glued to a surname.
_ONSETS = frozenset(
    """bh bl br ch cl cr dh dr fl fr gh gl gr kh kr ph pl pr sh sk sl sm sn sp st sw th tr
    wh""".split()
)
_VOWELS = frozenset("aeiouy")
_NAME_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def _tidy_case(word: str) -> str:
    if word.islower() or word.isupper():
        return "-".join(part.capitalize() for part in word.split("-"))
    return word


def first_name_from(name: str, email: str) -> str:
    """A first name fit for "Hi {name}", or "" when none can be told with confidence.

    "Priya Sharma" -> "Priya"; "SHARMA, Priya" -> "Priya"; "priya.sharma@x" -> "Priya";
    "info@x" / "sales@x" / "jsmith@x" -> "".
    """
    cleaned = re.sub(r"[\"()<>]", " ", name or "").strip()
    if cleaned and "@" not in cleaned:
        if "," in cleaned:  # "Surname, First"
            cleaned = cleaned.split(",", 1)[1].strip() or cleaned.split(",", 1)[0]
        words = [w.strip("'.") for w in re.split(r"\s+", cleaned) if w.strip("'.")]
        if not any(w.lower().strip(".") in _COMPANY_WORDS for w in words):
            words = [w for w in words if w.lower().strip(".") not in _HONORIFICS]
            if words and len(words[0]) > 1 and _NAME_WORD_RE.fullmatch(words[0]):
                return _tidy_case(words[0])
    local, _, domain = (email or "").partition("@")
    local = local.split("+", 1)[0].lower()
    tokens = [t for t in re.split(r"[._\-]+", local) if t]
    if not tokens:
        return ""
    first = re.sub(r"\d+$", "", tokens[0])
    if not first.isalpha() or len(first) < 2 or first in _ROLE_MAILBOXES:
        return ""
    domain_label = domain.lower().split(".", 1)[0]
    if first == domain_label:
        return ""
    if len(tokens) == 1:
        if not 3 <= len(first) <= 12 or not _VOWELS.intersection(first):
            return ""
        if first[0] not in _VOWELS and first[1] not in _VOWELS and first[:2] not in _ONSETS:
            return ""
    return first.capitalize()


@dataclass
class BrandInfo:
    slug: str
    name: str
    domain: str = ""
    website_url: str = ""
    postal_address: str = ""
    from_email: str = ""
    from_name: str = ""

    @classmethod
    def from_row(cls, brand: Brand) -> BrandInfo:
        return cls(
            slug=brand.slug,
            name=brand.name,
            domain=brand.domain,
            website_url=brand.website_url or f"https://{brand.domain}",
            postal_address=brand.postal_address,
            from_email=brand.from_email,
            from_name=brand.from_name,
        )


@dataclass
class ContactInfo:
    email: str
    name: str = ""
    first_name: str = ""  # derived from name/email when left empty
    company: str = ""
    website: str = ""

    def __post_init__(self) -> None:
        if not self.first_name:
            self.first_name = first_name_from(self.name, self.email)

    @classmethod
    def from_row(cls, contact: Contact) -> ContactInfo:
        return cls(
            email=contact.email,
            name=contact.name,
            company=contact.company,
            website=contact.website,
        )


@dataclass
class OpportunityInfo:
    target_url: str = ""
    target_domain: str = ""
    our_content_url: str = ""
    anchor_text_suggestion: str = ""
    outreach_angle: str = ""

    @classmethod
    def from_row(cls, opp: BacklinkOpportunity) -> OpportunityInfo:
        return cls(
            target_url=opp.target_url,
            target_domain=opp.target_domain,
            our_content_url=opp.our_content_url,
            anchor_text_suggestion=opp.anchor_text_suggestion,
            outreach_angle=opp.outreach_angle,
        )


@dataclass
class EmailContext:
    """Everything a template may use. Plain data: safe to pass through Temporal."""

    brand: BrandInfo
    contact: ContactInfo
    unsubscribe_url: str
    sender_name: str = ""  # defaults to the brand's from_name
    salutation: str = ""  # defaults to "Hi {first_name}" or "Hi there"
    tracking_pixel: str = ""  # trusted markup built by the tracking code, or ""
    opportunity: OpportunityInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def template_vars(self) -> dict[str, Any]:
        first = self.contact.first_name
        salutation = self.salutation.strip().rstrip(",") or (f"Hi {first}" if first else "Hi there")
        return {
            "brand": self.brand,
            "contact": self.contact,
            "opportunity": self.opportunity or OpportunityInfo(),
            "sender_name": self.sender_name or self._default_sender(),
            "salutation": salutation,
            "unsubscribe_url": self.unsubscribe_url,
            "tracking_pixel": Markup(self.tracking_pixel),
            "extra": dict(self.extra),
        }

    def _default_sender(self) -> str:
        from_name = self.brand.from_name.strip()
        if from_name and from_name.lower() != self.brand.name.lower():
            return from_name
        return f"The {self.brand.name} team"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


# --- HTML to plain text ---------------------------------------------------------------------

_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SKIP = frozenset("head style script title template".split())
_BLOCK = frozenset(
    "p div table tr td th h1 h2 h3 h4 h5 h6 ul ol blockquote section header footer".split()
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._open: list[tuple[str, bool, str | None]] = []  # (tag, hidden, href)
        self._hidden = 0
        self._link_starts: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if not self._hidden:
                self.parts.append("\n" if tag == "br" else "\n\n" if tag == "hr" else "")
            return
        attr = dict(attrs)
        style = (attr.get("style") or "").replace(" ", "").lower()
        hidden = tag in _SKIP or "display:none" in style
        href = attr.get("href") if tag == "a" else None
        self._open.append((tag, hidden, href))
        if hidden:
            self._hidden += 1
        elif not self._hidden:
            if tag in _BLOCK:
                self.parts.append("\n\n")
            if tag == "li":
                self.parts.append("\n- ")
            if tag == "a":
                self._link_starts.append(len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                break
        else:
            return
        for name, hidden, href in reversed(self._open[i:]):
            if hidden:
                self._hidden -= 1
            elif not self._hidden:
                if name == "a":
                    self._close_link(href)
                elif name in _BLOCK:
                    self.parts.append("\n\n")
        del self._open[i:]

    def _close_link(self, href: str | None) -> None:
        start = self._link_starts.pop() if self._link_starts else len(self.parts)
        label = " ".join("".join(self.parts[start:]).split())
        url = (href or "").strip()
        if url.lower().startswith("mailto:"):
            url = url[7:]
        if url and url not in label:
            self.parts.append(f" ({url})" if label else url)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts)
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """A readable plain-text alternative: paragraphs, links as "text (url)", no tags."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


_BLOCK_TAG_RE = re.compile(r"<(p|br|div|li|table|h[1-6])\b", re.IGNORECASE)
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


def _linkify(escaped: str) -> str:
    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?)":
            trail = url[-1] + trail
            url = url[:-1]
        return f'<a href="{url}">{url}</a>{trail}'

    return _URL_RE.sub(link, escaped)


def text_to_html_paragraphs(body: str) -> Markup:
    """Untrusted text (or HTML, reduced to text first) as escaped paragraphs."""
    body = body.replace("\r\n", "\n")
    if "<" in body:
        # Plain text with stray tags keeps its line breaks; real HTML brings its own.
        if not _BLOCK_TAG_RE.search(body):
            body = body.replace("\n", "<br>")
        text = html_to_text(body)
    else:
        text = body
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for para in paragraphs:
        lines = [_linkify(escape(line.strip(), quote=True)) for line in para.split("\n")]
        out.append('<p style="margin:0 0 16px;">' + "<br>\n".join(lines) + "</p>")
    return Markup("\n".join(out))


# --- renderer -------------------------------------------------------------------------------


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _one_line(subject: str) -> str:
    # Collapses CR/LF too: a subject is a header, and a newline in it is header injection.
    return " ".join(subject.split())


class EmailRenderer:
    """Renders `templates/emails/{brand}/{pipeline}/{stage}.html` in the brand's layout."""

    def __init__(self, templates_dir: Path = EMAIL_TEMPLATES_DIR) -> None:
        self.templates_dir = Path(templates_dir)
        common: dict[str, Any] = {
            "undefined": StrictUndefined,
            "finalize": _finalize,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": False,
        }
        self._html = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(self.templates_dir)), autoescape=True, **common
        )
        self._text = ImmutableSandboxedEnvironment(autoescape=False, **common)

    def has_template(self, template_key: str) -> bool:
        if not _KEY_RE.match(template_key):
            return False
        return (self.templates_dir / f"{template_key}.html").is_file()

    def render_stage(self, template_key: str, subject: str, ctx: EmailContext) -> RenderedEmail:
        if not self.has_template(template_key):
            raise UnknownTemplateError(f"no email template {template_key!r}")
        variables = ctx.template_vars()
        rendered_subject = self.render_subject(subject, ctx)
        html = self._render(
            lambda: self._html.get_template(f"{template_key}.html").render(
                **variables, subject=rendered_subject
            ),
            template_key,
        )
        return RenderedEmail(subject=rendered_subject, html=html, text=html_to_text(html))

    def render_ai_body(
        self, brand_slug: str, subject: str, body_html: str, ctx: EmailContext
    ) -> RenderedEmail:
        """Wraps an AI-written body in the brand layout. The body is untrusted: it is reduced
        to text, escaped and laid out as paragraphs; bare https links stay clickable."""
        layout = f"{brand_slug}/_layout.html"
        if not _KEY_RE.match(brand_slug) or not (self.templates_dir / layout).is_file():
            layout = DEFAULT_LAYOUT
        clean_subject = _one_line(subject)
        if not clean_subject:
            raise TemplateRenderError("the email subject is empty")
        variables = ctx.template_vars()
        html = self._render(
            lambda: self._html.get_template(AI_BODY_TEMPLATE).render(
                **variables,
                subject=clean_subject,
                layout=layout,
                body_html=text_to_html_paragraphs(body_html),
            ),
            f"ai body ({brand_slug})",
        )
        return RenderedEmail(subject=clean_subject, html=html, text=html_to_text(html))

    def render_subject(self, subject: str, ctx: EmailContext) -> str:
        source = subject
        result = _one_line(
            self._render(
                lambda: self._text.from_string(source).render(**ctx.template_vars()), "subject"
            )
        )
        if not result:
            raise TemplateRenderError("the email subject rendered empty")
        return result

    def render_string(
        self, source: str, ctx: EmailContext, *, html: bool = True, subject: str = ""
    ) -> str:
        """Renders a user-supplied template string (composer, edited stage copy) in the sandbox.
        HTML strings may `{% extends "{brand}/_layout.html" %}`."""
        env = self._html if html else self._text
        return self._render(
            lambda: env.from_string(source).render(**ctx.template_vars(), subject=subject),
            "template string",
        )

    @staticmethod
    def _render(render: Callable[[], str], what: str) -> str:
        try:
            return render()
        except SecurityError as exc:
            raise UnsafeTemplateError(f"{what}: unsafe template: {exc}") from exc
        except TemplateNotFound as exc:
            raise UnknownTemplateError(f"{what}: template not found: {exc}") from exc
        except TemplateError as exc:
            raise TemplateRenderError(f"{what}: {type(exc).__name__}: {exc}") from exc
