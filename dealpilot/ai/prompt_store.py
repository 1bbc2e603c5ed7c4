"""Editing the AI prompts stored as AIPromptTemplate rows (REST API and console)."""

from __future__ import annotations

from sqlmodel import Session

from dealpilot.ai.errors import AIPromptError
from dealpilot.ai.prompts import check_prompt_text
from dealpilot.core.errors import Unprocessable
from dealpilot.deals.lookup import get_or_404
from dealpilot.deals.updates import apply_update
from models import AIPromptTemplate, utcnow
from models.ai import AIPromptTemplateUpdate


def update_prompt(
    session: Session, prompt_id: int, data: AIPromptTemplateUpdate, *, check: bool = False
) -> AIPromptTemplate:
    """The fields sent; with `check`, a text that is not a valid prompt is a 422
    `prompt_error` instead of a failed AI call later."""
    prompt = get_or_404(session, AIPromptTemplate, prompt_id, what="Prompt")
    if check and data.prompt_text is not None:
        try:
            check_prompt_text(data.prompt_text)
        except AIPromptError as exc:
            raise Unprocessable(f"The prompt is not valid: {exc}", code="prompt_error") from exc
    apply_update(prompt, data)
    prompt.updated_at = utcnow()
    session.add(prompt)
    session.flush()
    return prompt
