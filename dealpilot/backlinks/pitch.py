"""AI pitch per backlink opportunity: an outreach angle and an anchor text suggestion.

The AI engine's `generate_backlink_pitch` (OpenAI, or the offline heuristic engine) writes
it from the opportunity, its brand, contact and what the research tool exported (page title,
existing anchor). The result is stored on the opportunity and the call is logged in
AIDecisionLog like every AI call (model, tokens, latency), in the same transaction.

Reading the opportunity and storing the pitch are two units of work run through the caller's
`Transact`: no transaction stays open while the AI writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from dealpilot.ai import AIEngine, AIError, AIResult, BacklinkPitch, BacklinkPitchInput
from dealpilot.ai.prompt_rows import active_texts
from dealpilot.core.errors import DealpilotError, ErrorDetail
from models import AIDecisionLog, BacklinkOpportunity, Brand, Contact
from models.uow import Transact

DECISION_TYPE = "generate_backlink_pitch"
# source_data keys (normalised export headers) that tell the AI what the page is about.
_CONTEXT_KEYS = (
    ("referring page title", "page title"),
    ("source title", "page title"),
    ("title", "page title"),
    ("anchor", "their current anchor"),
    ("anchor text", "their current anchor"),
)


class PitchFailed(DealpilotError):
    """The AI engine could not write the pitch (502 `ai_unavailable`); nothing was changed.
    `ai_error` names the engine's error class."""

    status_code = 502
    code = "ai_unavailable"

    def __init__(self, exc: AIError) -> None:
        self.ai_error = type(exc).__name__
        super().__init__(
            "The AI engine could not write the pitch; try again",
            details=[ErrorDetail(problem=self.ai_error)],
        )


@dataclass
class PitchOutcome:
    opportunity_id: int
    ok: bool
    outreach_angle: str = ""
    anchor_text_suggestion: str = ""
    error: str = ""


def _notes(opp: BacklinkOpportunity) -> str | None:
    data = {k.strip().lower(): v for k, v in (opp.source_data or {}).items()}
    seen: set[str] = set()
    parts = []
    for key, label in _CONTEXT_KEYS:
        value = (data.get(key) or "").strip()
        if value and label not in seen:
            seen.add(label)
            parts.append(f"{label}: {value[:200]}")
    return "; ".join(parts) or None


class Pitcher:
    def __init__(self, transact: Transact, ai: AIEngine) -> None:
        self._transact = transact
        self._ai = ai

    @staticmethod
    def _input(
        session: Session, opportunity_id: int
    ) -> tuple[BacklinkPitchInput, dict[str, str]] | None:
        """The pitch's input and the brand's active prompt rows."""
        opp = session.get(BacklinkOpportunity, opportunity_id)
        if opp is None:
            return None
        brand = session.get(Brand, opp.brand_id)
        assert brand is not None
        contact = session.get(Contact, opp.contact_id) if opp.contact_id else None
        content = opp.our_content_url or brand.website_url or f"https://{brand.domain}/"
        data = BacklinkPitchInput(
            brand_name=brand.name,
            target_url=opp.target_url,
            target_domain=opp.target_domain,
            domain_authority=opp.domain_authority,
            our_content_url=content,
            contact_name=(contact.name or None) if contact else None,
            notes=_notes(opp),
        )
        return data, active_texts(session, brand.id)

    @staticmethod
    def _store(session: Session, opportunity_id: int, result: AIResult[BacklinkPitch]) -> None:
        value = result.value
        opp = session.get(BacklinkOpportunity, opportunity_id)
        if opp is None:
            return  # deleted while the AI was writing
        opp.outreach_angle = value.outreach_angle
        opp.anchor_text_suggestion = value.anchor_text_suggestion[:300]
        session.add(opp)
        session.add(
            AIDecisionLog(
                brand_id=opp.brand_id,
                deal_id=opp.deal_id,
                decision_type=DECISION_TYPE,
                action_taken="pitched",
                reasoning=value.outreach_angle,
                meta={"opportunity_id": opportunity_id, **value.model_dump(mode="json")},
                model=result.model,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_ms=result.latency_ms,
            )
        )

    async def pitch(self, opportunity_id: int) -> PitchOutcome | None:
        """None when there is no such opportunity; an AI failure raises PitchFailed."""
        loaded = await self._transact(lambda session: self._input(session, opportunity_id))
        if loaded is None:
            return None
        data, prompts = loaded
        try:
            result = await self._ai.with_prompts(prompts).generate_backlink_pitch(data)
        except AIError as exc:
            raise PitchFailed(exc) from exc
        await self._transact(lambda session: self._store(session, opportunity_id, result))
        return PitchOutcome(
            opportunity_id=opportunity_id,
            ok=True,
            outreach_angle=result.value.outreach_angle,
            anchor_text_suggestion=result.value.anchor_text_suggestion[:300],
        )

    async def pitch_many(
        self, opportunity_ids: Sequence[int], *, concurrency: int = 4
    ) -> list[PitchOutcome]:
        """Each opportunity on its own: one failed AI call does not undo the others."""
        gate = asyncio.Semaphore(concurrency)

        async def one(opportunity_id: int) -> PitchOutcome:
            async with gate:
                try:
                    outcome = await self.pitch(opportunity_id)
                except PitchFailed as exc:
                    return PitchOutcome(opportunity_id, ok=False, error=exc.ai_error)
            if outcome is None:
                return PitchOutcome(opportunity_id, ok=False, error="no such opportunity")
            return outcome

        return list(await asyncio.gather(*(one(i) for i in dict.fromkeys(opportunity_ids))))
