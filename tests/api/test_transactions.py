"""The request is the unit of work: commit on success, roll back on error, after-commit
work only after a commit. Test-only routes exercise the real dependencies."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from structlog.testing import capture_logs

from api.deps import AfterCommitDep, SessionDep
from dealpilot.core.errors import Conflict
from models import Brand
from tests.api.helpers import assert_error
from tests.factories import make_brand, make_contact, make_pipeline


def _brand(slug: str) -> Brand:
    return Brand(slug=slug, name=slug, domain="x.test", from_email="a@x.test", from_name="A")


def _brand_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Brand)).one()


def test_integrity_error_at_flush_is_409_and_rolled_back(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    make_brand(session, slug="taken")

    @app.post("/test/dup-flush")
    def dup_flush(db: SessionDep) -> dict[str, str]:
        db.add(_brand("fresh"))
        db.flush()
        db.add(_brand("taken"))
        db.flush()
        return {}

    assert_error(client.post("/test/dup-flush"), 409, "conflict")
    assert _brand_count(session) == 1  # "fresh" was rolled back too


def test_integrity_error_at_commit_is_409_not_a_2xx(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    make_brand(session, slug="taken")

    @app.post("/test/dup-commit")
    def dup_commit(db: SessionDep) -> dict[str, str]:
        db.add(_brand("taken"))  # fails only when the request commits
        return {"ok": "yes"}

    assert_error(client.post("/test/dup-commit"), 409, "conflict")


def test_after_commit_runs_only_after_a_successful_commit(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    seen: list[int] = []

    @app.post("/test/after-commit/{fail}")
    def create(fail: bool, db: SessionDep, after_commit: AfterCommitDep) -> dict[str, int]:
        brand = _brand(f"b-{fail}")
        db.add(brand)
        db.flush()
        assert brand.id is not None
        brand_id = brand.id

        async def record() -> None:
            # The row is visible to another connection: it was committed first.
            with Session(app.state.engine) as other:
                assert other.get(Brand, brand_id) is not None
            seen.append(brand_id)

        after_commit.add(record)
        if fail:
            raise Conflict("no")
        return {"id": brand_id}

    assert_error(client.post("/test/after-commit/true"), 409)
    assert seen == []
    r = client.post("/test/after-commit/false")
    assert r.status_code == 200
    assert seen == [r.json()["id"]]
    assert _brand_count(session) == 1


def test_deal_creation_calls_the_hook_after_commit(client: TestClient, session: Session) -> None:
    brand = make_brand(session)
    pipeline = make_pipeline(session, brand=brand)
    contact = make_contact(session, brand=brand)
    with capture_logs() as logs:
        r = client.post(
            "/api/crm/deals/", json={"contact_id": contact.id, "pipeline_id": pipeline.id}
        )
        assert r.status_code == 201
    created = [e for e in logs if e["event"] == "deal_created"]
    assert created == [{"event": "deal_created", "deal_id": r.json()["id"], "log_level": "info"}]
