"""Editing the AI prompts stored as AIPromptTemplate rows (REST API and console): looked up by
id, then `prompt_rows.update_prompt` checks a new text on a sample input (422 when it does not
render), keeps it as the next version, and the next AI call of that type uses it."""

from __future__ import annotations

from sqlmodel import Session

from dealpilot.ai import prompt_rows
from dealpilot.deals.lookup import get_or_404
from models import AIPromptTemplate
from models.ai import AIPromptTemplateUpdate


def update_prompt(
    session: Session, prompt_id: int, data: AIPromptTemplateUpdate
) -> AIPromptTemplate:
    prompt = get_or_404(session, AIPromptTemplate, prompt_id, what="Prompt")
    return prompt_rows.update_prompt(session, prompt, data)
