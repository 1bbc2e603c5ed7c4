"""Return dates in out-of-office replies: "3 March", "March 3rd", "12/03/2027", "Monday 5th".

Numeric dates are read day/month/year, as our brands and most of their contacts are
Australian; only when the first number cannot be a day-of-month pair (13/25/...) reversed
does it flip to month/day. Dates without a year mean the next such date on or after the
day the reply arrived.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
WEEKDAYS = {
    name: i
    for i, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?P<weekday>" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(?P<year>(?:19|20)\d\d))?"
# A weekday alone ("back Monday") only when no date follows it ("back Monday 16 March" is
# read by the date patterns, not as the coming Monday).
_NO_DATE_AFTER = r"(?!,?\s+(?:the\s+)?\d)"

_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)\b"),  # ISO
    re.compile(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.](?P<year>\d{4}|\d{2})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b{_YEAR}"),  # 3 March, 3rd of March 2027
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}"),  # March 3rd, Mar 3, 2027
    re.compile(r"(?<![\d/.])\b(?P<day>\d{1,2})/(?P<month>\d{1,2})\b(?![/.]\d)"),  # 20/7
    re.compile(rf"\b{_WEEKDAY},?\s+(?:the\s+)?{_DAY}\b"),  # Monday 5th (month claimed above)
    re.compile(
        rf"\b(?:on|until|till|til|back|returning|return|reopen\w*|from|by)\s+(?:next\s+)?"
        rf"{_WEEKDAY}\b{_NO_DATE_AFTER}"
    ),  # back Monday, until next Friday
    re.compile(r"\b(?:on|until|till|til|by)\s+the\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b"),
    # A month alone: "back in July", "until mid-September", "returning in February 2027".
    re.compile(
        rf"\b(?:in|until|till|til|by|after)\s+(?:the\s+)?(?:(?P<part>early|mid|late|end of)"
        rf"[\s-]+)?{_MONTH}\b{_YEAR}"
    ),
    re.compile(r"\b(?P<relative>tomorrow)\b"),
]

# Words that introduce the date someone is back; dates after them win over other dates
# ("away from 1 March, back on 10 March").
_RETURN_WORDS = re.compile(
    r"\b(until|till|til|tak|back|return|returning|returns|resume|resuming|reopen\w*|re-open\w*)\b",
    re.I,
)
_PART_DAY = {None: 1, "early": 1, "mid": 15, "late": 25}


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_occurrence(month: int, day: int, after: date) -> date | None:
    for year in range(after.year, after.year + 5):  # 29 Feb may need a few years
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= after:
            return candidate
    return None


def _month_number(month_s: str) -> int:
    return int(month_s) if month_s.isdigit() else MONTHS[month_s.lower().rstrip(".")]


def _month_alone(groups: dict[str, str | None], after: date) -> date | None:
    month = _month_number(groups["month"] or "")
    part = groups.get("part")
    if part == "end of":
        first_next = date(after.year + month // 12, month % 12 + 1, 1)
        day = (first_next - timedelta(days=1)).day
    else:
        day = _PART_DAY[part]
    if groups.get("year"):
        return _safe_date(int(groups["year"] or 0), month, day)
    # "back in July" said in July means this July; otherwise the next July.
    if month == after.month:
        return _safe_date(after.year, month, day)
    return _next_occurrence(month, day, after)


def _from_match(m: re.Match[str], after: date) -> date | None:
    groups = m.groupdict()
    if groups.get("relative"):
        return after + timedelta(days=1)
    if "part" in groups:
        return _month_alone(groups, after)
    weekday = WEEKDAYS.get((groups.get("weekday") or "").lower().rstrip("."))
    day_s, month_s, year_s = groups.get("day"), groups.get("month"), groups.get("year")
    if month_s is None and weekday is not None and day_s is None:
        return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)
    if month_s is None:  # "Monday 5th": the next 5th, or a Monday 5th in the next few months
        day = int(day_s or 0)
        candidates = []
        for offset in range(4):
            month_index = after.month - 1 + offset
            found = _safe_date(after.year + month_index // 12, month_index % 12 + 1, day)
            if found is not None and found >= after:
                candidates.append(found)
        matching = [c for c in candidates if weekday is None or c.weekday() == weekday]
        chosen = matching or candidates
        return chosen[0] if chosen else None
    day = int(day_s or 0)
    month = _month_number(month_s)
    if month > 12 and day <= 12:  # 03/12/2027 can only be month/day when "month" > 12
        day, month = month, day
    if year_s is None:
        return _next_occurrence(month, day, after)
    year = int(year_s)
    year = year + 2000 if year < 100 else year
    return _safe_date(year, month, day)


def find_return_date(text: str, received: date) -> date | None:
    """The date someone says they are back, or None when no date is given."""
    lowered = text.lower()
    found: list[tuple[int, date]] = []
    taken: list[range] = []
    for pattern in _PATTERNS:  # most specific first; later patterns skip overlapping spans
        for m in pattern.finditer(lowered):
            span = range(m.start(), m.end())
            if any(span.start < t.stop and t.start < span.stop for t in taken):
                continue
            parsed = _from_match(m, received)
            if parsed is not None:
                found.append((m.start(), parsed))
                taken.append(span)
    if not found:
        return None
    found.sort()
    # The last cue word before a date decides ("from 24/12 ... back Monday 4/1").
    cues = [c.start() for c in _RETURN_WORDS.finditer(lowered)]
    for cue in reversed(cues):
        after_cue = [d for pos, d in found if pos >= cue]
        if after_cue:
            return after_cue[0]
    return max(d for _, d in found)
