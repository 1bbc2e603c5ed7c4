"""Tier-aware content (issue 14, item 10): the stage's email for the deal's tier at send time,
on the SMTP wire; a tier without one gets the stage's own email."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models import PipelineStage, StageTierTemplate
from tests.workflows.conftest import Stack
from tests.workflows.helpers import sent_logs


async def test_a_cold_deal_gets_the_cold_email_and_a_new_one_the_default(stack: Stack) -> None:
    stack.open_window("desifirms")
    deal_id, handle = await stack.enrol(
        "silent@example.com.au", brand="desifirms", pipeline="business_listings", name="Sam Lee"
    )
    await handle.result()  # three unopened emails, then closed as a ghost

    messages = stack.inbox.to("silent@example.com.au")
    logs = sent_logs(stack.engine, deal_id)
    with Session(stack.engine) as s:
        names = {
            st.id: st.name
            for st in s.exec(
                select(PipelineStage).where(col(PipelineStage.id).in_([g.stage_id for g in logs]))
            )
        }
        cold = s.exec(
            select(StageTierTemplate).where(
                StageTierTemplate.stage_id == logs[2].stage_id, StageTierTemplate.tier == "cold"
            )
        ).one()
        stage_subjects = [
            (s.get(PipelineStage, g.stage_id) or PipelineStage()).subject for g in logs[:2]
        ]
    assert [names[g.stage_id] for g in logs] == ["Invited", "Follow-up 1", "Follow-up 2"]
    assert len(messages) == 3
    # 1st and 2nd: tier new (nothing, then one email sent): the stages' own emails, though both
    # stages have cold and lurker versions.
    for message, subject in zip(messages[:2], stage_subjects, strict=True):
        assert subject is not None
        assert "keep this short" not in message.get_body(("plain",)).get_content()
        assert "Quick one" not in str(message["Subject"])
    # 3rd: two emails, none opened: cold. Its subject and body, as the wire carried them.
    assert cold.subject == "Quick one{{ ', ' ~ contact.first_name if contact.first_name else '' }}"
    assert str(messages[2]["Subject"]) == "Quick one, Sam"
    text = messages[2].get_body(("plain",)).get_content()
    assert "I'll keep this short: Desi Firms could help" in text
    assert "unsubscribe" in text.lower()
    assert logs[2].subject == "Quick one, Sam"
