"""Loading rows by id or slug, with the API's errors for the ones that are not there."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from dealpilot.core.errors import ErrorDetail, NotFound, Unprocessable
from models import Brand, find_brand

M = TypeVar("M", bound=SQLModel)


def row_fields(row: SQLModel) -> dict[str, Any]:
    """A table row's column values as loaded (enums stay as stored, no serializer warnings)."""
    return {name: getattr(row, name) for name in type(row).model_fields}


def get_or_404(session: Session, model: type[M], row_id: int, *, what: str) -> M:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist")
    return row


def get_referenced(session: Session, model: type[M], row_id: int, *, field: str) -> M:
    """A row named in a request body: missing means the body is wrong (422), not the URL."""
    row = session.get(model, row_id)
    if row is None:
        raise Unprocessable(
            f"{field} {row_id} does not exist",
            code="invalid_reference",
            details=[ErrorDetail(field=field, problem="does not exist")],
        )
    return row


def brand_by_ref(session: Session, ref: str) -> Brand:
    """A brand named by id ("2") or slug ("codeteki"); 422 `unknown_brand` otherwise."""
    found = find_brand(session, ref)
    if found is None:
        raise Unprocessable(
            f"No brand {ref!r}",
            code="unknown_brand",
            details=[ErrorDetail(field="brand", problem="no brand with this id or slug")],
        )
    return found


def resolve_brand_id(session: Session, brand: str | None) -> int | None:
    """A `brand` filter given as an id ("2") or a slug ("codeteki")."""
    return None if brand is None else brand_by_ref(session, brand).id
