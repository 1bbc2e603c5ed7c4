"""Email rendering: brand + pipeline + stage templates, or an AI body in the brand layout.

Templates are user-editable, so they run in Jinja2's immutable sandbox with StrictUndefined:
a typo or a sandbox escape is a clear error, never a half-rendered email. `None` renders as "",
so a sparse contact falls back to the template's `or "..."` defaults instead of printing "None".

The context a template sees is in context.py (first names guessed in names.py), the HTML/text
conversions in text.py; their public names are importable from here too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dealpilot.core.errors import Unprocessable
from dealpilot.rendering.context import BrandInfo, ContactInfo, EmailContext, OpportunityInfo
from dealpilot.rendering.names import first_name_from
from dealpilot.rendering.text import html_to_text, text_to_html_paragraphs

__all__ = [
    "AI_BODY_TEMPLATE",
    "DEFAULT_LAYOUT",
    "EMAIL_TEMPLATES_DIR",
    "BrandInfo",
    "ContactInfo",
    "EmailContext",
    "EmailRenderer",
    "OpportunityInfo",
    "RenderedEmail",
    "TemplateRenderError",
    "UnknownTemplateError",
    "UnsafeTemplateError",
    "first_name_from",
    "html_to_text",
    "text_to_html_paragraphs",
]

EMAIL_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "emails"
DEFAULT_LAYOUT = "_default/_layout.html"
AI_BODY_TEMPLATE = "_ai_body.html"

# Segments starting with "_" are layouts and partials, never a stage's template.
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


class TemplateRenderError(Unprocessable):
    """A template is missing, malformed, or refers to data the context does not have.
    Retryable for activities: a person can mend the template and the next attempt renders."""

    code = "template_error"
    retryable = True


class UnknownTemplateError(TemplateRenderError):
    pass


class UnsafeTemplateError(TemplateRenderError):
    """The template tried to reach outside the sandbox (dunder attributes, internals)."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _one_line(subject: str) -> str:
    # Collapses CR/LF too: a subject is a header, and a newline in it is header injection.
    return " ".join(subject.split())


# Template strings (subjects, edited stages, composer bodies) kept compiled, per environment.
# Jinja caches the files its loader reads, never `from_string`: compiling a subject cost a send
# more than rendering it (`bench.deal_cycle`, profiled). A compiled template holds no render's
# variables and renders safely from several threads; a string that fails to compile is not kept.
COMPILED_STRINGS = 512


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
        self._html_string: Callable[[str], Template] = functools.lru_cache(COMPILED_STRINGS)(
            self._html.from_string
        )
        self._text_string: Callable[[str], Template] = functools.lru_cache(COMPILED_STRINGS)(
            self._text.from_string
        )

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

    def render_edited_stage(self, source: str, subject: str, ctx: EmailContext) -> RenderedEmail:
        """A stage's template as edited in the console (stored on the stage): the same
        sandbox, variables and layouts as the file it replaces."""
        variables = ctx.template_vars()
        rendered_subject = self.render_subject(subject, ctx)
        html = self._render(
            lambda: self._html_string(source).render(**variables, subject=rendered_subject),
            "edited stage template",
        )
        return RenderedEmail(subject=rendered_subject, html=html, text=html_to_text(html))

    def template_source(self, template_key: str) -> str:
        """The text of a stage's template file ("" when there is none)."""
        if not self.has_template(template_key):
            return ""
        return (self.templates_dir / f"{template_key}.html").read_text(encoding="utf-8")

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
            self._render(lambda: self._text_string(source).render(**ctx.template_vars()), "subject")
        )
        if not result:
            raise TemplateRenderError("the email subject rendered empty")
        return result

    def render_string(
        self, source: str, ctx: EmailContext, *, html: bool = True, subject: str = ""
    ) -> str:
        """Renders a user-supplied template string (composer, edited stage copy) in the sandbox.
        HTML strings may `{% extends "{brand}/_layout.html" %}`."""
        compiled = self._html_string if html else self._text_string
        return self._render(
            lambda: compiled(source).render(**ctx.template_vars(), subject=subject),
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
