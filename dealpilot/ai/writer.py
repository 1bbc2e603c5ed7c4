"""The offline email writer: real copy from the brief (the brand's description and voice, the
pipeline, the stage's goal, the contact's engagement, what was already sent).

`notes` are instructions for whoever writes (an approach note from the deal analysis, an
operator's brief): they shape the email and are never pasted into it. The layout adds the
greeting and the signature, so the body has neither.
"""

from __future__ import annotations

import re
import zlib

from dealpilot.ai.schemas import ComposedEmail, ComposeInput

# What each kind of pipeline offers, when the brand has no description of its own.
OFFERS = {
    "sales": "help businesses like {yours} save time with better websites, apps and automation",
    "backlink": "publish in-depth guides that make a useful further-reading link",
    "partnership": "work with organisations like {yours} on things that help both audiences",
    "directory": "list businesses like {yours} where their customers already look",
    "onboarding": "help new members get the most out of their listing",
    "events": "put events in front of the community that goes to them",
}
_SHORTER = re.compile(r"\b(?:short|brief|different angle|new angle|concise)\w*", re.IGNORECASE)


def _company(data: ComposeInput) -> str:
    return data.contact_company or "your business"


def _offer(data: ComposeInput) -> str:
    """One clause on what the brand does, from its description when it has one."""
    if data.brand_description:
        first = re.split(r"(?<=[.!?])\s", data.brand_description.strip(), maxsplit=1)[0]
        return first.rstrip(".!?")
    template = OFFERS.get(data.pipeline_type, OFFERS["sales"])
    return f"{data.brand_name} can {template.format(yours=data.contact_company or 'yours')}"


def _stage(data: ComposeInput) -> str:
    purpose = f"{data.purpose} {data.stage_name}".lower()
    if any(word in purpose for word in ("final", "last", "break")):
        return "final"
    if "follow" in purpose or data.previous_subjects:
        return "follow"
    return "intro"


def _pick(options: list[str], data: ComposeInput) -> str:
    """A stable choice per contact, so two contacts do not get word-for-word twins."""
    return options[zlib.crc32(data.contact_email.lower().encode()) % len(options)]


def _ask(data: ComposeInput) -> str:
    if data.engagement_tier in ("hot", "warm"):
        return "Would a 15-minute call this week be useful? Reply with a time that suits."
    if data.engagement_tier in ("cold", "ghost", "lurker"):
        return "Is this on your radar at all this year? A one-word yes or no is perfect."
    return "Would you be open to a short call to see if it fits?"


def compose(data: ComposeInput) -> ComposedEmail:
    company = _company(data)
    stage = _stage(data)
    offer = _offer(data)
    shorter = bool(data.notes and _SHORTER.search(data.notes))
    first_subject = data.previous_subjects[0] if data.previous_subjects else None
    if stage == "final":
        subject = "Should I close the loop?"
        body = [
            f"I've written a couple of times about {data.brand_name} and {company}, and I don't "
            "want to crowd your inbox.",
            "If the timing is wrong, just say so and I'll stop here. If it's worth a look, "
            "reply with a good time and I'll keep it to 15 minutes.",
        ]
    elif stage == "follow":
        subject = f"Re: {first_subject}" if first_subject else f"Following up: {data.brand_name}"
        body = [
            _pick(
                [
                    "Bringing my earlier note back to the top of your inbox.",
                    "A quick follow-up on my last email.",
                    "Circling back on the note I sent a few days ago.",
                ],
                data,
            ),
            f"In short: {offer[:1].lower()}{offer[1:]}.",
            _ask(data),
        ]
    else:
        subject = (
            f"{data.brand_name} for {company}"
            if data.contact_company
            else (f"A quick idea from {data.brand_name}")
        )
        body = [
            f"I'm writing from {data.brand_name}. {offer}.",
            _pick(
                [
                    f"I had a look at {data.contact_website} and thought there could be a fit."
                    if data.contact_website
                    else f"I thought there could be a good fit with {company}.",
                    f"It seemed a natural fit for {company}, so I wanted to reach out directly.",
                ],
                data,
            ),
            _ask(data),
        ]
    if shorter and len(body) > 2:
        body = [body[0], body[-1]]
    seen = {s.strip().lower() for s in data.previous_subjects}
    if subject.strip().lower() in seen:
        subject = f"{subject} ({len(seen) + 1})"
    return ComposedEmail(subject=subject[:120], body_paragraphs=body)
