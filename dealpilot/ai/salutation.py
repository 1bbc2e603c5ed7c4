"""Greeting lines without a model: "Hi Priya", "Hi Codeteki team", "Hi there".

Wrong names hurt more than generic greetings, so every rule leans towards "Hi there".
"""

from __future__ import annotations

import re

from dealpilot.ai.schemas import Salutation, SalutationInput

ROLE_ADDRESSES = frozenset(
    """info hello hi contact contactus enquiries enquiry inquiries inquiry sales admin
    support help office team marketing accounts accounting billing finance hr careers jobs
    service services noreply no-reply donotreply mail email webmaster web reception bookings
    booking partnerships partners media press news newsletter orders shop store general
    customerservice customercare feedback management manager studio events""".split()
)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame"})
# Names that say the "person" is a department or company, not someone to greet by name.
_NOT_A_PERSON = frozenset({"team", "info", "sales", "support", "admin", "office", "pty", "ltd"})
_WORD = re.compile(r"^[^\W\d_][^\W\d_'’-]*$")
_VOWELS = set("aeiouy")


def _proper(word: str) -> str:
    """Capitalise names typed in one case; keep deliberate casing (McDonald, DeSouza)."""
    if word.islower() or word.isupper():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def first_name_from_name(name: str | None) -> str | None:
    words = [w.strip(".,") for w in (name or "").split()]
    if not words or any(w.lower() in _NOT_A_PERSON for w in words):
        return None
    if words[0].lower().rstrip(".") in _TITLES:
        # "Dr Sharma": a title and a surname; greeting by surname alone would be odd.
        return None
    first = words[0]
    if len(first) < 2 or not _WORD.match(first):
        return None
    return _proper(first)


def first_name_from_email(email: str) -> str | None:
    local = email.split("@", 1)[0].split("+", 1)[0].lower()
    if local in ROLE_ADDRESSES:
        return None
    parts = [p for p in re.split(r"[._-]", local) if p]
    if len(parts) >= 2:  # priya.sharma, priya_sharma, priya-sharma
        first = parts[0]
        return _proper(first) if first.isalpha() and len(first) >= 2 else None
    # A bare local part is a first name only if it looks like one: "priya" yes, but
    # "psharma"/"jsmith" (initial + surname) start with no vowel in their first three letters.
    if local.isalpha() and 3 <= len(local) <= 10 and _VOWELS & set(local[:3]):
        return _proper(local)
    return None


def is_role_address(email: str) -> bool:
    return email.split("@", 1)[0].split("+", 1)[0].lower() in ROLE_ADDRESSES


def salutation(data: SalutationInput) -> Salutation:
    first = first_name_from_name(data.name)
    if first is None and not is_role_address(data.email):
        first = first_name_from_email(data.email)
    if first is not None:
        return Salutation(greeting=f"Hi {first}", first_name=first)
    if is_role_address(data.email) and data.company and data.company.strip():
        return Salutation(greeting=f"Hi {data.company.strip()} team", first_name=None)
    return Salutation(greeting="Hi there", first_name=None)
