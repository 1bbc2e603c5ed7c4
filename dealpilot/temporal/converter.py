"""The data converter of every Temporal client and worker: the SDK's Pydantic JSON converter
with one process-wide cache of pydantic type adapters.

The SDK's converter (temporalio.contrib.pydantic) caches a `TypeAdapter` per type on the
converter instance, but the worker builds a new payload converter for every workflow instance
it creates, so each new deal in the workflow cache built its `DealInput`, `DealContext` and
`Engagement` adapters from scratch: about a third of the worker's CPU while many deals start
(`bench.sleeping`, profiled with py-spy). A type adapter is immutable once built, so one cache
for the process is safe; it is bounded (LRU) in case a type hint is created per instance.
"""

from __future__ import annotations

import functools
from typing import Any

import temporalio.api.common.v1
from pydantic import TypeAdapter
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

ADAPTERS = 1024  # distinct type hints kept; the deal workflow uses about twenty


@functools.lru_cache(maxsize=ADAPTERS)
def type_adapter(type_hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_hint)


class SharedAdapterJSONConverter(PydanticJSONPlainPayloadConverter):
    """`PydanticJSONPlainPayloadConverter` whose type adapters outlive the instance."""

    def from_payload(
        self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None
    ) -> Any:
        hint: Any = Any if type_hint is None else type_hint
        try:
            hash(hint)
        except TypeError:  # an unhashable hint cannot be a cache key: build its adapter
            return TypeAdapter(hint).validate_json(payload.data)
        return type_adapter(hint).validate_json(payload.data)


class PayloadConverter(CompositePayloadConverter):
    """The SDK's default encodings, JSON through `SharedAdapterJSONConverter`."""

    def __init__(self) -> None:
        super().__init__(
            *(
                SharedAdapterJSONConverter() if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=PayloadConverter)
