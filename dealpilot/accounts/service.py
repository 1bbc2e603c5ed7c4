"""Users: create, authenticate, change and reset passwords, and the brands they may see.
Takes the caller's session and flushes; never commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from dealpilot.accounts.scope import BrandScope
from dealpilot.core.errors import Conflict, NotFound, Unprocessable
from models import Brand, User, UserBrand, UserRole, utcnow
from models.contact import normalise_email

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the address is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("dealpilot-no-such-user")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except ValueError as exc:
        raise Unprocessable(f"{value!r} is not an email address", code="invalid_email") from exc


def _brand_ids(session: Session, slugs: Iterable[str]) -> list[int]:
    wanted = sorted(set(slugs))
    if not wanted:
        return []
    rows = session.exec(select(Brand).where(col(Brand.slug).in_(wanted))).all()
    missing = set(wanted) - {b.slug for b in rows}
    if missing:
        raise NotFound(f"No brand {', '.join(sorted(missing))}")
    return [b.id or 0 for b in rows]


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: UserRole,
    name: str = "",
    brands: Iterable[str] = (),
) -> User:
    """A new user; an operator sees only `brands` (slugs). 409 `user_exists`."""
    address = _email(email)
    _check_password(password)
    if find_user(session, address) is not None:
        raise Conflict(f"A user {address} already exists", code="user_exists")
    user = User(email=address, name=name, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    for brand_id in _brand_ids(session, brands):
        session.add(UserBrand(user_id=user.id or 0, brand_id=brand_id))
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this address and password, else None (never says which was
    wrong). Records the login and upgrades an outdated hash."""
    user = find_user(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.add(user)
    session.flush()
    return user


def _set_password(session: Session, user: User, password: str) -> User:
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    # Every session signed before the change stops working.
    user.session_version += 1
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, user_id: int, *, current: str, new: str) -> User:
    """422 `wrong_password` when `current` is not the user's password."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise Unprocessable("The current password is not right", code="wrong_password") from exc
    return _set_password(session, user, new)


def reset_password(session: Session, email: str, new: str) -> User:
    """For ops (`dealpilot users reset-password`): no current password needed."""
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"No user {email}")
    return _set_password(session, user, new)


def session_user(session: Session, user_id: int, version: int) -> User | None:
    """The user a session cookie names, if still active and its password unchanged since."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


def brand_scope(session: Session, user: User) -> BrandScope:
    if user.role == UserRole.admin:
        return BrandScope.everything()
    rows = session.exec(select(UserBrand.brand_id).where(UserBrand.user_id == user.id)).all()
    return BrandScope(frozenset(rows))


def first_admin(session: Session, *, email: str, password: str) -> User | None:
    """Creates an admin when there is no user at all (`dealpilot dev`'s first start); None
    when users exist already."""
    if session.exec(select(User.id).limit(1)).first() is not None:
        return None
    return create_user(session, email=email, password=password, role=UserRole.admin, name="Admin")


@dataclass
class UserRow:
    id: int
    email: str
    name: str
    role: UserRole
    is_active: bool
    brands: list[str]
    last_login_at: datetime | None


def list_users(session: Session) -> list[UserRow]:
    """Every user with the slugs of their brands (two queries, whatever the count)."""
    users = session.exec(select(User).order_by(col(User.email))).all()
    grants = session.exec(
        select(UserBrand.user_id, Brand.slug)
        .join(Brand, col(Brand.id) == col(UserBrand.brand_id))
        .order_by(col(Brand.slug))
    ).all()
    brands: dict[int, list[str]] = {}
    for user_id, slug in grants:
        brands.setdefault(user_id, []).append(slug)
    return [
        UserRow(
            u.id or 0,
            u.email,
            u.name,
            u.role,
            u.is_active,
            brands.get(u.id or 0, []),
            u.last_login_at,
        )
        for u in users
    ]


def update_user(
    session: Session,
    user_id: int,
    *,
    role: UserRole,
    brands: Iterable[str],
    is_active: bool,
    acting_user_id: int,
) -> User:
    """An admin's change to a user: role, brands, active. Deactivating signs the user out;
    an admin cannot demote or deactivate themselves (someone must stay able to fix it)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    if user_id == acting_user_id and (role != UserRole.admin or not is_active):
        raise Conflict("You cannot demote or deactivate yourself", code="self_lockout")
    if user.is_active and not is_active:
        user.session_version += 1
    user.role, user.is_active, user.updated_at = role, is_active, utcnow()
    session.add(user)
    for grant in session.exec(select(UserBrand).where(UserBrand.user_id == user_id)).all():
        session.delete(grant)
    session.flush()
    for brand_id in _brand_ids(session, brands):
        session.add(UserBrand(user_id=user_id, brand_id=brand_id))
    session.flush()
    return user
