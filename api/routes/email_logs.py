from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlmodel import col, select

from api.deps import IdPath, IdQuery, PageDep, SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import get_or_404, resolve_brand_id
from models import EmailLog, EmailStatus, PipelineStage
from models.email import EmailLogPublic
from models.pagination import Keyset, Page, paginate
from models.types import MAX_ID

router = CRMRouter(prefix="/email-logs", tags=["email logs"])


def _public(row: Any) -> EmailLogPublic:
    return EmailLogPublic.model_validate(row)


@router.get("/", response_model=Page[EmailLogPublic])
def list_email_logs(
    session: SessionDep,
    page: PageDep,
    deal: IdQuery = None,
    brand: Annotated[str | None, Query(description="Brand id or slug")] = None,
    status: EmailStatus | None = None,
    variant: Annotated[
        str | None, Query(pattern="^[AB]$", description="A/B subject (only emails that had two)")
    ] = None,
    stage: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Stage id")] = None,
    pipeline: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Pipeline id")] = None,
) -> Page[EmailLogPublic]:
    """Emails sent (or tried), newest first; filter by deal, brand, status, A/B variant, and
    the stage and pipeline the email belonged to (an A/B result per stage)."""
    stmt = select(EmailLog).order_by(col(EmailLog.created_at).desc(), col(EmailLog.id).desc())
    if stage is not None:
        stmt = stmt.where(col(EmailLog.stage_id) == stage)
    if pipeline is not None:
        in_pipeline = select(PipelineStage.id).where(col(PipelineStage.pipeline_id) == pipeline)
        stmt = stmt.where(col(EmailLog.stage_id).in_(in_pipeline))
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(EmailLog.brand_id) == brand_id)
    if deal is not None:
        stmt = stmt.where(col(EmailLog.deal_id) == deal)
    if status is not None:
        stmt = stmt.where(col(EmailLog.status) == status)
    if variant is not None:
        stmt = stmt.where(col(EmailLog.variant) == variant)
    return paginate(session, stmt, page, _public, keyset=Keyset(EmailLog))


@router.get("/{log_id}/", response_model=EmailLogPublic)
def get_email_log(log_id: IdPath, session: SessionDep) -> EmailLogPublic:
    return _public(get_or_404(session, EmailLog, log_id, what="Email log"))
