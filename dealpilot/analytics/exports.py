"""Every analytics table as rows for CSV: one function per section, each giving its tables
by name (`?table=` picks one; the first is the default)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dealpilot.analytics.abtests import ABTests
from dealpilot.analytics.emails import EmailFigures, EmailPerformance
from dealpilot.analytics.engagement import Engagement
from dealpilot.analytics.funnel import Funnel
from dealpilot.analytics.revenue import Revenue
from dealpilot.core.errors import ErrorDetail, NotFound

FIGURES = list(EmailFigures.model_fields)


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]


def _funnel(r: Funnel) -> dict[str, Table]:
    head = ["brand", "pipeline_id", "pipeline"]
    return {
        "stages": Table(
            [
                *head,
                "stage_id",
                "stage",
                "order",
                "kind",
                "reached",
                "next_stage_id",
                "converted",
                "conversion_rate",
                "stays_ended",
                "median_hours",
            ],
            [
                [
                    p.brand_slug,
                    p.pipeline_id,
                    p.pipeline_name,
                    s.stage_id,
                    s.name,
                    s.order,
                    s.kind,
                    s.reached,
                    s.next_stage_id,
                    s.converted,
                    s.conversion_rate,
                    s.stays_ended,
                    s.median_hours,
                ]
                for p in r.pipelines
                for s in p.stages
            ],
        ),
        "outcomes": Table(
            [*head, "deals", "open", "won", "lost", "win_rate"],
            [
                [
                    p.brand_slug,
                    p.pipeline_id,
                    p.pipeline_name,
                    p.deals,
                    p.open,
                    p.won,
                    p.lost,
                    p.win_rate,
                ]
                for p in r.pipelines
            ],
        ),
        "lost_reasons": Table(
            [*head, "reason", "deals"],
            [
                [p.brand_slug, p.pipeline_id, p.pipeline_name, x.reason, x.deals]
                for p in r.pipelines
                for x in p.lost_reasons
            ],
        ),
    }


def _figures(rows: list[EmailFigures]) -> Table:
    return Table(FIGURES, [[getattr(f, c) for c in FIGURES] for f in rows])


def _emails(r: EmailPerformance) -> dict[str, Table]:
    return {
        "by_stage": _figures(r.by_stage),
        "by_brand": _figures(r.by_brand),
        "by_pipeline": _figures(r.by_pipeline),
        "by_template": _figures(r.by_template),
        "by_variant": _figures(r.by_variant),
        "by_day": _figures(r.by_day),
    }


def _ab(r: ABTests) -> dict[str, Table]:
    per = ["sent", "opened", "machine_opened", "clicked", "replied", "positive_replied"]
    cols = ["pipeline_id", "stage_id", "stage", "subject_a", "subject_b", "running"]
    cols += [f"{v}_{c}" for v in ("a", "b") for c in per]
    cols += [
        f"{m}_{c}" for m in ("replies", "clicks") for c in ("leader", "z", "p_value", "confidence")
    ]
    rows = []
    for t in r.tests:
        row: list[Any] = [
            t.pipeline_id,
            t.stage_id,
            t.stage_name,
            t.subject_a,
            t.subject_b,
            t.running,
        ]
        row += [getattr(v, c) for v in (t.a, t.b) for c in per]
        row += [
            getattr(s, c)
            for s in (t.replies, t.clicks)
            for c in ("leader", "z", "p_value", "confidence")
        ]
        rows.append(row)
    return {
        "tests": Table(cols, rows),
        "decided": Table(
            ["decided_at", "brand_id", "decision_type", "action_taken", "reasoning"],
            [
                [d.decided_at.isoformat(), d.brand_id, d.decision_type, d.action_taken, d.reasoning]
                for d in r.decided
            ],
        ),
    }


def _engagement(r: Engagement) -> dict[str, Table]:
    return {
        "tiers": Table(
            ["pipeline_id", "pipeline", "tier", "deals", "share"],
            [
                [p.pipeline_id, p.pipeline_name, t.tier, t.deals, t.share]
                for p in r.pipelines
                for t in p.tiers
            ],
        ),
        "decisions": Table(
            ["day", "ghost", "burnout", "change_approach"],
            [[d.day.isoformat(), d.ghost, d.burnout, d.change_approach] for d in r.decisions],
        ),
    }


PIPELINE_COLUMNS = [
    "pipeline_id",
    "pipeline_name",
    "brand_id",
    "default_deal_value",
    "deals",
    "deals_without_value",
    "open_deals",
    "open_value",
    "forecast",
    "won_deals",
    "won_value",
    "lost_deals",
    "ai_calls",
    "ai_prompt_tokens",
    "ai_completion_tokens",
    "ai_cost_usd",
    "emails_sent",
    "ai_cost_per_won_deal",
    "emails_per_won_deal",
    "won_value_per_ai_usd",
]


def _revenue(r: Revenue) -> dict[str, Table]:
    return {
        "pipelines": Table(
            PIPELINE_COLUMNS, [[getattr(p, c) for c in PIPELINE_COLUMNS] for p in r.pipelines]
        ),
        "stages": Table(
            [
                "pipeline_id",
                "pipeline",
                "stage_id",
                "stage",
                "kind",
                "probability",
                "probability_set",
                "open_deals",
                "open_value",
                "forecast",
            ],
            [
                [
                    p.pipeline_id,
                    p.pipeline_name,
                    s.stage_id,
                    s.name,
                    s.kind,
                    s.probability,
                    s.probability_set,
                    s.open_deals,
                    s.open_value,
                    s.forecast,
                ]
                for p in r.pipelines
                for s in p.stages
            ],
        ),
    }


SECTIONS: dict[type[BaseModel], Callable[[Any], dict[str, Table]]] = {
    Funnel: _funnel,
    EmailPerformance: _emails,
    ABTests: _ab,
    Engagement: _engagement,
    Revenue: _revenue,
}


def tables(result: BaseModel) -> dict[str, Table]:
    return SECTIONS[type(result)](result)


def pick(result: BaseModel, name: str | None) -> tuple[str, Table]:
    found = tables(result)
    if not name:
        first = next(iter(found))
        return first, found[first]
    if name not in found:
        raise NotFound(
            f"No table {name[:40]!r}; this section has {', '.join(found)}",
            code="unknown_table",
            details=[ErrorDetail(field="table", problem=f"one of {', '.join(found)}")],
        )
    return name, found[name]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet runs a cell starting with one of these as a formula: keep it text.
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
