"""What production refuses to start without that only the database knows: every brand that
sends real mail needs a real postal address (anti-spam law asks for a valid postal address in
commercial email; the seeded ones are only city names). PUBLIC_BASE_URL and the secrets are
checked by the settings themselves (`dealpilot.core.settings`)."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from dealpilot.core.errors import ErrorDetail, Unprocessable
from models import Brand, MailProviderName

_DIGIT = re.compile(r"\d")


def postal_address_problem(address: str) -> str | None:
    """A street or PO box address has a number and more than one part ("Melbourne,
    Australia" is a city, not an address)."""
    text = address.strip()
    if not text:
        return "no postal address"
    parts = [p for p in re.split(r"[,\n]", text) if p.strip()]
    if _DIGIT.search(text) is None or len(parts) < 2:
        return f"{text!r} is not a postal address (a street or PO box, with its number)"
    return None


def require_production_ready(session: Session) -> None:
    """Raises Unprocessable (`not_ready_for_production`), one detail per brand to fix."""
    brands = session.exec(
        select(Brand)
        .where(col(Brand.is_active), col(Brand.provider) != MailProviderName.outbox)
        .order_by(col(Brand.id))
    ).all()
    details = [
        ErrorDetail(field=f"brands.{brand.slug}.postal_address", problem=problem)
        for brand in brands
        if (problem := postal_address_problem(brand.postal_address)) is not None
    ]
    if details:
        raise Unprocessable(
            "Refusing to send in production: give each sending brand its real postal address "
            "(PATCH /api/crm/brands/{id}/ with postal_address), or set it inactive",
            code="not_ready_for_production",
            details=details,
        )


def provider_warnings(session: Session) -> list[tuple[str, str]]:
    """(brand slug, warning) for each active brand whose provider sends mail a bulk sender
    should not: the Zoho Mail REST API takes no custom headers, so its mail has no
    List-Unsubscribe (Gmail and Yahoo require one-click unsubscribe from bulk senders), no
    plain-text part, no Reply-To and no From name."""
    brands = session.exec(
        select(Brand)
        .where(col(Brand.is_active), col(Brand.provider) == MailProviderName.zoho)
        .order_by(col(Brand.id))
    ).all()
    return [
        (
            brand.slug,
            "sends through the Zoho Mail REST API, whose mail lacks List-Unsubscribe, a "
            "plain-text part, Reply-To and the From name; use provider zoho_smtp "
            "(ZOHO_SMTP_USERNAME, ZOHO_SMTP_PASSWORD) for full headers",
        )
        for brand in brands
    ]
