"""Backlink opportunities from pasted page URLs (one a line, or separated by commas or
spaces): the console's quick import beside the research tools' CSV exports
(`dealpilot.backlinks.imports`), with the same URL rules (http(s) only, scheme and host
lowercased, no fragment), the same relevance score and the same per-brand deduplication: a URL
the brand already has is reported, never duplicated. Flushes; the caller commits."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from dealpilot.backlinks.imports import (
    RowOutcome,
    brand_terms,
    normalise_target,
    relevance,
)
from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.imports.csvfile import Result
from models import BacklinkOpportunity, Brand

MAX_URLS = 500
SOURCE = "pasted"
_SPLIT = re.compile(r"[\s,;]+")


def import_urls(session: Session, brand: Brand, text: str) -> list[RowOutcome]:
    """One row outcome per pasted item, numbered from 1 in the order given."""
    assert brand.id is not None
    items = [item for item in _SPLIT.split(text) if item]
    if not items:
        raise Unprocessable(
            "Paste at least one page URL",
            code="no_urls",
            details=[ErrorDetail(field="urls", problem="empty")],
        )
    if len(items) > MAX_URLS:
        raise Unprocessable(
            f"At most {MAX_URLS} URLs at a time; import a CSV export for more",
            code="too_many_urls",
            details=[ErrorDetail(field="urls", problem=f"{len(items)} given")],
        )
    report: list[RowOutcome] = []
    topic = brand_terms(brand)
    wanted: dict[str, int] = {}
    for line, item in enumerate(items, start=1):
        url = normalise_target(item)
        if url is None:
            reason = f"not a web page URL: {item[:100]!r}"
            report.append(RowOutcome(line, item[:2000], Result.invalid, reason))
        elif url in wanted:
            reason = f"duplicate of line {wanted[url]}"
            report.append(RowOutcome(line, url, Result.skipped, reason))
        else:
            wanted[url] = line
    existing = {
        row.target_url: row.id
        for row in session.exec(
            select(BacklinkOpportunity).where(
                col(BacklinkOpportunity.brand_id) == brand.id,
                col(BacklinkOpportunity.target_url).in_(list(wanted)),
            )
        ).all()
    }
    created: list[tuple[int, BacklinkOpportunity]] = []
    for url, line in wanted.items():
        if url in existing:
            outcome = RowOutcome(line, url, Result.skipped, "already imported", existing[url])
            report.append(outcome)
            continue
        parts = urlsplit(url)
        host = parts.hostname or ""
        domain = host[4:] if host.startswith("www.") else host
        row = BacklinkOpportunity(
            brand_id=brand.id,
            target_url=url[:2000],
            target_domain=domain[:255],
            relevance_score=relevance(topic, domain, parts.path),
            source=SOURCE,
        )
        session.add(row)
        created.append((line, row))
    session.flush()
    for line, row in created:
        report.append(RowOutcome(line, row.target_url, Result.created, "", row.id))
    report.sort(key=lambda outcome: outcome.line)
    return report
