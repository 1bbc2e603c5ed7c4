"""The pipeline board."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.console.deps import OperatorDep, render
from api.deps import IdQuery, SessionDep
from dealpilot.desk.board import BoardFilters, board
from models import EngagementTier


def _offsets(request: Request) -> dict[int, int]:
    """Each column pages on its own: `o<stage id>=<offset>` in the query string."""
    offsets = {}
    for key, value in request.query_params.items():
        if key.startswith("o") and key[1:].isdigit() and value.isdigit():
            offsets[int(key[1:])] = min(int(value), 10_000_000)
    return offsets


router = APIRouter()


@router.get("/board")
def board_page(
    request: Request,
    operator: OperatorDep,
    session: SessionDep,
    pipeline: IdQuery = None,
    tier: str = "",
    q: str = "",
    status: str = "open",
    owner: str = "",
) -> Response:
    """`owner`: "mine", "none" (unassigned) or a user's id; kept as given in the URL so a
    bookmarked "mine" board is each user's own."""
    owner = owner if owner in ("mine", "none") or (owner.isdigit() and len(owner) < 10) else ""
    filters = BoardFilters(
        owner=str(operator.user_id) if owner == "mine" else owner,
        tier=tier if tier in EngagementTier.__members__ else None,
        search=q[:200],
        status=status if status in ("open", "all", "active", "paused", "won", "lost") else "open",
    )
    offsets = _offsets(request)
    data = board(session, operator.scope, pipeline, filters, offsets)
    base = {"pipeline": data.pipeline_id, "tier": filters.tier or "", "q": filters.search}
    base["status"] = filters.status
    base["owner"] = owner

    def page_url(stage_id: int, offset: int) -> str:
        params = {**base, **{f"o{k}": v for k, v in offsets.items()}, f"o{stage_id}": offset}
        return "/console/board?" + urlencode(params)

    context = {
        "board": data,
        "filters": filters,
        "owner": owner,
        "tiers": list(EngagementTier),
        "page_url": page_url,
        "here": request.url.path + ("?" + request.url.query if request.url.query else ""),
        "per_column": 25,
    }
    return render(request, "board.html", context)
