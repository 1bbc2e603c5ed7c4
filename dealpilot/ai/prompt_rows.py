"""Editable prompts: AIPromptTemplate rows checked on save, versioned, overridable per brand,
and read again for every AI call so the next call uses the text just saved.

Takes the caller's session and flushes; never commits."""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel import Session, col, select

from dealpilot.ai.errors import AIPromptError
from dealpilot.ai.prompts import PROMPT_INPUTS, render_prompt
from dealpilot.core.errors import Conflict, ErrorDetail, NotFound, Unprocessable
from dealpilot.deals.updates import sent_fields
from models import AIPromptTemplate, AIPromptVersion, Brand, utcnow
from models.ai import AIPromptTemplateCreate, AIPromptTemplateUpdate


def sample_input(prompt_type: str) -> BaseModel:
    """The call's input with its required fields filled (all text): what a prompt is tried on.
    Optional fields keep their defaults, so a prompt may use any field of the input."""
    model = PROMPT_INPUTS[prompt_type]
    return model.model_validate(
        {name: "example" for name, f in model.model_fields.items() if f.is_required()}
    )


def check_prompt_text(prompt_type: str, text: str) -> None:
    """Renders the text on a sample input: a syntax error, an unknown variable or a sandbox
    violation is refused when it is saved, not found by the next deal that needs it."""
    try:
        render_prompt(text, sample_input(prompt_type).model_dump(mode="json"))
    except AIPromptError as exc:
        raise Unprocessable(
            "The prompt does not render",
            details=[ErrorDetail(field="prompt_text", problem=str(exc))],
        ) from exc


def _keep_version(session: Session, prompt: AIPromptTemplate) -> None:
    assert prompt.id is not None
    session.add(
        AIPromptVersion(prompt_id=prompt.id, version=prompt.version, prompt_text=prompt.prompt_text)
    )


def create_prompt(session: Session, data: AIPromptTemplateCreate) -> AIPromptTemplate:
    check_prompt_text(data.prompt_type, data.prompt_text)
    brand_slug = "all"
    if data.brand_id is not None:
        brand = session.get(Brand, data.brand_id)
        if brand is None:
            raise NotFound(f"Brand {data.brand_id} not found")
        brand_slug = brand.slug
    name = data.name or f"{data.prompt_type}:{brand_slug}"
    if session.exec(select(AIPromptTemplate.id).where(col(AIPromptTemplate.name) == name)).first():
        raise Conflict(f"A prompt named {name!r} exists", code="duplicate_prompt")
    prompt = AIPromptTemplate(
        name=name,
        prompt_type=data.prompt_type,
        prompt_text=data.prompt_text,
        variables=list(PROMPT_INPUTS[data.prompt_type].model_fields),
        is_active=data.is_active,
        brand_id=data.brand_id,
    )
    session.add(prompt)
    session.flush()
    _keep_version(session, prompt)
    session.flush()
    return prompt


def update_prompt(
    session: Session, prompt: AIPromptTemplate, data: AIPromptTemplateUpdate
) -> AIPromptTemplate:
    changes = sent_fields(data)
    text = changes.get("prompt_text")
    if text is not None and text != prompt.prompt_text:
        check_prompt_text(prompt.prompt_type, text)
        prompt.prompt_text = text
        prompt.version += 1
        _keep_version(session, prompt)
    if "is_active" in changes:
        prompt.is_active = changes["is_active"]
    prompt.updated_at = utcnow()
    session.add(prompt)
    session.flush()
    return prompt


def versions(session: Session, prompt_id: int) -> list[AIPromptVersion]:
    return list(
        session.exec(
            select(AIPromptVersion)
            .where(col(AIPromptVersion.prompt_id) == prompt_id)
            .order_by(col(AIPromptVersion.version))
        ).all()
    )


def active_texts(session: Session, brand_id: int | None) -> dict[str, str]:
    """prompt type → the text to use: the brand's active override, else the shared active row
    (the most recently changed when there are several); types without a row use the shipped
    default (the engine's PromptBook)."""
    rows = session.exec(
        select(AIPromptTemplate)
        .where(col(AIPromptTemplate.is_active))
        .order_by(col(AIPromptTemplate.updated_at), col(AIPromptTemplate.id))
    ).all()
    shared: dict[str, str] = {}
    own: dict[str, str] = {}
    for row in rows:
        if row.brand_id is None:
            shared[str(row.prompt_type)] = row.prompt_text
        elif row.brand_id == brand_id:
            own[str(row.prompt_type)] = row.prompt_text
    return shared | own
