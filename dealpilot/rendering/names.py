"""A first name for "Hi {name}", guessed from a contact's name or email address, or "" when
it cannot be told with confidence (role mailboxes, companies, initials glued to surnames)."""

from __future__ import annotations

import re

_ROLE_MAILBOXES = frozenset(
    """info sales admin administrator contact contactus hello hi hey support help enquiries
    enquiry inquiries inquiry office team mail email accounts account accounting billing
    finance marketing noreply donotreply reply reception frontdesk bookings booking book
    service services webmaster web media press pr careers jobs hr recruitment events
    realestate rentals rental property properties leasing director manager owner ceo founder
    general orders order shop store newsletter news feedback partners partnerships hosting
    it tech dev legal privacy compliance operations ops studio agency""".split()
)
_HONORIFICS = frozenset("mr mrs ms miss mx dr prof sir madam dame shri smt sri".split())
_COMPANY_WORDS = frozenset(
    """pty ltd limited inc llc co corp company group realty solutions services team
    consulting studio agency holdings enterprises trust partners""".split()
)
# Two leading consonants read like a name ("Priya", "Chris") only for these onsets;
# otherwise a run like "jsmith" is an initial glued to a surname.
_ONSETS = frozenset(
    """bh bl br ch cl cr dh dr fl fr gh gl gr kh kr ph pl pr sh sk sl sm sn sp st sw th tr
    wh""".split()
)
_VOWELS = frozenset("aeiouy")
_NAME_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def _tidy_case(word: str) -> str:
    if word.islower() or word.isupper():
        return "-".join(part.capitalize() for part in word.split("-"))
    return word


def first_name_from(name: str, email: str) -> str:
    """A first name fit for "Hi {name}", or "" when none can be told with confidence.

    "Priya Sharma" -> "Priya"; "SHARMA, Priya" -> "Priya"; "priya.sharma@x" -> "Priya";
    "info@x" / "sales@x" / "jsmith@x" -> "".
    """
    cleaned = re.sub(r"[\"()<>]", " ", name or "").strip()
    if cleaned and "@" not in cleaned:
        if "," in cleaned:  # "Surname, First"
            cleaned = cleaned.split(",", 1)[1].strip() or cleaned.split(",", 1)[0]
        words = [w.strip("'.") for w in re.split(r"\s+", cleaned) if w.strip("'.")]
        if not any(w.lower().strip(".") in _COMPANY_WORDS for w in words):
            words = [w for w in words if w.lower().strip(".") not in _HONORIFICS]
            if words and len(words[0]) > 1 and _NAME_WORD_RE.fullmatch(words[0]):
                return _tidy_case(words[0])
    local, _, domain = (email or "").partition("@")
    local = local.split("+", 1)[0].lower()
    tokens = [t for t in re.split(r"[._\-]+", local) if t]
    if not tokens:
        return ""
    first = re.sub(r"\d+$", "", tokens[0])
    if not first.isalpha() or len(first) < 2 or first in _ROLE_MAILBOXES:
        return ""
    domain_label = domain.lower().split(".", 1)[0]
    if first == domain_label:
        return ""
    if len(tokens) == 1:
        if not 3 <= len(first) <= 12 or not _VOWELS.intersection(first):
            return ""
        if first[0] not in _VOWELS and first[1] not in _VOWELS and first[:2] not in _ONSETS:
            return ""
    return first.capitalize()
