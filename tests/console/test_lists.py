"""Deal owners (set on the deal page, filtered on the board; only users of the deal's brand)
and every list page's query count, which must not grow with its rows."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from dealpilot.accounts import create_user
from dealpilot.composer.rules import RecipientFilter
from dealpilot.composer.saved_filters import save_filter
from models import Brand, Deal, Suppression, SuppressionReason, User, UserRole, session_scope
from tests.console.data import two_brands
from tests.console.helpers import ADMIN, DESI_OPERATOR, PASSWORD, login, token
from tests.console.test_pages import _add_deals, counting
from tests.factories import make_backlink, make_contact


def test_a_deal_gets_an_owner_and_the_board_filters_by_it(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    with session_scope(engine) as s:
        create_user(
            s,
            email="ct@codeteki.com.au",
            password=PASSWORD,
            role=UserRole.operator,
            brands=["codeteki"],
        )
    with Session(engine) as s:
        users = {u.email: u.id for u in s.exec(select(User)).all()}
    login(browser, DESI_OPERATOR)
    deal_url = f"/console/deals/{seeded.desi_deal}"
    csrf = token(browser, deal_url)
    board = f"/console/board?pipeline={seeded.desi_pipeline}"
    assert 'class="card deal"' in browser.get(f"{board}&owner=none").text
    assert 'class="card deal"' not in browser.get(f"{board}&owner=mine").text
    wrong = browser.post(
        f"{deal_url}/owner", data={"csrf_token": csrf, "owner": users["ct@codeteki.com.au"]}
    )
    assert "Not done: The owner must be an active user who may see the deal" in wrong.text
    mine = browser.post(
        f"{deal_url}/owner", data={"csrf_token": csrf, "owner": users[DESI_OPERATOR]}
    )
    assert "owner is saved" in mine.text
    assert f'<option value="{users[DESI_OPERATOR]}" selected>' in mine.text
    assert 'class="card deal"' in browser.get(f"{board}&owner=mine").text
    assert "owner: ops@desifirms.com.au" in browser.get(f"{board}&owner=mine").text
    assert 'class="card deal"' not in browser.get(f"{board}&owner=none").text
    assert 'class="card deal"' not in browser.get(f"{board}&owner={users[ADMIN]}").text
    theirs = browser.post(
        f"/console/deals/{seeded.codeteki_deal}/owner",
        data={"csrf_token": csrf, "owner": users[DESI_OPERATOR]},
    )
    assert theirs.status_code == 404
    cleared = browser.post(f"{deal_url}/owner", data={"csrf_token": csrf, "owner": ""})
    assert f"Deal {seeded.desi_deal} is unassigned." in cleared.text
    with Session(engine) as s:
        assert s.get(Deal, seeded.desi_deal).owner_id is None  # type: ignore[union-attr]
        assert s.get(Deal, seeded.codeteki_deal).owner_id is None  # type: ignore[union-attr]


def _more_rows(engine: Engine, n: int, user_id: int) -> None:
    with Session(engine) as s:
        desi = s.exec(select(Brand).where(Brand.slug == "desifirms")).one()
        for i in range(n):
            make_contact(s, brand=desi, email=f"row{i}-{n}@homes.com.au")
            make_backlink(s, brand=desi, target_domain=f"blog{i}-{n}.example.org")
            s.add(
                Suppression(
                    brand_id=desi.id or 0,
                    email=f"gone{i}-{n}@x.org",
                    reason=SuppressionReason.manual,
                )
            )
            save_filter(s, user_id, desi.id or 0, f"f{i}-{n}", RecipientFilter(q=f"{i}"))
        s.commit()
    _add_deals(engine, n)


def test_every_list_page_costs_the_same_queries_for_more_rows(
    browser: TestClient, engine: Engine
) -> None:
    seeded = two_brands(engine)
    login(browser, DESI_OPERATOR)
    with Session(engine) as s:
        me = s.exec(select(User).where(User.email == DESI_OPERATOR)).one().id or 0
    pages = [
        "/console/contacts",
        "/console/suppressions",
        "/console/backlinks",
        "/console/composer/?target=desifirms/real_estate&q=homes",
        "/console/review",
        f"/console/board?pipeline={seeded.desi_pipeline}&owner=none",
    ]
    _more_rows(engine, 2, me)
    few = {}
    for page in pages:
        with counting(engine) as statements:
            assert browser.get(page).status_code == 200, page
        few[page] = len(statements)
    _more_rows(engine, 30, me)
    for page in pages:
        with counting(engine) as statements:
            browser.get(page)
        assert len(statements) == few[page], page
