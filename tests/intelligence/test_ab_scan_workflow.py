"""The A/B winner where it runs (issue 14, item 7): the daily engagement scan's workflow on the
time-skipping server decides the brand's tests; run again, it changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, select

from models import (
    AIDecisionLog,
    EmailLog,
    EmailStatus,
    Pipeline,
    PipelineStage,
    session_scope,
    utcnow,
)
from tests.workflows.conftest import Stack
from workflows.engagement_scan import (
    EngagementScanInput,
    EngagementScanReport,
    EngagementScanWorkflow,
)


async def _scan(stack: Stack) -> EngagementScanReport:
    report: EngagementScanReport = await stack.client.execute_workflow(
        EngagementScanWorkflow.run,
        EngagementScanInput(brand="codeteki"),
        id=f"engagement-scan-{uuid.uuid4().hex[:6]}",
        task_queue=stack.task_queue,
        result_type=EngagementScanReport,
    )
    return report


async def test_the_daily_scan_promotes_a_significant_winner_once(stack: Stack) -> None:
    with session_scope(stack.engine) as s:
        brand_id = stack.brand("codeteki").id
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand_id, Pipeline.slug == "sales")
        ).one()
        intro = s.exec(
            select(PipelineStage).where(
                PipelineStage.pipeline_id == pipeline.id, PipelineStage.slug == "intro_sent"
            )
        ).one()
        a, b = intro.subject, intro.subject_variant_b  # the seeded test
        assert a
        assert b
        intro.ab_min_sends = 30
        s.add(intro)
        for variant, replies in (("A", 1), ("B", 9)):  # 1/30 against 9/30: p = 0.0056
            s.add_all(
                EmailLog(
                    idempotency_key=f"scan-ab-{variant}-{i}",
                    brand_id=brand_id or 0,
                    stage_id=intro.id,
                    to_email=f"{variant}{i}@scan.example.com",
                    subject="x",
                    variant=variant,
                    status=EmailStatus.sent,
                    sent_at=utcnow() - timedelta(days=3),
                    replied=i < replies,
                )
                for i in range(30)
            )
        stage_id = intro.id
    first = await _scan(stack)
    assert first.ab_promoted == [stage_id]
    again = await _scan(stack)
    assert again.ab_promoted == []
    with Session(stack.engine) as s:
        stage = s.get(PipelineStage, stage_id)
        assert stage is not None
        assert (stage.subject, stage.subject_variant_b) == (b, None)
        [row] = s.exec(
            select(AIDecisionLog).where(AIDecisionLog.decision_type == "ab_winner")
        ).all()
    assert (row.meta["winner"], row.meta["retired_subject"]) == ("B", a)
    assert (row.meta["a"]["replies"], row.meta["b"]["replies"], row.meta["p_value"]) == (
        1,
        9,
        0.005584,
    )
