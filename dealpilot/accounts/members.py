"""Who may work on a brand: its users, for choosing a deal's owner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, col, select

from models import User, UserBrand, UserRole


@dataclass(frozen=True)
class Member:
    user_id: int
    label: str


def brand_members(session: Session, brand_id: int) -> list[Member]:
    """Active users who may see `brand_id`: admins, and operators granted it (one query)."""
    granted = select(UserBrand.user_id).where(UserBrand.brand_id == brand_id)
    rows = session.exec(
        select(User)
        .where(
            col(User.is_active).is_(True),
            or_(col(User.role) == UserRole.admin, col(User.id).in_(granted)),
        )
        .order_by(col(User.email))
    ).all()
    return [Member(u.id or 0, u.name or u.email) for u in rows]
