from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlmodel import col, select

from api.deps import IdPath, IdQuery, PageDep, SessionDep
from api.routing import CRMRouter
from dealpilot.deals.lookup import get_or_404, resolve_brand_id
from models import EmailLog, EmailStatus
from models.email import EmailLogPublic
from models.pagination import Page, paginate

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
    variant: Annotated[str | None, Query(pattern="^[AB]$")] = None,
) -> Page[EmailLogPublic]:
    stmt = select(EmailLog).order_by(col(EmailLog.created_at).desc(), col(EmailLog.id).desc())
    brand_id = resolve_brand_id(session, brand)
    if brand_id is not None:
        stmt = stmt.where(col(EmailLog.brand_id) == brand_id)
    if deal is not None:
        stmt = stmt.where(col(EmailLog.deal_id) == deal)
    if status is not None:
        stmt = stmt.where(col(EmailLog.status) == status)
    if variant is not None:
        stmt = stmt.where(col(EmailLog.variant) == variant)
    return paginate(session, stmt, page, _public)


@router.get("/{log_id}/", response_model=EmailLogPublic)
def get_email_log(log_id: IdPath, session: SessionDep) -> EmailLogPublic:
    return _public(get_or_404(session, EmailLog, log_id, what="Email log"))
