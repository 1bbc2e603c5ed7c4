"""Revenue: for the deals created in the date range, the open pipeline's value per stage,
the forecast (each open deal's value × its stage's probability of winning), the won value;
and what the period cost per pipeline: AI spend (the decision log's tokens at the model's
price) and emails sent, per won deal (ROI).

A stage's probability is `PipelineStage.probability`, or when unset the default for its kind
(DEFAULT_PROBABILITY). A deal without a value counts 0 (`deals_without_value` says how many)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session, col

from dealpilot.analytics.common import Applied
from dealpilot.analytics.filters import Filters, pipelines
from models import AISpendDaily, DealDaily, DealStatus, EmailDaily, PipelineStage, StageKind

# What a stage's deals are worth when nobody set its probability.
DEFAULT_PROBABILITY: dict[StageKind, Decimal] = {
    StageKind.entry: Decimal("0.050"),
    StageKind.sequence: Decimal("0.100"),
    StageKind.reply: Decimal("0.400"),
    StageKind.manual: Decimal("0.600"),
    StageKind.won: Decimal("1.000"),
    StageKind.lost: Decimal("0.000"),
}
CENTS = Decimal("0.01")
OPEN = (DealStatus.active, DealStatus.paused)
Pricing = Callable[[str, int, int], float | None]


def probability(stage: PipelineStage) -> Decimal:
    if stage.probability is not None:
        return Decimal(stage.probability)
    return DEFAULT_PROBABILITY[StageKind(stage.kind)]


class StageValue(BaseModel):
    stage_id: int
    name: str
    kind: StageKind
    probability: Decimal
    probability_set: bool  # False: the kind's default
    open_deals: int
    open_value: Decimal
    forecast: Decimal  # open_value × probability


class PipelineRevenue(BaseModel):
    pipeline_id: int
    pipeline_name: str
    brand_id: int
    default_deal_value: Decimal | None
    deals: int
    deals_without_value: int
    open_deals: int
    open_value: Decimal
    forecast: Decimal
    won_deals: int
    won_value: Decimal
    lost_deals: int
    ai_calls: int
    ai_prompt_tokens: int
    ai_completion_tokens: int
    ai_cost_usd: float
    unpriced_models: list[str]  # their tokens cost 0 here (set AI_PRICES)
    emails_sent: int
    ai_cost_per_won_deal: float | None
    emails_per_won_deal: float | None
    won_value_per_ai_usd: float | None
    stages: list[StageValue]


class Revenue(BaseModel):
    filters: Applied
    pipelines: list[PipelineRevenue]
    open_value: Decimal
    forecast: Decimal
    won_value: Decimal
    ai_cost_usd: float
    emails_sent: int


def revenue(session: Session, filters: Filters, price: Pricing) -> Revenue:
    rows = pipelines(session, filters)
    ids = [p.id for p in rows]
    stage_rows: dict[int, list[PipelineStage]] = defaultdict(list)
    values: dict[tuple[int, str], tuple[int, int, Decimal]] = {}
    spend: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
    sent: dict[int, int] = {}
    if ids:
        for (s,) in session.execute(
            select(PipelineStage)
            .where(col(PipelineStage.pipeline_id).in_(ids))
            .order_by(col(PipelineStage.pipeline_id), col(PipelineStage.order))
        ).all():
            stage_rows[s.pipeline_id].append(s)
        # From the daily rollups (migration 0016), not the deals and decisions themselves.
        for sid, status, n, with_value, cents in session.execute(
            select(
                col(DealDaily.stage_id),
                col(DealDaily.status),
                func.sum(col(DealDaily.deals)),
                func.sum(col(DealDaily.valued)),
                func.sum(col(DealDaily.value_cents)),
            )
            .where(
                col(DealDaily.pipeline_id).in_(ids),
                col(DealDaily.day) >= filters.start,
                col(DealDaily.day) <= filters.end,
            )
            .group_by(col(DealDaily.stage_id), col(DealDaily.status))
        ).all():
            values[(sid, status)] = (int(n), int(with_value), Decimal(int(cents)) / 100)
        for pid, model, calls, prompt, completion in session.execute(
            select(
                col(AISpendDaily.pipeline_id),
                col(AISpendDaily.model),
                func.sum(col(AISpendDaily.calls)),
                func.sum(col(AISpendDaily.prompt_tokens)),
                func.sum(col(AISpendDaily.completion_tokens)),
            )
            .where(
                col(AISpendDaily.pipeline_id).in_(ids),
                col(AISpendDaily.brand_id).in_(filters.brand_ids),
                col(AISpendDaily.day) >= filters.start,
                col(AISpendDaily.day) <= filters.end,
            )
            .group_by(col(AISpendDaily.pipeline_id), col(AISpendDaily.model))
        ).all():
            if calls:
                spend[pid].append((model, int(calls), int(prompt or 0), int(completion or 0)))
        sent = {
            pid: int(n)
            for pid, n in session.execute(
                select(col(EmailDaily.pipeline_id), func.sum(col(EmailDaily.sent)))
                .where(
                    col(EmailDaily.pipeline_id).in_(ids),
                    col(EmailDaily.brand_id).in_(filters.brand_ids),
                    col(EmailDaily.day) >= filters.start,
                    col(EmailDaily.day) <= filters.end,
                )
                .group_by(col(EmailDaily.pipeline_id))
            ).all()
        }

    result = []
    for p in rows:
        assert p.id is not None
        stages, deals, without, won, won_value, lost = [], 0, 0, 0, Decimal(0), 0
        for s in stage_rows[p.id]:
            sid = s.id or 0
            open_n, open_value = 0, Decimal(0)
            for status in DealStatus:
                n, with_value, total = values.get((sid, status), (0, 0, Decimal(0)))
                deals, without = deals + n, without + n - with_value
                if status in OPEN:
                    open_n, open_value = open_n + n, open_value + total
                elif status == DealStatus.won:
                    won, won_value = won + n, won_value + total
                else:
                    lost += n
            chance = probability(s)
            stages.append(
                StageValue(
                    stage_id=sid,
                    name=s.name,
                    kind=s.kind,
                    probability=chance,
                    probability_set=s.probability is not None,
                    open_deals=open_n,
                    open_value=open_value.quantize(CENTS),
                    forecast=(open_value * chance).quantize(CENTS),
                )
            )
        cost, unpriced = 0.0, []
        for model, _calls, prompt, completion in spend[p.id]:
            if not prompt and not completion:
                continue  # the rules' own decisions ("rules"): no tokens, no cost
            usd = price(model, prompt, completion)
            if usd is None:
                unpriced.append(model)
            else:
                cost += usd
        cost = round(cost, 6)
        emails = sent.get(p.id, 0)
        result.append(
            PipelineRevenue(
                pipeline_id=p.id,
                pipeline_name=p.name,
                brand_id=p.brand_id,
                default_deal_value=p.default_deal_value,
                deals=deals,
                deals_without_value=without,
                open_deals=sum(s.open_deals for s in stages),
                open_value=sum((s.open_value for s in stages), Decimal(0)).quantize(CENTS),
                forecast=sum((s.forecast for s in stages), Decimal(0)).quantize(CENTS),
                won_deals=won,
                won_value=won_value.quantize(CENTS),
                lost_deals=lost,
                ai_calls=sum(c for _m, c, _p, _c in spend[p.id]),
                ai_prompt_tokens=sum(x for _m, _c, x, _o in spend[p.id]),
                ai_completion_tokens=sum(x for _m, _c, _p, x in spend[p.id]),
                ai_cost_usd=cost,
                unpriced_models=sorted(unpriced),
                emails_sent=emails,
                ai_cost_per_won_deal=round(cost / won, 6) if won else None,
                emails_per_won_deal=round(emails / won, 2) if won else None,
                won_value_per_ai_usd=round(float(won_value) / cost, 2) if cost else None,
                stages=stages,
            )
        )
    return Revenue(
        filters=Applied.of(filters),
        pipelines=result,
        open_value=sum((r.open_value for r in result), Decimal(0)).quantize(CENTS),
        forecast=sum((r.forecast for r in result), Decimal(0)).quantize(CENTS),
        won_value=sum((r.won_value for r in result), Decimal(0)).quantize(CENTS),
        ai_cost_usd=round(sum(r.ai_cost_usd for r in result), 6),
        emails_sent=sum(r.emails_sent for r in result),
    )
