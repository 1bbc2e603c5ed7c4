"""A user's saved recipient filters: a named `RecipientFilter` over one brand's contacts
(tags, type, source, search words), saved once and reused in later emails. The filter is
kept on the draft and resolved when it is sent, so contacts added since are included."""

from __future__ import annotations

from sqlmodel import Session, col, select

from dealpilot.accounts import BrandScope
from dealpilot.composer.rules import RecipientFilter
from dealpilot.core.errors import Conflict, ErrorDetail, NotFound, Unprocessable
from models import SavedFilter

MAX_PER_USER = 100


def list_filters(session: Session, user_id: int, scope: BrandScope) -> list[SavedFilter]:
    """The user's filters over brands they may still see, by name."""
    return list(
        session.exec(
            select(SavedFilter)
            .where(SavedFilter.user_id == user_id, scope.condition(SavedFilter.brand_id))
            .order_by(col(SavedFilter.name))
            .limit(MAX_PER_USER)
        ).all()
    )


def get_filter(session: Session, user_id: int, scope: BrandScope, filter_id: int) -> SavedFilter:
    """The user's own filter of a brand they may see; anything else is a 404."""
    row = session.get(SavedFilter, filter_id)
    if row is None or row.user_id != user_id or not scope.allows(row.brand_id):
        raise NotFound(f"Saved filter {filter_id} not found")
    return row


def criteria(row: SavedFilter) -> RecipientFilter:
    return RecipientFilter.model_validate(row.criteria)


def save_filter(
    session: Session, user_id: int, brand_id: int, name: str, filt: RecipientFilter
) -> SavedFilter:
    """A new filter (409 `duplicate_filter` for a name the user has for this brand)."""
    clean = " ".join(name.split())[:100]
    if not clean:
        raise Unprocessable(
            "Give the filter a name",
            code="invalid_name",
            details=[ErrorDetail(field="name", problem="empty")],
        )
    taken = session.exec(
        select(SavedFilter.id).where(
            SavedFilter.user_id == user_id,
            SavedFilter.brand_id == brand_id,
            SavedFilter.name == clean,
        )
    ).first()
    if taken is not None:
        raise Conflict(f"You already have a filter named {clean!r}", code="duplicate_filter")
    row = SavedFilter(
        user_id=user_id,
        brand_id=brand_id,
        name=clean,
        criteria=filt.model_dump(mode="json", exclude_none=True),
    )
    session.add(row)
    session.flush()
    return row


def delete_filter(session: Session, user_id: int, scope: BrandScope, filter_id: int) -> str:
    row = get_filter(session, user_id, scope, filter_id)
    session.delete(row)
    session.flush()
    return row.name
