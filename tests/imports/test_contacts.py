"""The contact import service on messy real-world files, on SQLite and PostgreSQL."""

from __future__ import annotations

import codecs

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from dealpilot.imports.contacts import start_enrolled
from dealpilot.imports.csvfile import CSVFormatError, ImportRequestError, MissingColumnsError
from dealpilot.imports.mx import MailDomainChecker
from models import Brand, ContactType, Deal, DealStatus, Pipeline, SuppressionReason
from models.uow import UnitsOfWork
from tests import factories as f
from tests.imports.dns_server import local_dns
from tests.imports.helpers import (
    contact_count,
    contacts_of,
    counts,
    csv_bytes,
    outcomes,
    run_import,
)


def brands(engine: Engine) -> tuple[Brand, Brand]:
    with Session(engine, expire_on_commit=False) as s:
        return f.make_brand(s, slug="codeteki"), f.make_brand(s, slug="desifirms")


def test_messy_european_excel_file(any_engine: Engine) -> None:
    """UTF-8 BOM, semicolons, quoted delimiters and newlines, first/last name columns,
    bad and duplicate (mixed-case) addresses, blank lines, tags in one cell."""
    brand, _ = brands(any_engine)
    text = (
        "E-Mail;First Name;Surname;Organisation;Web Site;Mobile;Tags;Notes\r\n"
        'Ann@Example.com;Ann;Lee;"Lee; Sons";lee.example;+61 400;vip, au | b2b;\r\n'
        "\r\n"
        'bob@example.com;Bob;;Bobco;;;;"met at expo;\r\nwants a quote"\r\n'
        "not-an-email;Nobody;;;;;;\r\n"
        "ANN@example.COM;Ann again;;;;;;\r\n"
        ";No;Address;;;;;\r\n"
        "carol@example.org;;;;;;;\r\n"
    )
    report = run_import(
        any_engine, codecs.BOM_UTF8 + text.encode(), brand="codeteki", tags=("expo",)
    )
    assert counts(report) == {"created": 3, "updated": 0, "skipped": 1, "invalid": 2}
    rows = outcomes(report)
    assert [r[:3] for r in rows] == [
        (2, "ann@example.com", "created"),
        (4, "bob@example.com", "created"),
        (6, "not-an-email", "invalid"),
        (7, "ann@example.com", "skipped"),
        (8, "", "invalid"),
        (9, "carol@example.org", "created"),
    ]
    assert rows[2][3].startswith("invalid email:")
    assert rows[3][3] == "duplicate in file (line 2)"
    assert rows[4][3] == "no email address"

    stored = contacts_of(any_engine, brand.id or 0)
    assert set(stored) == {"ann@example.com", "bob@example.com", "carol@example.org"}
    ann = stored["ann@example.com"]
    assert (ann.name, ann.company, ann.website, ann.phone) == (
        "Ann Lee",
        "Lee; Sons",
        "lee.example",
        "+61 400",
    )
    assert ann.tags == ["vip", "au", "b2b", "expo"]
    assert ann.source == "csv import"
    assert stored["bob@example.com"].notes == "met at expo;\r\nwants a quote"
    assert stored["carol@example.org"].name == ""


def test_utf16_tab_export(any_engine: Engine) -> None:
    brand, _ = brands(any_engine)
    data = csv_bytes(
        [["Email Address", "Full Name", "Company"], ["zoë@exämple.com", "Zoë Çelik", "Ünal"]],
        delimiter="\t",
        encoding="utf-16-le",
        bom=True,
    )
    report = run_import(any_engine, data, brand=str(brand.id))
    assert counts(report)["created"] == 1
    (contact,) = contacts_of(any_engine, brand.id or 0).values()
    assert (contact.email, contact.name, contact.company) == (
        "zoë@exämple.com",
        "Zoë Çelik",
        "Ünal",
    )


def test_cp1252_file_imports_nothing_even_after_full_batches(any_engine: Engine) -> None:
    brands(any_engine)
    good = "".join(f"p{i}@example.com,Person {i}\n" for i in range(1200))
    data = ("email,name\n" + good).encode() + "renee@example.com,Ren\u00e9e\n".encode("cp1252")
    with pytest.raises(CSVFormatError) as info:
        run_import(any_engine, data, brand="codeteki")
    assert info.value.line == 1202
    assert "UTF-8" in str(info.value)
    assert contact_count(any_engine) == 0


def test_missing_email_column_names_the_columns_found(any_engine: Engine) -> None:
    brands(any_engine)
    with pytest.raises(MissingColumnsError) as info:
        run_import(any_engine, b"Name,Company,Phone\nAnn,Acme,1\n", brand="codeteki")
    assert "no column for email" in str(info.value)
    assert "'name', 'company', 'phone'" in str(info.value)


def test_empty_file_and_header_only(any_engine: Engine) -> None:
    brands(any_engine)
    with pytest.raises(CSVFormatError, match="empty"):
        run_import(any_engine, b"", brand="codeteki")
    report = run_import(any_engine, b"email,name\r\n", brand="codeteki")
    assert report.rows == []
    assert contact_count(any_engine) == 0


def test_suppressed_existing_and_brand_isolation(any_engine: Engine) -> None:
    codeteki, desifirms = brands(any_engine)
    with Session(any_engine, expire_on_commit=False) as s:
        f.make_suppression(s, brand=codeteki, email="gone@example.com")
        f.make_suppression(s, brand=desifirms, email="other@example.com")
        f.make_contact(s, brand=codeteki, email="known@example.com", name="Known", company="Old")
        theirs = f.make_contact(s, brand=desifirms, email="shared@example.com", name="Theirs")
    data = csv_bytes(
        [
            ["email", "name", "company"],
            ["Gone@example.com", "Gone", ""],
            ["other@example.com", "Other", ""],
            ["known@example.com", "Known", "New Co"],
            ["shared@example.com", "Ours", ""],
        ]
    )
    report = run_import(any_engine, data, brand="codeteki")
    assert outcomes(report) == [
        (2, "gone@example.com", "skipped", f"suppressed: {SuppressionReason.unsubscribed}"),
        (3, "other@example.com", "created", ""),
        (4, "known@example.com", "skipped", "exists"),
        (5, "shared@example.com", "created", ""),
    ]
    ours = contacts_of(any_engine, codeteki.id or 0)
    assert ours["known@example.com"].company == "Old"
    assert ours["shared@example.com"].name == "Ours"
    theirs_now = contacts_of(any_engine, desifirms.id or 0)["shared@example.com"]
    assert (theirs_now.id, theirs_now.name) == (theirs.id, "Theirs")
    assert "gone@example.com" not in ours


def test_update_existing_changes_only_given_fields(any_engine: Engine) -> None:
    codeteki, _ = brands(any_engine)
    with Session(any_engine, expire_on_commit=False) as s:
        f.make_contact(
            s, brand=codeteki, email="a@example.com", name="Ann", company="Old", tags=["x"]
        )
        f.make_contact(s, brand=codeteki, email="b@example.com", name="Bob", company="Same")
    data = csv_bytes(
        [
            ["email", "name", "company", "phone", "tags"],
            ["a@example.com", "", "New", "+61 2", "y;x"],
            ["b@example.com", "Bob", "Same", "", ""],
        ]
    )
    report = run_import(
        any_engine, data, brand="codeteki", update_existing=True, contact_type=ContactType.partner
    )
    assert outcomes(report) == [
        (2, "a@example.com", "updated", "changed: company, phone, tags"),
        (3, "b@example.com", "skipped", "exists (nothing to change)"),
    ]
    a = contacts_of(any_engine, codeteki.id or 0)["a@example.com"]
    assert (a.name, a.company, a.phone, a.tags) == ("Ann", "New", "+61 2", ["x", "y"])
    assert a.contact_type == ContactType.lead  # the option types new contacts only


def test_row_values_that_do_not_fit_are_invalid_rows(any_engine: Engine) -> None:
    codeteki, _ = brands(any_engine)
    data = csv_bytes(
        [
            ["email", "name", "timezone", "contact type"],
            ["a@example.com", "A" * 201, "", ""],
            ["b@example.com", "Bee", "Mars/Olympus", ""],
            ["c@example.com", "Cee", "Asia/Kolkata", "Backlink Target"],
            ["d@example.com", "Dee", "", "alien"],
            ["e@example.com", "Eve", "", ""],
        ]
    )
    report = run_import(any_engine, data, brand="codeteki", contact_type=ContactType.partner)
    rows = outcomes(report)
    assert [r[2] for r in rows] == ["invalid", "invalid", "created", "invalid", "created"]
    assert rows[0][3].startswith("name:")
    assert rows[1][3].startswith("timezone:")
    assert rows[3][3].startswith("contact_type:")
    stored = contacts_of(any_engine, codeteki.id or 0)
    assert sorted(stored) == ["c@example.com", "e@example.com"]
    assert stored["e@example.com"].contact_type == ContactType.partner
    assert stored["c@example.com"].contact_type == ContactType.backlink_target
    assert stored["c@example.com"].timezone == "Asia/Kolkata"


def test_unknown_brand_and_foreign_pipeline_are_refused(any_engine: Engine) -> None:
    _, desifirms = brands(any_engine)
    with Session(any_engine, expire_on_commit=False) as s:
        f.make_pipeline(s, brand=desifirms, slug="listings")
        f.make_pipeline(s, brand=desifirms, slug="empty", stages=())
    data = b"email\na@example.com\n"
    with pytest.raises(ImportRequestError) as info:
        run_import(any_engine, data, brand="nope")
    assert info.value.code == "unknown_brand"
    with pytest.raises(ImportRequestError) as info:
        run_import(any_engine, data, brand="codeteki", pipeline="listings")
    assert (info.value.code, info.value.field) == ("unknown_pipeline", "pipeline")
    with pytest.raises(ImportRequestError) as info:
        run_import(any_engine, data, brand="desifirms", pipeline="empty")
    assert info.value.code == "pipeline_has_no_stages"
    assert contact_count(any_engine) == 0


async def test_enrolment_creates_deals_in_the_first_stage(any_engine: Engine) -> None:
    codeteki, _ = brands(any_engine)
    with Session(any_engine, expire_on_commit=False) as s:
        pipeline = f.make_pipeline(s, brand=codeteki, slug="sales")
        first = next(iter(f.stages_of(s, pipeline).values()))
        f.make_contact(s, brand=codeteki, email="known@example.com")
    data = csv_bytes([["email"], ["new1@example.com"], ["known@example.com"], ["new2@example.com"]])
    report = run_import(any_engine, data, brand="codeteki", pipeline="sales")
    assert len(report.deal_ids) == 2
    with Session(any_engine) as s:
        deals = s.execute(select(Deal).order_by(col(Deal.id))).scalars().all()
        assert [(d.pipeline_id, d.stage_id, d.status, d.workflow_id) for d in deals] == [
            (pipeline.id, first.id, DealStatus.active, None)
        ] * 2
        enrolled = {
            c.id
            for c in contacts_of(any_engine, codeteki.id or 0).values()
            if c.email != "known@example.com"
        }
        assert {d.contact_id for d in deals} == enrolled
        assert s.get(Pipeline, pipeline.id) is not None

    started = await start_enrolled(None, UnitsOfWork(any_engine), report.deal_ids)
    assert (started.started, started.not_started) == (0, 2)
    assert started.message is not None
    assert "POST /api/crm/deals/{id}/start/" in started.message


def test_mx_check_against_a_local_dns_server(any_engine: Engine) -> None:
    brands(any_engine)
    records = {
        ("mail.example.net", "MX"): ["10 mx.mail.example.net."],
        ("aonly.example.net", "A"): ["192.0.2.7"],
        ("web.example.net", "TXT"): ['"no mail here"'],
        ("nullmx.example.net", "MX"): ["0 ."],
    }
    data = csv_bytes(
        [
            ["email"],
            ["a@mail.example.net"],
            ["b@mail.example.net"],
            ["c@aonly.example.net"],
            ["d@web.example.net"],
            ["e@nullmx.example.net"],
            ["f@nowhere.example.net"],
            ["g@broken.example.net"],
        ]
    )
    with local_dns(records, servfail=frozenset({"broken.example.net"})) as dns:
        checker = MailDomainChecker(dns.resolver(), lifetime=5)
        report = run_import(any_engine, data, brand="codeteki", check_mx=True, mx=checker)
        assert dns.queries[("mail.example.net", "MX")] == 1  # cached per domain
    assert outcomes(report) == [
        (2, "a@mail.example.net", "created", ""),
        (3, "b@mail.example.net", "created", ""),
        (4, "c@aonly.example.net", "created", ""),
        (5, "d@web.example.net", "skipped", "no mail server"),
        (6, "e@nullmx.example.net", "skipped", "no mail server (the domain publishes a null MX)"),
        (7, "f@nowhere.example.net", "skipped", "no mail server (the domain does not exist)"),
        (
            8,
            "g@broken.example.net",
            "skipped",
            "mail server not checked: DNS unavailable (NoNameservers)",
        ),
    ]


def test_mx_check_is_off_by_default(any_engine: Engine) -> None:
    brands(any_engine)
    with local_dns({}) as dns:
        report = run_import(
            any_engine,
            b"email\nx@nowhere.example.net\n",
            brand="codeteki",
            mx=MailDomainChecker(dns.resolver()),
        )
        assert sum(dns.queries.values()) == 0
    assert counts(report)["created"] == 1
