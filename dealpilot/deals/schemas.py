"""Request and response bodies of the deal action endpoints (the table-backed schemas live in
`models`; these describe operations, not rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from models.types import Id

# One request may enrol this many contacts at most: the deals are created in one transaction
# and their workflows started right after it, inside the request.
MAX_BULK_CONTACTS = 5000
MAX_DRAFT_DEALS = 500

Email = Annotated[str, Field(min_length=3, max_length=320)]


class BulkEnrolRequest(BaseModel):
    """Enrol existing contacts (`contact_ids`) and/or addresses (`emails`; a contact is created
    in the pipeline's brand for any address it does not know yet) in one pipeline."""

    pipeline_id: Id
    contact_ids: list[Id] = Field(default_factory=list, max_length=MAX_BULK_CONTACTS)
    # An email sequence of the pipeline for every deal; None: the pipeline's default, if any.
    sequence_id: Id | None = None
    emails: list[Email] = Field(default_factory=list, max_length=MAX_BULK_CONTACTS)

    @model_validator(mode="after")
    def _size(self) -> BulkEnrolRequest:
        total = len(self.contact_ids) + len(self.emails)
        if total == 0:
            raise ValueError("give at least one contact id or email")
        if total > MAX_BULK_CONTACTS:
            raise ValueError(f"at most {MAX_BULK_CONTACTS} contacts per request (got {total})")
        return self


class BulkCreated(BaseModel):
    deal_id: int
    contact_id: int
    email: str
    workflow_id: str | None  # null: the workflow did not start; retry with .../start/


class BulkSkipped(BaseModel):
    contact_id: int | None = None
    email: str | None = None
    # unknown_contact | brand_mismatch | open_deal_exists | duplicate | invalid_email | suppressed
    reason: str
    message: str


class BulkEnrolResult(BaseModel):
    pipeline_id: int
    created: list[BulkCreated]
    skipped: list[BulkSkipped]
    workflows_started: int
    workflows_not_started: int


class CloseBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class PauseBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class SendNowOutcome(BaseModel):
    """What "send now" did: the next email went (`sent`), or why it did not (`outcome`:
    suppressed, deferred by the daily cap or send gap until `retry_at`, failed, ...)."""

    deal_id: int
    workflow_id: str
    sent: bool
    outcome: str
    stage_name: str
    subject: str = ""
    email_log_id: int | None = None
    detail: str = ""
    retry_at: datetime | None = None
    status: str  # the deal's status afterwards (a suppressed address closes it as lost)


class EmailPreview(BaseModel):
    """The email the autopilot would send next, rendered but not sent. Tracking is left out:
    no open pixel, links are not rewritten, and the unsubscribe link is a placeholder that
    unsubscribes nobody."""

    deal_id: int
    stage_id: int
    stage_name: str
    to_email: str
    subject: str
    html: str
    text: str
    template_key: str  # the stage's template, or "ai"
    variant: str  # "A" | "B" where the stage has two subjects, else ""


class DraftsRequest(BaseModel):
    deal_ids: list[Id] = Field(min_length=1, max_length=MAX_DRAFT_DEALS)


class DraftCreated(BaseModel):
    deal_id: int
    draft_id: int
    subject: str
    template_key: str


class DraftSkipped(BaseModel):
    deal_id: int
    reason: str  # not_found | deal_closed | no_next_email | render_failed | duplicate
    message: str


class DraftsResult(BaseModel):
    created: list[DraftCreated]
    skipped: list[DraftSkipped]
