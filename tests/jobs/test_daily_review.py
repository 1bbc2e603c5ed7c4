"""The daily review job, run once on the time-skipping server: it scores new contacts through
the AI engine, flags stuck deals, lists drafts waiting for review, and writes the summary that
GET /api/crm/stats/daily/ returns. Also the scheduled-drafts job."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from models import (
    AIDecisionLog,
    Contact,
    Deal,
    DraftKind,
    DraftStatus,
    EmailDraft,
    Pipeline,
    PipelineStage,
    session_scope,
    utcnow,
)
from tests.api_workflows.conftest import api_app, client_for
from tests.workflows.conftest import Stack
from workflows.jobs import (
    DailyReviewInput,
    DailyReviewResult,
    DailyReviewWorkflow,
    DueDraftsReport,
    JobInput,
    ScheduledDraftsWorkflow,
)

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(120)]


def _rows(stack: Stack) -> tuple[int, int]:
    """A new (unscored) contact, a deal stuck for 30 days, a draft waiting 3 days for review."""
    brand = stack.brand("codeteki")
    long_ago = utcnow() - timedelta(days=400)  # the test server's clock may have run ahead
    with session_scope(stack.engine) as s:
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "sales")
        ).one()
        stage = s.exec(
            select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id)
        ).first()
        assert stage is not None
        new = Contact(brand_id=brand.id or 0, email="new@lead.com.au", company="Lead Pty Ltd")
        stuck = Contact(brand_id=brand.id or 0, email="quiet@stuck.com.au", ai_score=40)
        s.add_all([new, stuck])
        s.flush()
        deal = Deal(
            contact_id=stuck.id or 0,
            pipeline_id=pipeline.id or 0,
            stage_id=stage.id or 0,
            stage_entered_at=long_ago,
            next_action_at=None,
        )
        draft = EmailDraft(
            kind=DraftKind.reply,
            brand_id=brand.id or 0,
            subject="Re: pricing",
            status=DraftStatus.pending_review,
            updated_at=long_ago,
        )
        s.add_all([deal, draft])
        s.flush()
        return new.id or 0, deal.id or 0


async def test_daily_review_writes_the_summary_the_api_returns(stack: Stack) -> None:
    new_id, deal_id = _rows(stack)
    result = await stack.client.execute_workflow(
        DailyReviewWorkflow.run,
        DailyReviewInput(brand="codeteki"),
        id=f"daily-review-codeteki-{uuid.uuid4().hex[:6]}",
        task_queue=stack.task_queue,
        result_type=DailyReviewResult,
    )
    assert result.summary_id is not None
    with Session(stack.engine) as s:
        contact = s.get(Contact, new_id)
        scored = s.exec(select(AIDecisionLog).where(AIDecisionLog.decision_type == "score_lead"))
        flagged = s.exec(select(AIDecisionLog).where(AIDecisionLog.decision_type == "stuck_deal"))
        scored_rows, flagged_rows = scored.all(), flagged.all()
    assert contact is not None
    assert contact.ai_score is not None
    assert [r.meta["contact_id"] for r in scored_rows] == [new_id]
    assert scored_rows[0].brand_id == stack.brand("codeteki").id
    assert [r.deal_id for r in flagged_rows] == [deal_id]

    async with client_for(api_app(stack)) as http:
        latest = await http.get("/api/crm/stats/daily/")
        by_day = await http.get("/api/crm/stats/daily/", params={"date": result.day})
        other_day = await http.get("/api/crm/stats/daily/", params={"date": "2001-01-01"})
    assert latest.status_code == 200, latest.text
    (summary,) = latest.json()
    assert summary["brand_slug"] == "codeteki"
    assert summary["day"] == result.day
    data = summary["data"]
    assert data["contacts_scored"] == 1
    assert [d["deal_id"] for d in data["stuck_deals"]] == [deal_id]
    assert [d["subject"] for d in data["drafts_waiting_review"]] == ["Re: pricing"]
    assert by_day.json() == latest.json()
    assert other_day.json() == []

    # A second run the same day replaces the day's summary and flags nothing twice.
    await stack.client.execute_workflow(
        DailyReviewWorkflow.run,
        DailyReviewInput(brand="codeteki"),
        id=f"daily-review-codeteki-{uuid.uuid4().hex[:6]}",
        task_queue=stack.task_queue,
        result_type=DailyReviewResult,
    )
    with Session(stack.engine) as s:
        flagged_again = s.exec(
            select(AIDecisionLog).where(AIDecisionLog.decision_type == "stuck_deal")
        ).all()
    assert len(flagged_again) == 1


async def test_due_scheduled_drafts_are_sent_through_the_composer(stack: Stack) -> None:
    stack.open_window("codeteki")
    brand = stack.brand("codeteki")
    server_now = await stack.env.get_current_time()  # the job's clock, skipped ahead in tests
    with session_scope(stack.engine) as s:
        pipeline = s.exec(
            select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "sales")
        ).one()
        due = EmailDraft(
            kind=DraftKind.composer,
            brand_id=brand.id or 0,
            pipeline_id=pipeline.id,
            recipients=["First@Example.com.au", "second@example.com.au"],
            subject="Hello {{ contact.first_name or 'there' }}",
            body="A scheduled note.",
            status=DraftStatus.scheduled,
            scheduled_at=server_now - timedelta(minutes=1),
        )
        later = EmailDraft(
            kind=DraftKind.composer,
            brand_id=brand.id or 0,
            recipients=["later@example.com.au"],
            status=DraftStatus.scheduled,
            scheduled_at=server_now + timedelta(days=1),
        )
        broken = EmailDraft(  # no body: it cannot go out, and must not fail every minute
            kind=DraftKind.composer,
            brand_id=brand.id or 0,
            pipeline_id=pipeline.id,
            recipients=["third@example.com.au"],
            subject="Hi",
            status=DraftStatus.scheduled,
            scheduled_at=server_now - timedelta(minutes=2),
        )
        s.add_all([due, later, broken])
        s.flush()
        due_id, later_id, broken_id = due.id, later.id, broken.id
    report = await stack.client.execute_workflow(
        ScheduledDraftsWorkflow.run,
        JobInput(),
        id=f"scheduled-drafts-{uuid.uuid4().hex[:6]}",
        task_queue=stack.task_queue,
        result_type=DueDraftsReport,
    )
    assert report.drafts == [due_id]
    assert len(report.deals_started) == 2
    with Session(stack.engine) as s:
        assert s.get(EmailDraft, due_id).status == DraftStatus.sent  # type: ignore[union-attr]
        assert s.get(EmailDraft, later_id).status == DraftStatus.scheduled  # type: ignore[union-attr]
        unsent = s.get(EmailDraft, broken_id)
        assert unsent is not None
        assert unsent.status == DraftStatus.draft
        assert unsent.outcome["error"]["code"] == "draft_incomplete"
        deals = s.exec(select(Deal)).all()
    assert sorted(d.workflow_id or "" for d in deals) == sorted(
        f"deal-{i}" for i in report.deals_started
    )
    await stack.env.sleep(timedelta(hours=1))
    (first,) = stack.inbox.to("first@example.com.au")
    assert first["Subject"] == "Hello First"
    assert "A scheduled note." in first.get_body(("plain",)).get_content()
    assert stack.inbox.to("third@example.com.au") == []
