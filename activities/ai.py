"""The AI activities: thin wrappers over `AIDecisions` (each call logged with its cost)."""

from __future__ import annotations

from temporalio import activity

from activities._clock import activity_now
from activities._liveness import activity_body
from dealpilot.ai import (
    BacklinkPitch,
    BacklinkPitchInput,
    ComposedEmail,
    ComposeInput,
    LeadInput,
    LeadScore,
    Salutation,
    SalutationInput,
)
from dealpilot.ai.calls import AIDecisions
from workflows.contracts import AnalyzeRequest, AnalyzeResult, ReplyRequest, ReplyVerdict


class AIActivities:
    def __init__(self, decisions: AIDecisions) -> None:
        self._decisions = decisions

    @activity.defn(name="analyze_deal")
    @activity_body
    async def analyze_deal(self, req: AnalyzeRequest) -> AnalyzeResult:
        return await self._decisions.analyze_deal(req)

    @activity.defn(name="classify_reply")
    @activity_body
    async def classify_reply(self, req: ReplyRequest) -> ReplyVerdict:
        return await self._decisions.classify_reply(req, now=activity_now())

    @activity.defn(name="compose_email")
    @activity_body
    async def compose_email(self, data: ComposeInput, deal_id: int | None = None) -> ComposedEmail:
        return await self._decisions.compose_email(data, deal_id)

    @activity.defn(name="score_lead")
    @activity_body
    async def score_lead(self, data: LeadInput) -> LeadScore:
        return await self._decisions.score_lead(data)

    @activity.defn(name="generate_backlink_pitch")
    @activity_body
    async def generate_backlink_pitch(self, data: BacklinkPitchInput) -> BacklinkPitch:
        return await self._decisions.generate_backlink_pitch(data)

    @activity.defn(name="smart_salutation")
    @activity_body
    async def smart_salutation(self, data: SalutationInput) -> Salutation:
        return await self._decisions.smart_salutation(data)
