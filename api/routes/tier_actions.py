"""Tier bulk actions (dealpilot.deals.tier_actions): preview which deals an action would touch,
then confirm it for exactly those (the preview's ids and token). Errors: 422
`preview_mismatch` (ids and token do not match), 503 `temporal_unavailable`."""

from __future__ import annotations

from api.deps import IdQuery, SessionDep, SettingsDep, TemporalDep, TransactDep
from api.routing import CRMRouter
from dealpilot.deals import tier_actions
from dealpilot.deals.tier_actions import (
    TierAction,
    TierActionConfirm,
    TierActionPreview,
    TierActionResult,
)

router = CRMRouter(prefix="/tier-actions", tags=["tier actions"])


@router.get("/{action}/preview/", response_model=TierActionPreview)
def preview(
    action: TierAction, session: SessionDep, settings: SettingsDep, brand: IdQuery = None
) -> TierActionPreview:
    """How many deals and which (open, started, of the action's tier), and the token that
    the confirm needs. Changes nothing."""
    secret = settings.session_secret.get_secret_value()
    return tier_actions.preview(session, action, secret=secret, brand_id=brand)


@router.post("/{action}/confirm/", response_model=TierActionResult)
async def confirm(
    action: TierAction,
    data: TierActionConfirm,
    settings: SettingsDep,
    transact: TransactDep,
    temporal: TemporalDep,
) -> TierActionResult:
    """Acts on the previewed deals through their workflows; a deal that changed tier or
    closed since the preview is skipped and listed with the reason."""
    secret = settings.session_secret.get_secret_value()
    return await tier_actions.confirm(temporal, transact, action, data, secret=secret, actor="api")
