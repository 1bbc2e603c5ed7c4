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

_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)\b"),  # ISO
    re.compile(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.](?P<year>\d{4}|\d{2})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b{_YEAR}"),  # 3 March, 3rd of March 2027
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}"),  # March 3rd, Mar 3, 2027
    re.compile(rf"\b{_WEEKDAY},?\s+(?:the\s+)?{_DAY}\b"),  # Monday 5th (month claimed above)
    re.compile(rf"\b(?:on|until|till|til|back|returning|return)\s+{_WEEKDAY}\b"),  # back Monday
]

# Words that introduce the date someone is back; dates after them win over other dates
# ("away from 1 March, back on 10 March").
_RETURN_WORDS = re.compile(r"\b(until|till|til|back|return|returning|returns|resume)\b", re.I)


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


def _from_match(m: re.Match[str], after: date) -> date | None:
    groups = m.groupdict()
    weekday = WEEKDAYS.get((groups.get("weekday") or "").lower())
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
    month = int(month_s) if month_s.isdigit() else MONTHS[month_s.lower().rstrip(".")]
    if month > 12 and day <= 12:  # 03/12/2027 can only be month/day when "month" > 12
        day, month = month, day
    if year_s is None:
        return _next_occurrence(month, day, after)
    year = int(year_s)
    year = year + 2000 if year < 100 else year
    return _safe_date(year, month, day)


def find_return_date(text: str, received: date) -> date | None:
    """The date someone says they are back, or None when no date is given."""
    found: list[tuple[int, date]] = []
    taken: list[range] = []
    for pattern in _PATTERNS:  # most specific first; later patterns skip overlapping spans
        for m in pattern.finditer(text.lower()):
            span = range(m.start(), m.end())
            if any(span.start < t.stop and t.start < span.stop for t in taken):
                continue
            parsed = _from_match(m, received)
            if parsed is not None:
                found.append((m.start(), parsed))
                taken.append(span)
    if not found:
        return None
    cue = _RETURN_WORDS.search(text)
    if cue is not None:
        after_cue = [d for pos, d in sorted(found) if pos >= cue.start()]
        if after_cue:
            return after_cue[0]
    return max(d for _, d in found)
