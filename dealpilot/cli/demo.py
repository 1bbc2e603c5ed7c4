"""`dealpilot dev --demo`: a demo brand whose send window never closes, a few sample
contacts enrolled, and one of them replying, so a newcomer sees emails land in the outbox and
deals move in the Temporal Web UI within a minute."""

from __future__ import annotations

import asyncio
from datetime import time

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from dealpilot.core.settings import Settings
from dealpilot.temporal.deals import DealWorkflows
from dealpilot.temporal.starting import start_after_commit
from models import Brand, Contact, Deal, MailProviderName, Pipeline, PipelineStage
from models.uow import unit_of_work
from workflows.contracts import ReplyEvent
from workflows.deal import DealWorkflow

log = structlog.get_logger(__name__)

DEMO_BRAND = "demo"
SAMPLES = [
    ("Priya Sharma", "priya@sharma-digital.example", "Sharma Digital"),
    ("Tom Nguyen", "tom@harbourcafe.example", "Harbour Cafe"),
    ("Aisha Khan", "aisha@khanlegal.example", "Khan Legal"),
    ("Ben Carter", "ben@carterbuild.example", "Carter Build"),
    ("Mei Lin", "mei@lintravel.example", "Lin Travel"),
]
REPLY = "Sounds good, call me Tuesday afternoon."


def _ensure_demo(session: Session) -> tuple[Brand, Pipeline, PipelineStage]:
    template = session.exec(select(Brand).where(Brand.slug == "codeteki")).one()
    brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND)).first()
    if brand is None:
        brand = Brand(
            slug=DEMO_BRAND,
            name="Demo Outreach",
            domain="demo.example",
            from_email="hello@demo.example",
            from_name="Demo Outreach",
            provider=MailProviderName.outbox,
            timezone=template.timezone,
            send_window_start=time(0, 0),
            send_window_end=time(23, 59, 59),
            send_days=[0, 1, 2, 3, 4, 5, 6],
            daily_cap=1000,
            min_gap_seconds=0,
            postal_address="Demo Outreach · Nowhere St, Example City",
            website_url="https://demo.example",
        )
        session.add(brand)
        session.flush()
    source = session.exec(
        select(Pipeline).where(Pipeline.brand_id == template.id, Pipeline.slug == "sales")
    ).one()
    pipeline = session.exec(
        select(Pipeline).where(Pipeline.brand_id == brand.id, Pipeline.slug == "sales")
    ).first()
    if pipeline is None:
        pipeline = Pipeline(
            brand_id=brand.id or 0,
            name="Demo Sales",
            slug="sales",
            pipeline_type=source.pipeline_type,
            description="Copied from Codeteki Sales for the demo (Codeteki's templates).",
        )
        session.add(pipeline)
        session.flush()
        for stage in session.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == source.id)
            .order_by(col(PipelineStage.order))
        ):
            # Attribute copy, not model_dump: enum columns load as plain strings, and dumping
            # them prints a pydantic serializer warning per stage on the demo's first start.
            data = {
                name: getattr(stage, name)
                for name in PipelineStage.model_fields
                if name not in ("id", "pipeline_id")
            }
            session.add(PipelineStage(**data, pipeline_id=pipeline.id or 0))
        session.flush()
    first = session.exec(
        select(PipelineStage)
        .where(PipelineStage.pipeline_id == pipeline.id)
        .order_by(col(PipelineStage.order))
    ).first()
    assert first is not None
    return brand, pipeline, first


def _enrol(session: Session) -> list[tuple[int, str]]:
    """The sample contacts' new deals (flushed): (deal id, contact email) each."""
    brand, pipeline, first = _ensure_demo(session)
    new: list[tuple[int, str]] = []
    for name, email, company in SAMPLES:
        contact = session.exec(
            select(Contact).where(Contact.brand_id == brand.id, Contact.email == email)
        ).first()
        if contact is None:
            contact = Contact(brand_id=brand.id or 0, email=email, name=name, company=company)
            session.add(contact)
            session.flush()
        deal = session.exec(select(Deal).where(Deal.contact_id == contact.id)).first()
        if deal is None:
            deal = Deal(
                contact_id=contact.id or 0, pipeline_id=pipeline.id or 0, stage_id=first.id or 0
            )
            session.add(deal)
            session.flush()
            new.append((deal.id or 0, email))
    return new


async def enrol_demo(settings: Settings, engine: Engine, client: Client) -> None:
    workflows = DealWorkflows(client, settings.temporal_task_queue)
    async with unit_of_work(engine) as uow:
        new = await asyncio.to_thread(_enrol, uow.session)
        start_after_commit(uow, workflows, [deal_id for deal_id, _ in new])
    if new:
        log.info("demo.enrolled", deals=len(new))
        asyncio.get_running_loop().create_task(_reply_later(workflows, *new[0]))


async def _reply_later(workflows: DealWorkflows, deal_id: int, email: str) -> None:
    """One sample contact answers 20 seconds later, so the demo shows a reply moving a deal."""
    await asyncio.sleep(20)
    reply = ReplyEvent(text=REPLY, subject="Re: quick question", from_email=email)
    await workflows.signal(deal_id, DealWorkflow.reply_received, reply)
    log.info("demo.reply_sent", deal_id=deal_id)
