"""Which brands a user may see: every query the console runs is narrowed by one of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true

from dealpilot.core.errors import NotFound


@dataclass(frozen=True)
class BrandScope:
    """`brand_ids` None: every brand (an admin). Otherwise the brands an admin granted."""

    brand_ids: frozenset[int] | None

    @classmethod
    def everything(cls) -> BrandScope:
        return cls(None)

    def allows(self, brand_id: int | None) -> bool:
        if self.brand_ids is None:
            return True
        return brand_id is not None and brand_id in self.brand_ids

    def condition(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping rows of the allowed brands (`column` holds a brand id)."""
        if self.brand_ids is None:
            return true()
        if not self.brand_ids:
            return false()
        result: ColumnElement[bool] = column.in_(sorted(self.brand_ids))
        return result

    def require(self, brand_id: int | None, *, what: str, row_id: int) -> None:
        """Another brand's object is a 404, as if it did not exist: an operator learns nothing
        about brands they were not given."""
        if not self.allows(brand_id):
            raise NotFound(f"{what} {row_id} not found")
