"""Backlink opportunities from the CSV exports of Ahrefs, Semrush and Ubersuggest.

Each tool names its columns its own way; the tool is recognised from the header (or given
as `tool=`). What each mapping corresponds to:

- ahrefs, Site Explorer -> Backlinks -> Export (UTF-16 LE with BOM, tab separated):
  "Referring page title", "Referring page URL", "Language", "Platform", "Domain rating",
  "UR", ..., "Target URL", "Left context", "Anchor", ..., "Nofollow", "UGC", "Sponsored",
  "First seen", "Last seen". Page: Referring page URL; authority: Domain rating (DR).
- ahrefs, Site Explorer -> Referring domains -> Export: "Domain", "Domain rating",
  "Dofollow ref. domains", ... Page: https://{Domain}/; authority: Domain rating.
- semrush, Backlink Analytics -> Backlinks -> Export: "Page ascore", "Source title",
  "Source url", "Target url", "Anchor", "External links", "Internal links", "Nofollow",
  "Sponsored", "Ugc", ..., "First seen", "Last seen", "New link", "Lost link". Page: Source
  url; authority: Page ascore (this export has no domain-level score).
- semrush, Backlink Gap (and Referring domains) export: "Domain", "Authority Score" (or
  "Domain ascore"), "Matches", one column per compared domain. Page: https://{Domain}/;
  authority: Authority Score.
- ubersuggest, Backlinks -> Export CSV: "Source Page Title", "Source URL", "Domain
  Authority" (newer exports: "Domain Score"), "Page Authority", "Anchor Text", "Target URL",
  "Link Type", "First Seen", "Last Seen". Page: Source URL; authority: Domain Authority.
- ubersuggest, Backlink Opportunity export: "Domain", "Domain Authority", ... Page:
  https://{Domain}/.

The competitor's page a row links to ("Target URL" in the export) is not ours: it stays in
`source_data` with every other column (header as exported, cell as text, capped at 500
characters). Column names are matched after `csvfile.normalise_header`, so "Source url" and
"Source URL" are the same; the Ubersuggest headers follow its current web export and both
"Domain Authority" and "Domain Score" are accepted.

Relevance (0-100): topical overlap between the brand and the row. Topic terms are the
`keywords` given to the import, else the words of the brand's name and domain; row words
come from the page title, the anchor and the page URL (host and path). Words are lowercased,
split on anything that is not a letter or digit, stop words and words under 3 letters
dropped, a plural "s" removed. Score = 100 * matched terms / min(3, number of terms), capped
at 100: three topic terms on the page (or all of them, when fewer) is fully relevant.

Rows are deduplicated per brand by target_url (lowercase scheme and host, no fragment): the
first row of a URL in the file wins (later ones are skipped), and a URL the brand already
has is updated (authority, relevance, source, source_data), never duplicated. A file-level
problem (encoding, quoting, no usable URL column) raises `CSVFormatError` before anything is
committed: the caller's transaction is rolled back and nothing is written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from sqlmodel import Session, col, select

from dealpilot.imports.csvfile import (
    ColumnMap,
    CSVFile,
    CSVFormatError,
    ImportRequestError,
    MissingColumnsError,
    Result,
    Row,
    batches,
    map_columns,
    read_csv,
)
from models import BacklinkOpportunity, Brand, find_brand

BATCH_ROWS = 500
MAX_CELL = 500


class Tool(StrEnum):
    ahrefs = "ahrefs"
    semrush = "semrush"
    ubersuggest = "ubersuggest"


# canonical field -> header names (normalised), best first. "page" is a full URL, "domain"
# a bare domain (domain-level exports).
ALIASES: dict[Tool, dict[str, tuple[str, ...]]] = {
    Tool.ahrefs: {
        "page": ("referring page url", "referring page"),
        "domain": ("domain", "referring domain"),
        "authority": ("domain rating", "dr"),
        "title": ("referring page title",),
        "anchor": ("anchor",),
    },
    Tool.semrush: {
        "page": ("source url",),
        "domain": ("domain", "referring domain"),
        "authority": ("authority score", "domain ascore", "page ascore"),
        "title": ("source title",),
        "anchor": ("anchor",),
    },
    Tool.ubersuggest: {
        "page": ("source url", "source page url"),
        "domain": ("domain", "source domain"),
        "authority": ("domain authority", "domain score"),
        "title": ("source page title", "source title", "page title"),
        "anchor": ("anchor text", "anchor"),
    },
}
# Headers that only one tool writes, to recognise it.
SIGNATURES: dict[Tool, frozenset[str]] = {
    Tool.ahrefs: frozenset({"domain rating", "referring page url", "ur", "dr"}),
    Tool.semrush: frozenset({"page ascore", "domain ascore", "authority score"}),
    Tool.ubersuggest: frozenset({"domain authority", "domain score", "page authority"}),
}

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:(?!\d)", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    "the and for with you your our are from this that how what why who www com net org "
    "html htm php amp http https index page blog post posts news".split()
)


@dataclass(frozen=True)
class RowOutcome:
    line: int
    target_url: str
    result: Result
    reason: str = ""
    opportunity_id: int | None = None


@dataclass
class ImportReport:
    brand_id: int
    tool: Tool
    rows: list[RowOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[Result, int]:
        found = Counter(row.result for row in self.rows)
        return {result: found[result] for result in Result}


# ------------------------------------------------------------------------------ parsing
def detect_tool(headers: Iterable[str]) -> Tool:
    present = set(headers)
    scores = {tool: len(sig & present) for tool, sig in SIGNATURES.items()}
    best = max(scores, key=lambda tool: scores[tool])
    if scores[best] == 0:
        raise CSVFormatError(
            "not an Ahrefs, Semrush or Ubersuggest export (no Domain rating, Authority "
            "Score/ascore or Domain Authority column); pass the tool explicitly",
            line=1,
        )
    return best


def terms(text: str) -> set[str]:
    found = set()
    for word in _WORD.findall(text.lower()):
        if len(word) < 3 or word in _STOP or word.isdigit():
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return found


def brand_terms(brand: Brand, keywords: str = "") -> set[str]:
    if keywords.strip():
        return terms(keywords)
    return terms(f"{brand.name} {brand.domain.split('.')[0]}")


def relevance(topic: set[str], *texts: str) -> int:
    if not topic:
        return 0
    words: set[str] = set()
    for text in texts:
        words |= terms(text)
    matched = len(topic & words)
    return min(100, round(100 * matched / min(3, len(topic))))


def normalise_target(value: str) -> str | None:
    """An http(s) URL with a host, scheme and host lowercased, no fragment; None if not one.
    A bare "example.com/page" gets https://."""
    text = value.strip()
    if not text:
        return None
    if "://" not in text:
        if _SCHEME.match(text):
            return None  # mailto:, javascript:, tel:...
        text = f"https://{text.lstrip('/')}"
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "." not in host:
        return None
    netloc = host.lower() + (f":{port}" if port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def authority(value: str) -> int | None:
    """DR / Authority Score / DA are 0-100 already; anything else is clamped, blanks are None."""
    text = value.strip().replace(",", "").rstrip("%")
    if not text or text in {"-", "n/a", "N/A"}:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return max(0, min(100, round(number)))


@dataclass(frozen=True)
class Opportunity:
    line: int
    target_url: str
    target_domain: str
    domain_authority: int | None
    relevance_score: int
    source_data: dict[str, str]


class RowMapper:
    def __init__(self, csv_file: CSVFile, tool: Tool, topic: set[str]) -> None:
        self.tool = tool
        self.columns: ColumnMap = map_columns(csv_file.headers, ALIASES[tool])
        if not (self.columns.has("page") or self.columns.has("domain")):
            names = " or ".join(repr(n) for n in (*ALIASES[tool]["page"], "domain"))
            raise MissingColumnsError([f"page URL ({names})"], csv_file.raw_headers)
        self._topic = topic
        self._raw = dict(zip(csv_file.headers, csv_file.raw_headers, strict=True))
        self._url_column = self.columns.columns.get("page") or self.columns.columns["domain"]

    def map(self, row: Row) -> Opportunity | RowOutcome:
        page = self.columns.get(row, "page")
        raw = page or self.columns.get(row, "domain")
        url = normalise_target(page) if page else normalise_target(raw.split("/")[0])
        if url is None:
            reason = "no URL" if not raw else f"not a web page URL: {raw[:100]!r}"
            return RowOutcome(row.line, raw[:2000], Result.invalid, reason)
        host = urlsplit(url).hostname or ""
        domain = host[4:] if host.startswith("www.") else host
        title, anchor = self.columns.get(row, "title"), self.columns.get(row, "anchor")
        path = urlsplit(url).path
        return Opportunity(
            line=row.line,
            target_url=url[:2000],
            target_domain=domain[:255],
            domain_authority=authority(self.columns.get(row, "authority")),
            relevance_score=relevance(self._topic, title, anchor, domain, path),
            source_data={
                self._raw[name]: value.strip()[:MAX_CELL]
                for name, value in row.values.items()
                if name != self._url_column and value.strip()
            },
        )


# ------------------------------------------------------------------------------ writing
def _brand(session: Session, ref: str) -> Brand:
    brand = find_brand(session, ref)
    if brand is None:
        raise ImportRequestError(f"No brand {ref!r}", field="brand", code="unknown_brand")
    return brand


def _tool(value: str | None) -> Tool | None:
    if value is None or not value.strip():
        return None
    try:
        return Tool(value.strip().lower())
    except ValueError:
        raise ImportRequestError(
            f"Unknown tool {value!r}; one of {', '.join(t.value for t in Tool)}",
            field="tool",
            code="unknown_tool",
        ) from None


def _write(
    session: Session, brand_id: int, tool: Tool, batch: list[Opportunity], report: ImportReport
) -> None:
    urls = [o.target_url for o in batch]
    existing = {
        row.target_url: row
        for row in session.exec(
            select(BacklinkOpportunity).where(
                col(BacklinkOpportunity.brand_id) == brand_id,
                col(BacklinkOpportunity.target_url).in_(urls),
            )
        ).all()
    }
    created: list[tuple[Opportunity, BacklinkOpportunity]] = []
    for found in batch:
        row = existing.get(found.target_url)
        values: dict[str, Any] = {
            "target_domain": found.target_domain,
            "domain_authority": found.domain_authority,
            "relevance_score": found.relevance_score,
            "source": tool.value,
            "source_data": found.source_data,
        }
        if row is None:
            row = BacklinkOpportunity.model_validate(
                {"brand_id": brand_id, "target_url": found.target_url, **values}
            )
            session.add(row)
            created.append((found, row))
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        for name in changed:
            setattr(row, name, values[name])
        session.add(row)
        result = Result.updated if changed else Result.skipped
        reason = f"updated {', '.join(changed)}" if changed else "already imported, unchanged"
        report.rows.append(RowOutcome(found.line, found.target_url, result, reason, row.id))
    session.flush()
    for found, row in created:
        report.rows.append(RowOutcome(found.line, found.target_url, Result.created, "", row.id))
    for row in existing.values():
        session.expunge(row)
    for _, row in created:
        session.expunge(row)


def import_backlinks(
    session: Session,
    stream: IO[bytes],
    *,
    brand: str,
    tool: str | None = None,
    keywords: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Reads the whole file into `session` (flushed, not committed: the caller commits, or
    rolls back on CSVFormatError). `brand` is an id or slug; `tool` is detected when None.
    `on_progress(rows_read)` runs after each batch."""
    row_brand = _brand(session, brand)
    assert row_brand.id is not None
    chosen = _tool(tool)
    csv_file = read_csv(stream, strict_columns=False)
    picked = chosen or detect_tool(csv_file.headers)
    mapper = RowMapper(csv_file, picked, brand_terms(row_brand, keywords))
    report = ImportReport(brand_id=row_brand.id, tool=picked)
    first_line: dict[str, int] = {}
    read = 0
    for batch in batches(csv_file, BATCH_ROWS):
        fresh: list[Opportunity] = []
        for row in batch:
            mapped = mapper.map(row)
            if isinstance(mapped, RowOutcome):
                report.rows.append(mapped)
            elif mapped.target_url in first_line:
                line = first_line[mapped.target_url]
                report.rows.append(
                    RowOutcome(
                        row.line, mapped.target_url, Result.skipped, f"duplicate of line {line}"
                    )
                )
            else:
                first_line[mapped.target_url] = row.line
                fresh.append(mapped)
        _write(session, row_brand.id, picked, fresh, report)
        read += len(batch)
        if on_progress is not None:
            on_progress(read)
    report.rows.sort(key=lambda outcome: outcome.line)
    return report
