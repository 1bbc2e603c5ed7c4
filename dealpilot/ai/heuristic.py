"""The offline engine: deterministic rules good enough to run the product without a key."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from dealpilot.ai.replies import classify
from dealpilot.ai.salutation import first_name_from_name, salutation
from dealpilot.ai.schemas import (
    AIResult,
    BacklinkPitch,
    BacklinkPitchInput,
    ComposedEmail,
    ComposeInput,
    DealAnalysis,
    DealAnalysisInput,
    LeadInput,
    LeadScore,
    ReplyClassification,
    ReplyInput,
    Salutation,
    SalutationInput,
)
from dealpilot.ai.writer import compose

T = TypeVar("T", bound=BaseModel)

FREE_MAIL = frozenset(
    "gmail.com yahoo.com hotmail.com outlook.com live.com icloud.com bigpond.com "
    "yahoo.com.au outlook.com.au proton.me protonmail.com aol.com".split()
)
DECISION_MAKERS = ("owner", "founder", "director", "ceo", "head", "manager", "principal", "partner")


def _timed(model: str, fn: Callable[[], T]) -> AIResult[T]:
    started = time.perf_counter()
    value = fn()
    return AIResult[T](
        value=value, model=model, latency_ms=int((time.perf_counter() - started) * 1000)
    )


def analyze(data: DealAnalysisInput) -> DealAnalysis:
    def decide(action: str, reasoning: str, **kw: object) -> DealAnalysis:
        return DealAnalysis.model_validate(
            {"action": action, "reasoning": reasoning, "wait_days": None, "approach_note": None}
            | kw
        )

    if data.replies > 0 or data.engagement_tier == "engaged":
        return decide("flag_for_review", "They replied: a person should answer, not the autopilot.")
    if data.stage_kind not in ("entry", "sequence"):
        return decide(
            "flag_for_review", f"Stage {data.stage_name} is handled by people, not the sequence."
        )
    if data.engagement_tier == "lurker" and not data.notes:
        # Once: after the change of approach is noted, the next email uses it.
        return decide(
            "change_approach",
            "They opened earlier emails but have gone quiet: the current angle is not landing.",
            approach_note=(
                "Shorter email, a different angle (a concrete result or example) and one "
                "easy yes/no question."
            ),
        )
    if data.engagement_tier == "lurker":
        reason = "They went quiet: send the next email with the new angle."
    elif data.engagement_tier == "hot":
        reason = "Recent opens or clicks with a high open rate: follow up while it is fresh."
    elif data.engagement_tier == "warm":
        reason = "Opened recently: continue the sequence."
    elif data.engagement_tier in ("cold", "ghost"):
        reason = "No opens yet: continue the sequence with a new subject line."
    else:
        reason = "Next step of the sequence is due."
    return decide("send_email", reason)


def score(data: LeadInput) -> LeadScore:
    points: list[tuple[int, str]] = [(20, "base")]
    domain = data.email.rsplit("@", 1)[-1].lower()
    if data.company:
        points.append((10, "company known"))
    if data.website:
        points.append((15, "has a website"))
    elif domain not in FREE_MAIL:
        points.append((8, "business email domain"))
    if first_name_from_name(data.name):
        points.append((5, "named contact"))
    title = (data.job_title or "").lower()
    if any(word in title for word in DECISION_MAKERS):
        points.append((10, f"decision maker ({data.job_title})"))
    if data.domain_authority is not None:
        da_points = min(20, max(0, data.domain_authority) // 4)
        points.append((da_points, f"domain authority {data.domain_authority}"))
    if data.replies:
        points.append((25, "has replied"))
    if data.emails_clicked:
        points.append((10, "clicked a link"))
    elif data.emails_opened:
        points.append((5, "opened an email"))  # opens are noisy: worth little on their own
    if data.engagement_tier == "ghost":
        points.append((-20, "3+ emails never opened"))
    elif data.engagement_tier == "cold":
        points.append((-10, "emails not opened"))
    total = max(0, min(100, sum(p for p, _ in points)))
    reasoning = "; ".join(f"{label} {p:+d}" for p, label in points) + f" = {total}"
    return LeadScore(score=total, reasoning=reasoning)


def pitch(data: BacklinkPitchInput) -> BacklinkPitch:
    title = data.our_content_title or "our guide"
    return BacklinkPitch(
        outreach_angle=(
            f"Resource addition: {title} complements the page on {data.target_domain} and "
            "gives its readers a deeper, up-to-date reference."
        ),
        anchor_text_suggestion=title,
        subject=f"A resource for your readers on {data.target_domain}"[:120],
        body_paragraphs=[
            f"I enjoyed your page at {data.target_url}, useful for anyone researching the topic.",
            f"We recently published {title} ({data.our_content_url}) at {data.brand_name}. "
            "It covers the topic in more depth and could be a helpful further-reading link "
            "for your readers.",
            "Would you consider adding it? Happy to return the favour by sharing your page "
            "with our audience.",
        ],
    )


class HeuristicEngine:
    """Deterministic and offline; token counts are zero (nothing was sent anywhere)."""

    model_name = "heuristic-v1"

    def with_prompts(self, texts: dict[str, str]) -> HeuristicEngine:
        return self  # rules, not prompts

    async def analyze_deal(self, data: DealAnalysisInput) -> AIResult[DealAnalysis]:
        return _timed(self.model_name, lambda: analyze(data))

    async def compose_email(self, data: ComposeInput) -> AIResult[ComposedEmail]:
        return _timed(self.model_name, lambda: compose(data))

    async def classify_reply(self, data: ReplyInput) -> AIResult[ReplyClassification]:
        return _timed(self.model_name, lambda: classify(data))

    async def score_lead(self, data: LeadInput) -> AIResult[LeadScore]:
        return _timed(self.model_name, lambda: score(data))

    async def generate_backlink_pitch(self, data: BacklinkPitchInput) -> AIResult[BacklinkPitch]:
        return _timed(self.model_name, lambda: pitch(data))

    async def smart_salutation(self, data: SalutationInput) -> AIResult[Salutation]:
        return _timed(self.model_name, lambda: salutation(data))
