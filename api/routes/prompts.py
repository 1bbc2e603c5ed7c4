from __future__ import annotations

from sqlmodel import col, select

from api.deps import IdPath, SessionDep
from api.routing import CRMRouter
from dealpilot.ai import prompt_store
from dealpilot.deals.lookup import get_or_404
from models import AIPromptTemplate, PromptType
from models.ai import AIPromptTemplatePublic, AIPromptTemplateUpdate

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


@router.patch("/{prompt_id}/", response_model=AIPromptTemplatePublic)
def update_prompt(
    prompt_id: IdPath, data: AIPromptTemplateUpdate, session: SessionDep
) -> AIPromptTemplatePublic:
    return AIPromptTemplatePublic.model_validate(
        prompt_store.update_prompt(session, prompt_id, data)
    )
