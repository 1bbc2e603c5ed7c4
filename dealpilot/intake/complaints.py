"""Spam complaints reported by the sending services' event webhooks, as `complaint` events:
Mailgun's `complained`, Postmark's `SpamComplaint` and SendGrid's `spamreport`. (Feedback-loop
reports that arrive as mail, ARF, are read by the inbox poller.) Other event types in the same
webhooks are not complaints and are left out here. Matching: the Message-ID the service
reports, else the latest mail from the brand (by our sending address) to the recipient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dealpilot.intake.providers import MalformedEvent, addresses, message_ids, parse_date
from dealpilot.intake.recording import Inbound, content_key
from models import EmailEventType

BrandFor = Callable[[list[str]], int | None]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _complaint(
    *,
    source: str,
    dedupe_key: str,
    recipient: str,
    when: Any,
    brand_id: int | None,
    ids: tuple[str, ...],
    payload: dict[str, Any],
) -> Inbound:
    found = addresses(recipient)
    if not found:
        raise MalformedEvent("the complaint names no recipient")
    return Inbound(
        event_type=EmailEventType.complaint,
        source=source,
        dedupe_key=dedupe_key,
        occurred_at=parse_date(when),
        brand_id=brand_id,
        message_ids=ids,
        email=found[0],
        text=f"spam complaint reported by {source}",
        payload=payload,
    )


def mailgun_complaints(data: Any, brand_for: BrandFor) -> list[Inbound]:
    """`{"signature": {...}, "event-data": {"event": "complained", "id", "timestamp",
    "recipient", "message": {"headers": {"message-id", "from", ...}}}}`."""
    if not isinstance(data, dict) or not isinstance(data.get("event-data"), dict):
        raise MalformedEvent("event-data is required")
    event = data["event-data"]
    if event.get("event") != "complained":
        return []
    message = _dict(event.get("message"))
    headers = _dict(message.get("headers"))
    message_id = _str(headers.get("message-id"))
    recipient = _str(event.get("recipient"))
    return [
        _complaint(
            source="mailgun",
            dedupe_key=_str(event.get("id")) or content_key("complained", recipient, message_id),
            recipient=recipient,
            when=event.get("timestamp"),
            brand_id=brand_for(addresses(_str(headers.get("from")))),
            ids=message_ids(message_id),
            payload={"event": "complained", "event_id": event.get("id"), "message_id": message_id},
        )
    ]


def postmark_complaints(data: Any, brand_for: BrandFor) -> list[Inbound]:
    """`{"RecordType": "SpamComplaint", "ID", "Email", "From", "MessageID", "BouncedAt", ...}`."""
    if not isinstance(data, dict) or not isinstance(data.get("RecordType"), str):
        raise MalformedEvent("RecordType is required")
    if data["RecordType"] != "SpamComplaint":
        return []
    recipient = _str(data.get("Email"))
    event_id = data.get("ID") or content_key(recipient, data.get("MessageID"))
    return [
        _complaint(
            source="postmark",
            dedupe_key=f"complaint:{event_id}",
            recipient=recipient,
            when=data.get("BouncedAt"),
            brand_id=brand_for(addresses(_str(data.get("From")))),
            ids=(),  # Postmark's MessageID is its own, not the mail's Message-ID
            payload={k: v for k, v in data.items() if k not in ("Content", "Details")},
        )
    ]


def sendgrid_complaints(data: Any, brand_for: BrandFor) -> list[Inbound]:
    """A JSON array of events; `{"event": "spamreport", "email", "timestamp", "sg_event_id",
    "smtp-id"}` is a complaint. SendGrid names no sender: the brand comes from the Message-ID,
    else the one brand that wrote to the address."""
    if not isinstance(data, list):
        raise MalformedEvent("expected a JSON array of events")
    out: list[Inbound] = []
    for event in data:
        if not isinstance(event, dict) or event.get("event") != "spamreport":
            continue
        recipient = _str(event.get("email"))
        smtp_id = _str(event.get("smtp-id"))
        out.append(
            _complaint(
                source="sendgrid",
                dedupe_key=_str(event.get("sg_event_id"))
                or content_key("spamreport", recipient, smtp_id, event.get("timestamp")),
                recipient=recipient,
                when=event.get("timestamp"),
                brand_id=None,
                ids=message_ids(smtp_id),
                payload={k: v for k, v in event.items() if isinstance(k, str)},
            )
        )
    return out
