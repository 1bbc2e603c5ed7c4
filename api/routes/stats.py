from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.deps import IdQuery, SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import resolve_brand_id
from dealpilot.reporting.stats import Stats, pipeline_stats

router = CRMRouter(prefix="/stats", tags=["stats"])


@router.get("/", response_model=Stats)
def get_stats(
    session: SessionDep,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    pipeline: IdQuery = None,
) -> Stats:
    """Per pipeline: deals per stage (in stage order), deals by status, email outcomes."""
    return pipeline_stats(session, brand_id=resolve_brand_id(session, brand), pipeline_id=pipeline)
