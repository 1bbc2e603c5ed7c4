"""A stage's email template edited by a person: its text (the edited copy on the stage, else
its file under templates/emails/), a preview as a chosen recipient would receive it, and
saving it after the checks a send makes (the same sandbox, StrictUndefined, the brand's
layouts). Saved text is used by every later send of the stage instead of the file; saving
the file's own text, or nothing, goes back to the file."""

from __future__ import annotations

from sqlmodel import Session, select

from dealpilot.composer import rules
from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.deals.lookup import get_or_404
from dealpilot.rendering.context import BrandInfo, ContactInfo, EmailContext
from dealpilot.rendering.renderer import EmailRenderer, RenderedEmail, TemplateRenderError
from models import Brand, Contact, Pipeline, PipelineStage

MAX_TEMPLATE = 100_000
PREVIEW_UNSUBSCRIBE_PATH = "/api/crm/unsubscribe/preview"


def stage_brand(session: Session, stage: PipelineStage) -> Brand:
    pipeline = get_or_404(session, Pipeline, stage.pipeline_id, what="Pipeline")
    return get_or_404(session, Brand, pipeline.brand_id, what="Brand")


def template_source(renderer: EmailRenderer, stage: PipelineStage) -> str:
    if stage.template_body:
        return stage.template_body
    return renderer.template_source(stage.template_key) if stage.template_key else ""


def recipient_context(
    session: Session, brand: Brand, email: str = "", *, base_url: str = ""
) -> EmailContext:
    """The context of the brand's contact with `email` (what that person would receive), or
    of the sample contact when no address is given. A stranger's address is a 422."""
    unsubscribe = base_url.rstrip("/") + PREVIEW_UNSUBSCRIBE_PATH
    info = BrandInfo.from_row(brand)
    if not email.strip():
        return rules.sample_context(info, unsubscribe_url=unsubscribe)
    row = session.exec(
        select(Contact).where(Contact.brand_id == brand.id, Contact.email == email.strip().lower())
    ).first()
    if row is None:
        raise Unprocessable(
            f"{email.strip()!r} is not a contact of {brand.name}",
            code="unknown_contact",
            details=[ErrorDetail(field="to", problem="not a contact of this brand")],
        )
    return EmailContext(brand=info, contact=ContactInfo.from_row(row), unsubscribe_url=unsubscribe)


def preview(
    renderer: EmailRenderer, stage: PipelineStage, ctx: EmailContext, body: str, subject: str
) -> RenderedEmail:
    """`body` and `subject` rendered for `ctx` as a send would; a mistake is a 422
    `template_error` naming the field."""
    if len(body) > MAX_TEMPLATE:
        raise _refused("body", f"the template is longer than {MAX_TEMPLATE} characters")
    try:
        renderer.render_subject(subject or stage.name, ctx)
    except TemplateRenderError as exc:
        raise _refused("subject", str(exc)) from exc
    if not body.strip():
        raise _refused("body", "the template is empty")
    try:
        return renderer.render_edited_stage(body, subject or stage.name, ctx)
    except TemplateRenderError as exc:
        raise _refused("body", str(exc)) from exc


def _refused(field: str, problem: str) -> Unprocessable:
    return Unprocessable(
        f"The {field} is not a valid template: {problem}",
        code="template_error",
        details=[ErrorDetail(field=field, problem=problem)],
    )


def save_template(
    session: Session, renderer: EmailRenderer, stage_id: int, body: str, *, base_url: str = ""
) -> PipelineStage:
    """Stores `body` as the stage's template once it renders for the sample contact (both
    subjects too); the file's own text, or an empty body, resets the stage to its file."""
    stage = get_or_404(session, PipelineStage, stage_id, what="Stage")
    text = body.replace("\r\n", "\n")
    from_file = renderer.template_source(stage.template_key) if stage.template_key else ""
    if not text.strip() or text.strip() == from_file.strip():
        stage.template_body = None
    else:
        ctx = recipient_context(session, stage_brand(session, stage), base_url=base_url)
        for subject in {stage.subject or "", stage.subject_variant_b or ""}:
            preview(renderer, stage, ctx, text, subject)
        stage.template_body = text
    session.add(stage)
    session.flush()
    return stage
