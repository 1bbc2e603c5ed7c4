"""The search attributes every deal workflow keeps up to date (Temporal Web UI, visibility)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DEAL_STAGE = SearchAttributeKey.for_keyword("DealStage")
DEAL_STATUS = SearchAttributeKey.for_keyword("DealStatus")
BRAND = SearchAttributeKey.for_keyword("Brand")
PIPELINE = SearchAttributeKey.for_keyword("Pipeline")
ENGAGEMENT_TIER = SearchAttributeKey.for_keyword("EngagementTier")
CONTACT_EMAIL = SearchAttributeKey.for_keyword("ContactEmail")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("NextActionAt")

ALL = (DEAL_STAGE, DEAL_STATUS, BRAND, PIPELINE, ENGAGEMENT_TIER, CONTACT_EMAIL, NEXT_ACTION_AT)
