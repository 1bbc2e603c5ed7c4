"""The search attributes every deal workflow keeps up to date (Temporal Web UI, visibility)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributeKey

DEAL_STAGE = SearchAttributeKey.for_keyword("DealStage")
DEAL_STATUS = SearchAttributeKey.for_keyword("DealStatus")
BRAND = SearchAttributeKey.for_keyword("Brand")
PIPELINE = SearchAttributeKey.for_keyword("Pipeline")
ENGAGEMENT_TIER = SearchAttributeKey.for_keyword("EngagementTier")
CONTACT_EMAIL = SearchAttributeKey.for_keyword("ContactEmail")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("NextActionAt")

ALL = (DEAL_STAGE, DEAL_STATUS, BRAND, PIPELINE, ENGAGEMENT_TIER, CONTACT_EMAIL, NEXT_ACTION_AT)


def cli_flags() -> list[str]:
    """`--search-attribute NAME=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    return [f"--search-attribute={key.name}={kinds[key.indexed_value_type.name]}" for key in ALL]


async def register(client: Client) -> None:
    """Registers the attributes on the client's namespace (idempotent; dev and test servers)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = set(existing.custom_attributes)
    except RPCError as err:  # the time-skipping test server only implements "add"
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in ALL
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
