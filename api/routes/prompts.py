from __future__ import annotations

from sqlmodel import col, select

from api.deps import IdPath, SessionDep
from api.routing import CRMRouter
from dealpilot.ai import prompt_rows, prompt_store
from dealpilot.deals.lookup import get_or_404
from models import AIPromptTemplate, PromptType
from models.ai import (
    AIPromptTemplateCreate,
    AIPromptTemplatePublic,
    AIPromptTemplateUpdate,
    AIPromptVersionPublic,
)

router = CRMRouter(prefix="/prompts", tags=["prompts"])


@router.get("/", response_model=list[AIPromptTemplatePublic])
def list_prompts(
    session: SessionDep, prompt_type: PromptType | None = None, is_active: bool | None = None
) -> list[AIPromptTemplatePublic]:
    stmt = select(AIPromptTemplate).order_by(col(AIPromptTemplate.name))
    if prompt_type is not None:
        stmt = stmt.where(col(AIPromptTemplate.prompt_type) == prompt_type)
    if is_active is not None:
        stmt = stmt.where(col(AIPromptTemplate.is_active) == is_active)
    return [AIPromptTemplatePublic.model_validate(p) for p in session.exec(stmt).all()]


@router.get("/{prompt_id}/", response_model=AIPromptTemplatePublic)
def get_prompt(prompt_id: IdPath, session: SessionDep) -> AIPromptTemplatePublic:
    return AIPromptTemplatePublic.model_validate(
        get_or_404(session, AIPromptTemplate, prompt_id, what="Prompt")
    )


@router.post("/", response_model=AIPromptTemplatePublic, status_code=201)
def create_prompt(data: AIPromptTemplateCreate, session: SessionDep) -> AIPromptTemplatePublic:
    """A new prompt row: with `brand_id`, that brand's override of the shared prompt."""
    return AIPromptTemplatePublic.model_validate(prompt_rows.create_prompt(session, data))


@router.patch("/{prompt_id}/", response_model=AIPromptTemplatePublic)
def update_prompt(
    prompt_id: IdPath, data: AIPromptTemplateUpdate, session: SessionDep
) -> AIPromptTemplatePublic:
    """A new text is tried on a sample input first (422 when it does not render), becomes
    the next version, and is what the next AI call of that type uses."""
    return AIPromptTemplatePublic.model_validate(
        prompt_store.update_prompt(session, prompt_id, data)
    )


@router.get("/{prompt_id}/versions/", response_model=list[AIPromptVersionPublic])
def prompt_versions(prompt_id: IdPath, session: SessionDep) -> list[AIPromptVersionPublic]:
    get_or_404(session, AIPromptTemplate, prompt_id, what="Prompt")
    return [
        AIPromptVersionPublic.model_validate(v) for v in prompt_rows.versions(session, prompt_id)
    ]
