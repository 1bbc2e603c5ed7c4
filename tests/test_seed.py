from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.ai.prompts import default_prompts
from dealpilot.setup.seed import SeedReport, seed
from models import (
    AIPromptTemplate,
    AutoAction,
    Brand,
    EmailSequence,
    MailProviderName,
    Pipeline,
    PipelineStage,
    PromptType,
    SequenceStep,
    StageKind,
)

FU = ("Follow-up 1", "Follow-up 2")
FU3 = (*FU, "Follow-up 3 (Final)")

EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("codeteki", "sales"): (
        "Prospect Found", "Intro Sent", *FU, "Responded", "Discovery Call", "Proposal",
        "Negotiating", "Client", "Lost",
    ),
    ("codeteki", "backlink"): (
        "Target Found", "Pitch Sent", *FU, "Responded", "Link Placed", "Rejected",
    ),
    ("codeteki", "partnership"): (
        "Partner Found", "Intro Sent", *FU, "Responded", "Call Booked", "Partner",
        "Not Interested",
    ),
    ("desifirms", "real_estate"): (
        "Agent Found", "Invited", *FU3, "Responded", "Registered", "Listing Properties",
        "Not Interested",
    ),
    ("desifirms", "business_listings"): (
        "Business Found", "Invited", *FU3, "Responded", "Signed Up", "Listed", "Not Interested",
    ),
    ("desifirms", "events"): (
        "Organizer Found", "Invited", *FU3, "Responded", "Signed Up", "Event Listed",
        "Not Interested",
    ),
    ("desifirms", "classifieds"): (
        "Lead Found", "Invited", *FU3, "Responded", "Ad Posted", "Not Interested",
    ),
    ("desifirms", "backlink"): (
        "Target Found", "Pitch Sent", *FU, "Responded", "Link Placed", "Rejected",
    ),
    ("desifirms", "registered_business"): (
        "Registered", "Nudge 1", "Nudge 2", "Responded", "Listed", "Not Interested",
    ),
    ("desifirms", "registered_real_estate"): (
        "Registered", "Nudge 1", "Nudge 2", "Responded", "Agent Profile Created",
        "Not Interested",
    ),
    ("desifirms", "registered_events"): (
        "Registered", "Nudge 1", "Nudge 2", "Responded", "Event Posted", "Not Interested",
    ),
    ("desifirms", "agents_agencies"): (
        "Registered", "Profile Complete", "Agency Created", "Team Invited", "First Listing",
        "Active Lister", "Dropped",
    ),
}  # fmt: skip


def _stages(session: Session, pipeline: Pipeline) -> list[PipelineStage]:
    return list(
        session.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == pipeline.id)
            .order_by(PipelineStage.order)  # type: ignore[arg-type]
        )
    )


def _pipelines(session: Session) -> dict[tuple[str, str], Pipeline]:
    brands = {b.id: b.slug for b in session.exec(select(Brand))}
    return {(brands[p.brand_id], p.slug): p for p in session.exec(select(Pipeline))}


def test_seed_creates_brands_pipelines_and_stages_in_order(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        report = seed(session)
        session.commit()

    assert report.brands == 2
    # 3 Codeteki + 9 Desi Firms: the pipelines the original system ran, plus Partnership.
    assert report.pipelines == len(EXPECTED) == 12
    assert report.stages == sum(len(v) for v in EXPECTED.values())

    with Session(any_engine) as session:
        brands = {b.slug: b for b in session.exec(select(Brand))}
        assert set(brands) == {"codeteki", "desifirms"}
        assert brands["codeteki"].provider == MailProviderName.zoho_smtp
        assert brands["codeteki"].from_email == "outreach@codeteki.au"
        assert brands["desifirms"].provider == MailProviderName.zeptomail
        assert brands["desifirms"].from_email == "hello@desifirms.com.au"
        for brand in brands.values():
            assert brand.timezone == "Australia/Sydney"
            assert brand.send_days == [0, 1, 2, 3, 4]
            assert brand.send_window_start.hour == 9
            assert brand.send_window_end.hour == 17
            assert brand.website_url.startswith("https://")
            assert brand.postal_address

        pipelines = _pipelines(session)
        assert set(pipelines) == set(EXPECTED)
        assert pipelines[("codeteki", "sales")].name == "Codeteki Sales"
        for key, names in EXPECTED.items():
            stages = _stages(session, pipelines[key])
            assert [s.name for s in stages] == list(names), key
            assert [s.order for s in stages] == list(range(len(names)))


def test_stage_kinds_actions_and_cadence(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        seed(session)
        session.commit()
        pipelines = _pipelines(session)

        for key, pipeline in pipelines.items():
            stages = _stages(session, pipeline)
            assert stages[0].kind == StageKind.entry
            for stage in stages:
                assert stage.is_terminal == (stage.kind in (StageKind.won, StageKind.lost))
                if stage.kind == StageKind.sequence:
                    assert stage.auto_action == AutoAction.send_email
                    assert stage.days_until_followup
                if stage.kind == StageKind.reply:
                    assert stage.name == "Responded"
                    assert stage.auto_action == AutoAction.draft_reply
                if stage.auto_action in (
                    AutoAction.send_email,
                    AutoAction.send_on_enter,
                    AutoAction.draft_on_enter,
                ):
                    assert stage.template_key == f"{key[0]}/{key[1]}/{stage.slug}"
                    assert stage.subject
                else:
                    assert stage.template_key is None
            sequence = [s for s in stages if s.kind == StageKind.sequence]
            if sequence:
                assert sequence[0].subject_variant_b, key
            kinds = [s.kind for s in stages]
            assert kinds.count(StageKind.won) == 1, key

        def cadence(key: tuple[str, str]) -> list[int | None]:
            return [
                s.days_until_followup
                for s in _stages(session, pipelines[key])
                if s.kind in (StageKind.entry, StageKind.sequence)
            ]

        assert cadence(("desifirms", "real_estate")) == [0, 3, 4, 5, 7]
        assert cadence(("codeteki", "sales")) == [0, 3, 4, 5]
        assert cadence(("codeteki", "backlink")) == [0, 5, 5, 7]

        real_estate = _stages(session, pipelines[("desifirms", "real_estate")])
        assert [s.slug for s in real_estate][:5] == [
            "agent_found", "invited", "follow_up_1", "follow_up_2", "follow_up_3_final",
        ]  # fmt: skip
        assert real_estate[-1].kind == StageKind.lost
        assert real_estate[-2].kind == StageKind.won

        onboarding = _stages(session, pipelines[("desifirms", "agents_agencies")])
        assert onboarding[0].auto_action == AutoAction.none
        for stage in onboarding[1:-1]:
            assert stage.auto_action == AutoAction.send_on_enter
            assert stage.kind in (StageKind.manual, StageKind.won)
        assert onboarding[-2].kind == StageKind.won
        assert onboarding[-1].kind == StageKind.lost
        # Closing (unsubscribe, bounce, "not interested", mark-lost) needs a lost stage.
        for key, pipeline in pipelines.items():
            assert StageKind.lost in [s.kind for s in _stages(session, pipeline)], key


def test_sequences_mirror_the_cadence(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        report = seed(session)
        session.commit()
        assert report.sequences == 11  # every pipeline but the event-driven onboarding one
        pipelines = _pipelines(session)
        sequence = session.exec(
            select(EmailSequence).where(
                EmailSequence.pipeline_id == pipelines[("desifirms", "real_estate")].id
            )
        ).one()
        steps = list(
            session.exec(
                select(SequenceStep)
                .where(SequenceStep.sequence_id == sequence.id)
                .order_by(SequenceStep.order)  # type: ignore[arg-type]
            )
        )
        assert [s.delay_days for s in steps] == [0, 3, 4, 5]
        assert [s.body_template for s in steps] == [
            "desifirms/real_estate/invited",
            "desifirms/real_estate/follow_up_1",
            "desifirms/real_estate/follow_up_2",
            "desifirms/real_estate/follow_up_3_final",
        ]
        assert steps[0].subject_template == "List your properties free on Desi Firms"
        assert report.sequence_steps == sum(
            1
            for p in pipelines.values()
            for s in _stages(session, p)
            if s.kind == StageKind.sequence
        )


def test_seed_twice_creates_nothing_and_keeps_operator_edits(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        seed(session)
        session.commit()

    with Session(any_engine) as session:
        brand = session.exec(select(Brand).where(Brand.slug == "codeteki")).one()
        brand.daily_cap = 42
        stage = session.exec(
            select(PipelineStage).where(PipelineStage.template_key == "codeteki/sales/intro_sent")
        ).one()
        stage.subject = "Operator's own subject"
        stage.days_until_followup = 9
        session.commit()

    with Session(any_engine) as session:
        report = seed(session)
        session.commit()
    assert report == SeedReport()
    assert report.total == 0

    with Session(any_engine) as session:
        assert session.exec(select(Brand).where(Brand.slug == "codeteki")).one().daily_cap == 42
        stage = session.exec(
            select(PipelineStage).where(PipelineStage.subject == "Operator's own subject")
        ).one()
        assert stage.days_until_followup == 9
        assert len(session.exec(select(Pipeline)).all()) == 12


def test_seed_restores_a_deleted_stage_without_clashing(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        seed(session)
        session.commit()
        pipeline = _pipelines(session)[("codeteki", "sales")]
        proposal = next(s for s in _stages(session, pipeline) if s.slug == "proposal")
        session.delete(proposal)
        session.commit()

        report = seed(session)
        session.commit()
        assert report.stages == 1
        assert [s.slug for s in _stages(session, pipeline)].count("proposal") == 1


def test_seed_writes_one_prompt_per_ai_function(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        report = seed(session)
        session.commit()
        assert report.prompts == len(PromptType) == 6
        rows = {p.name: p for p in session.exec(select(AIPromptTemplate))}
        assert set(rows) == {t.value for t in PromptType}
        defaults = {d.prompt_type: d for d in default_prompts()}
        for name, row in rows.items():
            assert row.prompt_type == PromptType(name)
            assert row.prompt_text == defaults[name].prompt_text
            assert row.variables == list(defaults[name].variables)
            assert row.is_active

        # The operator edits one prompt and renames another: seeding again adds nothing.
        rows["classify_reply"].prompt_text = "My own classifier prompt"
        rows["score_lead"].name = "Lead scoring (tuned)"
        session.commit()
        assert seed(session).prompts == 0
        session.commit()
        assert len(session.exec(select(AIPromptTemplate)).all()) == 6
        edited = session.exec(
            select(AIPromptTemplate).where(AIPromptTemplate.name == "classify_reply")
        ).one()
        assert edited.prompt_text == "My own classifier prompt"
