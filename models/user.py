"""Console users and the brands an operator may work on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from dealpilot.core.enums import UserRole
from models.types import UTCDateTime, utcnow


class User(SQLModel, table=True):
    # "user" is a reserved word in PostgreSQL: every raw statement would have to quote it.
    __tablename__ = "consoleuser"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    # argon2id, in the PHC string form ("$argon2id$v=19$m=...$salt$hash"); never the password.
    password_hash: str = Field(max_length=255)
    role: UserRole = Field(sa_column=Column(String(20), nullable=False))
    is_active: bool = True
    # Part of every session cookie: a password change or reset bumps it, so every session
    # signed before the change stops working.
    session_version: int = Field(default=1, ge=1)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserBrand(SQLModel, table=True):
    """A brand an operator may see and act on (admins see every brand without rows here)."""

    __tablename__ = "consoleuserbrand"

    user_id: int = Field(foreign_key="consoleuser.id", primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", primary_key=True, index=True)


class SavedFilter(SQLModel, table=True):
    """A user's named selection of one brand's contacts for the composer (a
    `dealpilot.composer.rules.RecipientFilter` as JSON), reused on the next email."""

    __tablename__ = "consolefilter"
    __table_args__ = (UniqueConstraint("user_id", "brand_id", "name", name="uq_filter_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="consoleuser.id", index=True)
    brand_id: int = Field(foreign_key="brand.id")
    name: str = Field(max_length=100)
    criteria: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ImportJob(SQLModel, table=True):
    """A console CSV import: its progress and per-row report, in the database so any API
    replica serves the page and both outlive a restart of the one that ran it."""

    __tablename__ = "consoleimport"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="consoleuser.id", index=True)
    brand_id: int = Field(foreign_key="brand.id")
    filename: str = Field(max_length=255)
    total: int = 0  # lines after the header: what "done" means for the progress bar
    read: int = 0
    done: bool = False
    error: str = Field(default="", max_length=1000)
    started: int = 0  # workflows started for the enrolled deals
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Every row's outcome: [line, email, result, reason, contact_id].
    rows: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
