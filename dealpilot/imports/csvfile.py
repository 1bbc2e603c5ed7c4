"""A small streaming reader for the CSV files operators upload (contact lists, Ahrefs /
Semrush / Ubersuggest exports).

Public API:

- `read_csv(stream, *, strict_columns=True) -> CSVFile`: `stream` is any binary file object
  with `.read(n)` (an upload's `.file`, `open(path, "rb")`). The header is read eagerly (so a
  bad file fails at once); the rows are read lazily, one chunk at a time:
  `for row in csv_file: row.line, row.values` where `values` maps normalised header names to
  the raw cell text and `line` is the 1-based physical line the record starts on.
  `csv_file.headers` (normalised), `.raw_headers`, `.encoding`, `.delimiter` describe it.
- `CSVFormatError(message, line=None)`: the file as a whole cannot be read (empty, no header,
  wrong encoding, broken quoting, a row with more cells than the header, a spreadsheet
  instead of a CSV). It can be raised while iterating, so callers that write rows must do so
  in a transaction they roll back on this error: nothing of a broken file is imported.
- `normalise_header(text)`: strip, drop a BOM, lowercase, collapse runs of spaces,
  underscores and dashes into one space ("E-Mail_Address " -> "e mail address").
- `map_columns(headers, aliases, required=())` -> `ColumnMap`: finds the column for each
  canonical field from a set of aliases (compared normalised); `.missing` lists required
  fields without a column, `.require()` raises `MissingColumnsError` naming the columns
  found, and `.get(row, field)` reads a stripped cell ("" when the field has no column).

Encoding comes from the BOM (UTF-8, UTF-16 LE/BE; UTF-16 without BOM is recognised by its
zero bytes), else UTF-8 - strictly: undecodable bytes are an error with the line number and a
hint, never replacement characters. The delimiter (comma, semicolon, tab or pipe) is sniffed
from the first chunk, or taken from an Excel `sep=;` first line.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, NamedTuple

from dealpilot.core.errors import ErrorDetail, InvalidInput, Unprocessable

__all__ = [
    "DELIMITERS",
    "CSVFile",
    "CSVFormatError",
    "ColumnMap",
    "ImportRequestError",
    "MissingColumnsError",
    "Result",
    "Row",
    "batches",
    "map_columns",
    "normalise_header",
    "read_csv",
]

DELIMITERS = (",", ";", "\t", "|")
CHUNK_BYTES = 64 * 1024
_SAMPLE_CHARS = 64 * 1024
_SEPARATORS = re.compile(r"[\s_\-]+")
_SEP_LINE = re.compile(r"sep=([,;\t|])\r?\n")
_SAVE_HINT = "save the file as 'CSV UTF-8' and upload it again"
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


class CSVFormatError(InvalidInput):
    """The file cannot be imported as a whole (422 `invalid_file`; nothing of it is
    imported). `problem` is the reason, `line` is 1-based when known."""

    code = "invalid_file"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.problem, self.line = message, line
        located = f"line {line}: {message}" if line is not None else message
        where = f"line {line}" if line is not None else "file"
        super().__init__(
            f"The file cannot be imported; nothing was imported. {located}",
            details=[ErrorDetail(field="file", problem=f"{where}: {message}")],
        )


class Result(StrEnum):
    """What an import did with one row."""

    created = "created"
    updated = "updated"
    skipped = "skipped"
    invalid = "invalid"


class ImportRequestError(InvalidInput):
    """The request itself is wrong (unknown brand, pipeline or tool), whatever the file holds
    (422); `field` names the option, `code` is the error code."""

    def __init__(self, message: str, *, field: str, code: str) -> None:
        super().__init__(message, code=code, details=[ErrorDetail(field=field, problem=message)])
        self.field = field


class MissingColumnsError(CSVFormatError):
    """No column for a required field (422 `missing_columns`, one detail per column)."""

    code = "missing_columns"

    def __init__(self, missing: Iterable[str], found: Iterable[str]) -> None:
        self.missing = tuple(missing)
        self.found = tuple(found)
        found_text = ", ".join(repr(name) for name in self.found) or "none"
        self.problem = (
            f"no column for {', '.join(self.missing)}; the columns found are: {found_text}"
        )
        self.line = 1
        Unprocessable.__init__(
            self,
            self.problem,
            details=[
                ErrorDetail(field="file", problem=f"no {name} column") for name in self.missing
            ],
        )


class Row(NamedTuple):
    line: int
    values: dict[str, str]


def normalise_header(text: str) -> str:
    return _SEPARATORS.sub(" ", text.replace("\ufeff", "").strip().lower()).strip()


def _detect_encoding(head: bytes) -> tuple[str, int]:
    """(codec, BOM length) from the first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    # UTF-16 without a BOM: ASCII header characters come with a zero byte beside them.
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le", 0
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be", 0
    return "utf-8", 0


class _Lines:
    """Decodes the stream chunk by chunk and hands out text lines with their endings, so
    csv's quoted newlines survive. Tracks the physical line for decoding errors."""

    def __init__(self, stream: IO[bytes], first: bytes, encoding: str) -> None:
        self._stream = stream
        self._first: bytes | None = first
        self._encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._newlines = 0  # newlines decoded so far
        self._pending = ""
        self._ready: deque[str] = deque()
        self._eof = False

    def _decode(self, chunk: bytes, *, final: bool) -> str:
        buffered = self._decoder.getstate()[0]
        try:
            return self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            good = (buffered + chunk)[: exc.start].decode(self._encoding, errors="replace")
            line = self._newlines + good.count("\n") + 1
            raise CSVFormatError(
                f"bytes that are not valid {self._encoding.upper()} "
                f"({(buffered + chunk)[exc.start : exc.end]!r}); {_SAVE_HINT}",
                line=line,
            ) from None

    def _fill(self) -> bool:
        """Decode one more chunk into ready lines; False at the end of the stream."""
        if self._eof:
            return False
        if self._first is not None:
            chunk, self._first = self._first, None
        else:
            chunk = self._stream.read(CHUNK_BYTES)
        final = not chunk
        text = self._decode(chunk, final=final)
        self._newlines += text.count("\n")
        parts = (self._pending + text).split("\n")
        self._pending = parts.pop()
        self._ready.extend(part + "\n" for part in parts)
        if final:
            self._eof = True
            if self._pending:
                self._ready.append(self._pending)
                self._pending = ""
        return True

    def sample(self) -> str:
        """The first lines (at least two, when the file has them) without consuming them."""
        while len(self._ready) < 3 and sum(map(len, self._ready)) < _SAMPLE_CHARS:
            if not self._fill():
                break
        return "".join(itertools.islice(self._ready, 50))

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._ready:
            if not self._fill():
                raise StopIteration
        return self._ready.popleft()


def _sniff_delimiter(sample: str) -> str:
    """The candidate that splits the header into the most cells; ties go to the one that
    also splits the next lines into the same number of cells, then to DELIMITERS order."""
    lines = sample.splitlines()[:20] or [""]
    best, best_score = ",", (1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for row in rows[1:] if len(row) == width)
        score = (width, consistent)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _unique_headers(raw: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    headers = []
    for index, name in enumerate(raw, start=1):
        key = normalise_header(name) or f"column {index}"
        if key in seen:
            seen[key] += 1
            key = f"{key} {seen[key]}"
        else:
            seen[key] = 1
        headers.append(key)
    return headers


@dataclass
class CSVFile:
    """An open CSV: header known, rows read lazily by iterating (once)."""

    encoding: str
    delimiter: str
    raw_headers: list[str]
    headers: list[str]
    strict_columns: bool
    _reader: Iterator[list[str]] = field(repr=False)
    _line_of_next: Iterator[int] = field(repr=False)

    def __iter__(self) -> Iterator[Row]:
        width = len(self.headers)
        while True:
            start = next(self._line_of_next)
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CSVFormatError(f"malformed CSV ({exc})", line=start) from None
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width:
                extra = [cell for cell in cells[width:] if cell.strip()]
                if extra and self.strict_columns:
                    raise CSVFormatError(
                        f"{len(cells)} cells but the header has {width} columns "
                        "(an unquoted delimiter inside a value?)",
                        line=start,
                    )
                cells = cells[:width]
            values = dict(zip(self.headers, cells, strict=False))
            for name in self.headers[len(cells) :]:
                values[name] = ""
            yield Row(start, values)


def read_csv(stream: IO[bytes], *, strict_columns: bool = True) -> CSVFile:
    """Open `stream` as CSV and read its header; see the module docstring."""
    first = stream.read(CHUNK_BYTES)
    if not first.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise CSVFormatError("the file is empty")
    if first.startswith(_SPREADSHEET_MAGIC):
        raise CSVFormatError(f"this is a spreadsheet workbook, not a CSV file; {_SAVE_HINT}")
    encoding, bom = _detect_encoding(first[:4])
    lines = _Lines(stream, first[bom:], encoding)
    sample = lines.sample()
    skipped = 0
    declared = _SEP_LINE.match(sample)
    if declared:  # Excel's "sep=;" first line names the delimiter
        delimiter = declared.group(1)
        next(lines)
        skipped = 1
    else:
        delimiter = _sniff_delimiter(sample)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)

    def line_of_next() -> Iterator[int]:
        while True:
            yield reader.line_num + 1 + skipped

    line_numbers = line_of_next()
    raw: list[str] = []
    while not any(cell.strip() for cell in raw):
        start = next(line_numbers)
        try:
            raw = next(reader)
        except StopIteration:
            raise CSVFormatError("the file is empty") from None
        except csv.Error as exc:
            raise CSVFormatError(f"malformed header ({exc})", line=start) from None
    if "\x00" in "".join(raw):
        raise CSVFormatError(f"the header contains zero bytes; {_SAVE_HINT}", line=start)
    return CSVFile(
        encoding=encoding,
        delimiter=delimiter,
        raw_headers=[cell.replace("\ufeff", "").strip() for cell in raw],
        headers=_unique_headers(raw),
        strict_columns=strict_columns,
        _reader=reader,
        _line_of_next=line_numbers,
    )


@dataclass(frozen=True)
class ColumnMap:
    """Which header column holds each canonical field."""

    columns: dict[str, str]
    missing: tuple[str, ...]
    found: tuple[str, ...]

    def require(self) -> ColumnMap:
        if self.missing:
            raise MissingColumnsError(self.missing, self.found)
        return self

    def has(self, canonical: str) -> bool:
        return canonical in self.columns

    def get(self, row: Row | Mapping[str, str], canonical: str) -> str:
        values = row.values if isinstance(row, Row) else row
        column = self.columns.get(canonical)
        return values.get(column, "").strip() if column is not None else ""


def map_columns(
    headers: Iterable[str],
    aliases: Mapping[str, Iterable[str]],
    required: Iterable[str] = (),
) -> ColumnMap:
    """`aliases` maps each canonical field to the header names that mean it, best first
    (the canonical name itself always counts). A column serves one field only."""
    present = list(headers)
    by_name = {normalise_header(name): name for name in reversed(present)}
    taken: set[str] = set()
    columns: dict[str, str] = {}
    for canonical, names in aliases.items():
        for alias in (canonical, *names):
            column = by_name.get(normalise_header(alias))
            if column is not None and column not in taken:
                columns[canonical] = column
                taken.add(column)
                break
    missing = tuple(name for name in required if name not in columns)
    return ColumnMap(columns=columns, missing=missing, found=tuple(present))


def batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """`rows` in lists of `size` (the last one shorter), read lazily."""
    it = iter(rows)
    while batch := list(itertools.islice(it, size)):
        yield batch
