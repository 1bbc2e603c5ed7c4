"""EmailDraft holds four kinds of draft in one table; each list shows its own kinds only.
(No Temporal: the rows are written as the workflow's activities and the API would write them.)"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from models import Deal, DraftKind, DraftStatus, EmailDraft
from tests.composer.conftest import Setup
from tests.factories import make_contact, make_deal, stages_of

DRAFTS = "/api/crm/composer/drafts/"
REVIEW = "/api/crm/review/"


def _draft(session: Session, setup: Setup, kind: DraftKind, deal: Deal | None) -> EmailDraft:
    stage = next(iter(stages_of(session, setup.pipeline).values()))
    draft = EmailDraft(
        kind=kind,
        brand_id=setup.brand.id or 0,
        pipeline_id=setup.pipeline.id,
        deal_id=deal.id if deal else None,
        contact_id=deal.contact_id if deal else None,
        stage_id=stage.id if kind is DraftKind.review else None,
        step=1 if kind is DraftKind.review else None,
        email_type="intro" if kind is DraftKind.composer else kind.value,
        recipients=["priya@sharma.com.au"],
        subject=f"a {kind.value} draft",
        body="Hello",
        status=DraftStatus.draft
        if kind in (DraftKind.composer, DraftKind.next_email)
        else DraftStatus.pending_review,
    )
    session.add(draft)
    session.commit()
    return draft


def test_each_kind_of_draft_is_listed_only_where_it_belongs(
    client: TestClient, setup: Setup, session: Session
) -> None:
    contact = make_contact(session, brand=setup.brand, email="priya@sharma.com.au")
    deal = make_deal(session, contact=contact, pipeline=setup.pipeline)
    drafts = {
        kind: _draft(session, setup, kind, None if kind is DraftKind.composer else deal)
        for kind in DraftKind
    }

    composer = client.get(DRAFTS, params={"brand": "acme"}).json()["items"]
    assert [d["id"] for d in composer] == [drafts[DraftKind.composer].id]
    # The review queue: every deal draft waiting for a person, with its kind; no composer draft.
    review = client.get(REVIEW, params={"brand": "acme"}).json()["items"]
    assert {d["id"]: d["kind_label"] for d in review} == {
        drafts[DraftKind.review].id: "held email",
        drafts[DraftKind.reply].id: "suggested reply",
        drafts[DraftKind.next_email].id: "stored draft",
    }
    held = client.get(REVIEW, params={"brand": "acme", "kind": "review"}).json()["items"]
    assert [d["id"] for d in held] == [drafts[DraftKind.review].id]
    assert client.get(REVIEW, params={"kind": "composer"}).status_code == 400
    # A deal's draft is not a composer draft, whatever its id.
    for kind in (DraftKind.review, DraftKind.reply, DraftKind.next_email):
        assert client.get(f"{DRAFTS}{drafts[kind].id}/").status_code == 404
