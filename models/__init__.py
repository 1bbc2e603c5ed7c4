"""Tables, enums and database handling. Import tables from here."""

from dealpilot.core.enums import (
    AutoAction,
    BacklinkStatus,
    ContactType,
    DealStatus,
    DraftKind,
    DraftStatus,
    EmailEventType,
    EmailStatus,
    EngagementTier,
    LinkCheck,
    MailProviderName,
    PipelineType,
    PromptType,
    StageKind,
    SuppressionReason,
    UserRole,
)
from models.ai import AIDecisionLog, AIPromptTemplate, AIPromptVersion
from models.backlink import BacklinkOpportunity
from models.brand import Brand, find_brand
from models.contact import Contact, Suppression
from models.db import make_engine, migrate, session_scope
from models.deal import Deal, DealStageVisit
from models.email import (
    BrandSendHour,
    EmailDaily,
    EmailDraft,
    EmailEvent,
    EmailLog,
    EmailRollup,
)
from models.jobs import DailySummary, InboxCursor
from models.pipeline import (
    EmailSequence,
    Pipeline,
    PipelineStage,
    SequenceStep,
    StageTierTemplate,
)
from models.rollups import AISpendDaily, DealDaily, StageVisitDaily
from models.types import utcnow
from models.user import ImportJob, SavedFilter, User, UserBrand

__all__ = [
    "AISpendDaily",
    "DealDaily",
    "StageVisitDaily",
    "AIDecisionLog",
    "AIPromptTemplate",
    "AIPromptVersion",
    "AutoAction",
    "BacklinkOpportunity",
    "BacklinkStatus",
    "LinkCheck",
    "Brand",
    "Contact",
    "ContactType",
    "DailySummary",
    "Deal",
    "DealStageVisit",
    "DealStatus",
    "DraftKind",
    "DraftStatus",
    "BrandSendHour",
    "EmailDaily",
    "EmailDraft",
    "EmailEvent",
    "EmailEventType",
    "EmailLog",
    "EmailRollup",
    "EmailSequence",
    "EmailStatus",
    "EngagementTier",
    "ImportJob",
    "InboxCursor",
    "MailProviderName",
    "Pipeline",
    "PipelineStage",
    "PipelineType",
    "PromptType",
    "SavedFilter",
    "SequenceStep",
    "StageTierTemplate",
    "StageKind",
    "Suppression",
    "SuppressionReason",
    "User",
    "UserBrand",
    "UserRole",
    "find_brand",
    "make_engine",
    "migrate",
    "session_scope",
    "utcnow",
]
