"""Deal owners: the console user who looks after a deal. An operator's annotation the
workflow never reads (like the value), so it is written to the row, not sent to the workflow;
only a user who may see the deal's brand can own it."""

from __future__ import annotations

from sqlmodel import Session

from dealpilot.accounts import BrandScope, brand_members
from dealpilot.core.errors import ErrorDetail, Unprocessable
from dealpilot.deals import service as deals
from dealpilot.desk.deal_page import scoped_deal
from models import Deal


def set_owner(session: Session, scope: BrandScope, deal_id: int, owner_id: int | None) -> Deal:
    """Gives the deal to `owner_id` (None: unassigned). 404 for a deal the user may not see;
    422 `invalid_owner` for a user who may not see the deal's brand."""
    deal = scoped_deal(session, scope, deal_id)
    if owner_id is not None:
        brand_id = deals.get_deal_public(session, deal_id).brand_id
        if owner_id not in {m.user_id for m in brand_members(session, brand_id)}:
            raise Unprocessable(
                "The owner must be an active user who may see the deal's brand",
                code="invalid_owner",
                details=[ErrorDetail(field="owner_id", problem="not a user of this brand")],
            )
    return deals.update_fields(session, deal.id or 0, {"owner_id": owner_id})
