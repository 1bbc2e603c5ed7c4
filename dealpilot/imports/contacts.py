"""Importing a CSV of contacts into one brand: the one service behind
`POST /api/crm/contacts/import` and `dealpilot import contacts`.

`import_contacts(session, stream, options)` reads the file as a stream (`csvfile`), maps
its columns, validates each address (syntax; the mail server too with `check_mx`), dedupes
within the file and against the brand, skips the brand's suppressed addresses, creates or
(with `update_existing`) updates contacts in batches, and enrols each NEW contact in
`options.pipeline` (first stage) through the bulk enrolment service. It flushes, never
commits: the caller commits once at the end, so a file-level problem found at row 9,000
(`CSVFormatError`: bad encoding, broken quoting) rolls the whole import back. The result
keeps one compact outcome per row, never the rows themselves.

Deal workflows start only after that commit: `start_enrolled(workflows, engine, deal_ids)`.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError, field_validator
from sqlalchemy import Engine, insert, select
from sqlmodel import Session, col

from dealpilot.imports.csvfile import (
    ColumnMap,
    CSVFile,
    ImportRequestError,
    Result,
    Row,
    batches,
    map_columns,
    read_csv,
)
from dealpilot.imports.mx import MailDomainChecker
from models import Brand, Contact, ContactType, Pipeline, Suppression, find_brand, utcnow
from models.brand import check_timezone
from models.contact import ContactBase, normalise_email

if TYPE_CHECKING:
    from dealpilot.temporal.deals import DealWorkflows

BATCH_ROWS = 500
INSERT_PAGE = 100
START_BATCH = 500

ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("e-mail", "email address", "e-mail address", "mail", "email addresses"),
    "name": ("full name", "contact name", "contact", "display name"),
    "first_name": ("firstname", "given name", "first"),
    "last_name": ("lastname", "surname", "family name", "last"),
    "company": ("company name", "organisation", "organization", "business", "business name"),
    "website": ("url", "site", "domain", "web site", "homepage", "website url"),
    "phone": ("phone number", "mobile", "telephone", "tel", "mobile phone"),
    "tags": ("tag", "labels"),
    "notes": ("note", "comments"),
    "timezone": ("time zone", "tz"),
    "contact_type": ("type",),
}
# Fields copied from the file as they are (name is built, tags are split).
_PLAIN = ("company", "website", "phone", "notes", "timezone", "contact_type")
_UPDATABLE = ("name", *_PLAIN)
_TAG_SPLIT = re.compile(r"[,;|]")


@dataclass(frozen=True, slots=True)
class RowOutcome:
    line: int
    email: str
    result: Result
    reason: str = ""
    contact_id: int | None = None


@dataclass(frozen=True)
class ImportOptions:
    brand: str  # id or slug
    pipeline: str | None = None  # id or slug, in the brand
    update_existing: bool = False
    check_mx: bool = False
    tags: tuple[str, ...] = ()
    contact_type: ContactType | None = None  # for rows without a contact type of their own
    source: str = "csv import"


@dataclass
class ImportReport:
    brand_id: int
    pipeline_id: int | None
    rows: list[RowOutcome] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)

    @property
    def counts(self) -> dict[Result, int]:
        found = Counter(row.result for row in self.rows)
        return {result: found[result] for result in Result}


ProgressCallback = Callable[[int], None]


# ---------------------------------------------------------------------------- resolving
def _is_id(ref: str) -> bool:
    return ref.isdigit() and len(ref) < 19  # longer cannot be a row id (nor fit a BIGINT)


def _brand(session: Session, ref: str) -> Brand:
    brand = find_brand(session, ref)
    if brand is None:
        raise ImportRequestError(f"No brand {ref!r}", field="brand", code="unknown_brand")
    return brand


def _pipeline(session: Session, ref: str, brand: Brand) -> Pipeline:
    by = col(Pipeline.id) == int(ref) if _is_id(ref) else col(Pipeline.slug) == ref
    pipeline: Pipeline | None = session.execute(
        select(Pipeline).where(by, col(Pipeline.brand_id) == brand.id)
    ).scalar_one_or_none()
    if pipeline is None:
        raise ImportRequestError(
            f"Brand {brand.slug!r} has no pipeline {ref!r}",
            field="pipeline",
            code="unknown_pipeline",
        )
    assert pipeline.id is not None
    from dealpilot.deals.service import stages_in_order

    if not stages_in_order(session, pipeline.id):
        raise ImportRequestError(
            f"Pipeline {pipeline.slug!r} has no stages yet",
            field="pipeline",
            code="pipeline_has_no_stages",
        )
    return pipeline


# ------------------------------------------------------------------------------ one row
class _Fields(ContactBase):
    """ContactCreate's checks without its email validator: the address is normalised once
    before (validation is most of an import's CPU time)."""

    _tz = field_validator("timezone")(check_timezone)


@dataclass(slots=True)
class _Candidate:
    line: int
    email: str  # the one string kept for the row (in the outcome and the dedupe map)
    data: _Fields
    given: frozenset[str]  # fields the file gave a value for (updates touch only these)


def _split_tags(text: str) -> list[str]:
    return [tag.strip() for tag in _TAG_SPLIT.split(text) if tag.strip()]


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


class _Rows:
    """Turns file rows into contact candidates or row outcomes."""

    def __init__(
        self,
        columns: ColumnMap,
        options: ImportOptions,
        mx: MailDomainChecker | None,
    ) -> None:
        self._columns = columns
        self._options = options
        self._first_line: dict[str, int] = {}
        self._mx = (mx or MailDomainChecker()) if options.check_mx else None

    def _values(self, row: Row) -> dict[str, Any]:
        get = self._columns.get
        name = get(row, "name") or " ".join(
            part for part in (get(row, "first_name"), get(row, "last_name")) if part
        )
        values: dict[str, Any] = {field: get(row, field) for field in _PLAIN}
        values["name"] = name
        values["contact_type"] = re.sub(r"[\s\-]+", "_", values["contact_type"].lower())
        return {key: value for key, value in values.items() if value}

    def candidate(self, row: Row) -> _Candidate | RowOutcome:
        raw = self._columns.get(row, "email")
        if not raw:
            return RowOutcome(row.line, "", Result.invalid, "no email address")
        if any("\x00" in value for value in row.values.values()):
            return RowOutcome(row.line, raw, Result.invalid, "contains a NUL character")
        try:
            email = normalise_email(raw)
        except ValueError as exc:
            return RowOutcome(row.line, raw, Result.invalid, f"invalid email: {exc}")
        first = self._first_line.setdefault(email, row.line)
        if first != row.line:
            return RowOutcome(row.line, email, Result.skipped, f"duplicate in file (line {first})")
        values = self._values(row)
        given = frozenset(values)  # the option's contact type is for new contacts only
        if "contact_type" not in values and self._options.contact_type is not None:
            values["contact_type"] = self._options.contact_type
        tags = _split_tags(self._columns.get(row, "tags"))
        tags = list(dict.fromkeys([*tags, *self._options.tags]))
        try:
            data = _Fields(email=email, tags=tags, source=self._options.source, **values)
        except ValidationError as exc:
            return RowOutcome(row.line, email, Result.invalid, _problem(exc))
        if self._mx is not None:
            problem = self._mx.problem(email.rpartition("@")[2])
            if problem is not None:
                return RowOutcome(row.line, email, Result.skipped, problem)
        return _Candidate(row.line, email, data, given | ({"tags"} if tags else set()))


# ------------------------------------------------------------------------------ batches
def _update(contact: Contact, found: _Candidate) -> list[str]:
    changed = []
    for name in _UPDATABLE:
        new = getattr(found.data, name)
        if name in found.given and new != getattr(contact, name):
            setattr(contact, name, new)
            changed.append(name)
    if "tags" in found.given:
        merged = list(dict.fromkeys([*(contact.tags or []), *found.data.tags]))
        if merged != (contact.tags or []):
            contact.tags = merged
            changed.append("tags")
    if changed:
        contact.updated_at = utcnow()
    return changed


def _insert(session: Session, brand_id: int, new: list[_Candidate]) -> list[int]:
    """One INSERT ... RETURNING per page: the statement is built in memory with every value
    inlined (psycopg2), so pages keep a batch of long notes from being copied all at once."""
    stmt = insert(Contact).returning(col(Contact.id), sort_by_parameter_order=True)
    now = utcnow()
    ids: list[int] = []
    for offset in range(0, len(new), INSERT_PAGE):
        values = [
            {**c.data.model_dump(), "brand_id": brand_id}
            | {"email": c.email, "created_at": now, "updated_at": now}
            for c in new[offset : offset + INSERT_PAGE]
        ]
        ids.extend(session.execute(stmt, values).scalars())
    return ids


def _write_batch(
    session: Session,
    batch: list[_Candidate],
    report: ImportReport,
    options: ImportOptions,
) -> None:
    emails = [c.email for c in batch]
    suppressed: dict[str, str] = {
        email: str(reason)
        for email, reason in session.execute(
            select(col(Suppression.email), col(Suppression.reason)).where(
                col(Suppression.brand_id) == report.brand_id, col(Suppression.email).in_(emails)
            )
        ).all()
    }
    existing = {
        contact.email: contact
        for contact in session.execute(
            select(Contact).where(
                col(Contact.brand_id) == report.brand_id, col(Contact.email).in_(emails)
            )
        ).scalars()
    }
    new: list[_Candidate] = []
    for found in batch:
        email = found.email
        if email in suppressed:
            outcome = RowOutcome(
                found.line, email, Result.skipped, f"suppressed: {suppressed[email]}"
            )
        elif email in existing and options.update_existing:
            changed = _update(existing[email], found)
            outcome = RowOutcome(
                found.line,
                email,
                Result.updated if changed else Result.skipped,
                f"changed: {', '.join(changed)}" if changed else "exists (nothing to change)",
                existing[email].id,
            )
        elif email in existing:
            outcome = RowOutcome(found.line, email, Result.skipped, "exists", existing[email].id)
        else:
            new.append(found)
            continue
        report.rows.append(outcome)
    ids = _insert(session, report.brand_id, new) if new else []
    not_enrolled: dict[int, str] = {}
    if report.pipeline_id is not None and ids:
        from dealpilot.deals import bulk
        from dealpilot.deals.schemas import BulkEnrolRequest

        request = BulkEnrolRequest(pipeline_id=report.pipeline_id, contact_ids=ids)
        deals, _, skipped = bulk.enrol(session, request)
        report.deal_ids.extend(deal.id for deal in deals if deal.id is not None)
        not_enrolled = {s.contact_id: s.message for s in skipped if s.contact_id is not None}
    for found, contact_id in zip(new, ids, strict=True):
        reason = f"not enrolled: {not_enrolled[contact_id]}" if contact_id in not_enrolled else ""
        report.rows.append(RowOutcome(found.line, found.email, Result.created, reason, contact_id))
    session.flush()
    # Rows written are not needed again: keep the session's identity map small.
    for contact in existing.values():
        session.expunge(contact)


def open_contacts_file(stream: IO[bytes]) -> tuple[CSVFile, ColumnMap]:
    """The file's reader and column map; raises CSVFormatError / MissingColumnsError."""
    csv_file = read_csv(stream)
    return csv_file, map_columns(csv_file.headers, ALIASES, required=["email"]).require()


def import_contacts(
    session: Session,
    stream: IO[bytes],
    options: ImportOptions,
    *,
    mx: MailDomainChecker | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """See the module docstring. `mx` replaces the system-resolver checker (`check_mx`);
    `on_progress(rows_read)` runs after each batch."""
    brand = _brand(session, options.brand)
    assert brand.id is not None
    pipeline = _pipeline(session, options.pipeline, brand) if options.pipeline else None
    csv_file, columns = open_contacts_file(stream)
    report = ImportReport(brand_id=brand.id, pipeline_id=pipeline.id if pipeline else None)
    rows = _Rows(columns, options, mx)
    read = 0
    for batch in batches(csv_file, BATCH_ROWS):
        found: list[_Candidate] = []
        for row in batch:
            result = rows.candidate(row)
            if isinstance(result, RowOutcome):
                report.rows.append(result)
            else:
                found.append(result)
        _write_batch(session, found, report, options)
        read += len(batch)
        if on_progress is not None:
            on_progress(read)
    report.rows.sort(key=lambda outcome: outcome.line)
    return report


# ---------------------------------------------------------------------- after the commit
@dataclass(frozen=True)
class StartReport:
    started: int
    not_started: int
    message: str | None  # how the deals without a workflow will be started


RETRY_HINT = (
    "they are saved without a workflow; start each with POST /api/crm/deals/{id}/start/ "
    "(list them with GET /api/crm/deals/?has_workflow=false)"
)


async def start_enrolled(
    workflows: DealWorkflows | None,
    engine: Engine,
    deal_ids: list[int],
    *,
    batch: int = START_BATCH,
) -> StartReport:
    """Starts the committed deals' workflows in batches (the bulk enrolment's starter). A
    batch in which nothing started means Temporal is down: the rest are not attempted."""
    if not deal_ids:
        return StartReport(0, 0, None)
    if workflows is None:
        return StartReport(
            0, len(deal_ids), f"Temporal is not configured: {len(deal_ids)} deals {RETRY_HINT}"
        )
    from dealpilot.temporal.starting import start_and_record

    started = 0
    for offset in range(0, len(deal_ids), batch):
        chunk = deal_ids[offset : offset + batch]
        results = await start_and_record(workflows, engine, chunk)
        ok = sum(1 for wid in results.values() if wid is not None)
        started += ok
        if ok == 0:
            break
        await asyncio.sleep(0)
    missing = len(deal_ids) - started
    if not missing:
        return StartReport(started, 0, None)
    return StartReport(
        started, missing, f"Temporal could not start {missing} workflows: those deals {RETRY_HINT}"
    )
