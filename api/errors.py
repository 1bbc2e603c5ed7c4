"""One envelope for every error: `{"error": {"code", "message", "details"}, "request_id"}`,
422s and 404s included. The domain raises `dealpilot.core.errors`; this maps them (and
FastAPI's, Starlette's and the database's own) onto the envelope, once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dealpilot.core.errors import DealpilotError, ErrorDetail

log = structlog.get_logger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
    request_id: str | None


# Status codes Starlette raises itself (unknown route, wrong method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request,
    status_code: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    request_id = _request_id(request)
    body = ErrorEnvelope(
        error=ErrorBody(code=code, message=message, details=details),
        request_id=request_id,
    )
    all_headers = dict(headers or {})
    if request_id:
        # The 500 handler runs outside the request-id middleware, so set it here too.
        all_headers["X-Request-ID"] = request_id
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=all_headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DealpilotError)
    return error_response(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("query", "limit") -> "limit"; ("body", "stages", 0, "slug") -> "stages.0.slug"
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(field=_loc_to_field(err.get("loc", ())), problem=str(err.get("msg", "")))
        for err in jsonable_encoder(exc.errors())
    ]
    return error_response(
        request, 422, "validation_error", "The request is not valid", details=details
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource"
    return error_response(request, exc.status_code, code, message, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Reached only when a service did not pre-check a constraint (e.g. a race between
    # two requests): the database refused the write, which is a conflict, not a crash.
    log.info("integrity_error", error_type=type(exc).__name__)
    return error_response(request, 409, "conflict", "The change conflicts with existing data")


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("data_error", error_type=type(exc).__name__)
    return error_response(request, 422, "invalid_data", "A value does not fit the database column")


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return error_response(request, 500, "internal_error", "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DealpilotError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unhandled)
