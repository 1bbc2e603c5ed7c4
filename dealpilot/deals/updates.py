"""PATCH semantics shared by every resource: only the fields sent change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import SQLModel

from dealpilot.core.errors import ErrorDetail, Unprocessable


def sent_fields(data: SQLModel, *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    """The fields the client sent. An explicit null is only allowed where the column is
    nullable, otherwise it is a 422 rather than a database error."""
    changes = data.model_dump(exclude_unset=True)
    allowed_null = set(nullable)
    bad = [k for k, v in changes.items() if v is None and k not in allowed_null]
    if bad:
        raise Unprocessable(
            "Some fields may not be null",
            code="validation_error",
            details=[ErrorDetail(field=k, problem="may not be null") for k in bad],
        )
    return changes


def apply_update(row: SQLModel, data: SQLModel, *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    """Copy the fields the client sent onto `row` (see `sent_fields`)."""
    changes = sent_fields(data, nullable=nullable)
    for key, value in changes.items():
        setattr(row, key, value)
    return changes
