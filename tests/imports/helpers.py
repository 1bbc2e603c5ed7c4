"""CSV bytes as operators' tools write them, and a look at what an import stored."""

from __future__ import annotations

import codecs
import csv
import io

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from dealpilot.imports.contacts import ImportOptions, ImportReport, import_contacts
from dealpilot.imports.csvfile import Result
from dealpilot.imports.mx import MailDomainChecker
from models import Contact


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False
) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    if bom:
        data = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE}[encoding] + data
    return data


def run_import(
    engine: Engine,
    data: bytes,
    *,
    mx: MailDomainChecker | None = None,
    **options: object,
) -> ImportReport:
    """One import, committed as the API and CLI commit it (rolled back on any error)."""
    opts = ImportOptions(**options)  # type: ignore[arg-type]
    with Session(engine, expire_on_commit=False) as session:
        try:
            report = import_contacts(session, io.BytesIO(data), opts, mx=mx)
        except BaseException:
            session.rollback()
            raise
        session.commit()
    return report


def outcomes(report: ImportReport) -> list[tuple[int, str, str, str]]:
    return [(r.line, r.email, str(r.result), r.reason) for r in report.rows]


def counts(report: ImportReport) -> dict[str, int]:
    return {str(result): n for result, n in report.counts.items()}


def contacts_of(engine: Engine, brand_id: int) -> dict[str, Contact]:
    with Session(engine) as s:
        rows = s.execute(select(Contact).where(col(Contact.brand_id) == brand_id)).scalars()
        return {c.email: c for c in rows}


def contact_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.execute(select(func.count()).select_from(Contact)).scalar_one())


__all__ = ["Result", "contact_count", "contacts_of", "counts", "csv_bytes", "outcomes"]
