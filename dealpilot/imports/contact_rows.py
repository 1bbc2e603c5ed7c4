"""The rows of a contacts CSV: its columns (with their usual aliases), the import's options,
and the checks that turn one file row into a contact to write or a row outcome (invalid
address, duplicate in the file, unreachable mail domain). No database access: the writing is
`dealpilot.imports.contacts`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any

from pydantic import ValidationError, field_validator

from dealpilot.imports.csvfile import ColumnMap, CSVFile, Result, Row, map_columns, read_csv
from dealpilot.imports.mx import MailDomainChecker
from models import ContactType
from models.brand import check_timezone
from models.contact import ContactBase, normalise_email

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
UPDATABLE_FIELDS = ("name", *_PLAIN)
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


def open_contacts_file(stream: IO[bytes]) -> tuple[CSVFile, ColumnMap]:
    """The file's reader and column map; raises CSVFormatError / MissingColumnsError."""
    csv_file = read_csv(stream)
    return csv_file, map_columns(csv_file.headers, ALIASES, required=["email"]).require()


class _Fields(ContactBase):
    """ContactCreate's checks without its email validator: the address is normalised once
    before (validation is most of an import's CPU time)."""

    _tz = field_validator("timezone")(check_timezone)


@dataclass(slots=True)
class Candidate:
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


class RowChecker:
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

    def candidate(self, row: Row) -> Candidate | RowOutcome:
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
        return Candidate(row.line, email, data, given | ({"tags"} if tags else set()))
