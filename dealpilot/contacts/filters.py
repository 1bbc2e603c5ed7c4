"""Contact search conditions shared by the contact list and the composer's recipients."""

from __future__ import annotations

from sqlalchemy import ColumnElement, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col

from models import Contact


def like_pattern(text: str) -> str:
    """`text` anywhere, with LIKE's wildcards in it taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """The contact's JSON tag list holds `tag` (JSONB containment on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(col(Contact.tags), JSONB).contains([tag])
    items = func.json_each(col(Contact.tags)).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == tag))
