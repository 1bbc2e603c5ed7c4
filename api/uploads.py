"""CSV uploads (contact and backlink imports): the size limit and the NUL check of form
fields. The importers' own errors (`dealpilot.imports.csvfile`) are core errors: the API's one
handler maps them."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile

from dealpilot.core.errors import DealpilotError, ErrorDetail, Unprocessable

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    413: {"description": f"File larger than {MAX_UPLOAD_BYTES >> 20} MB"}
}


def check_size(file: UploadFile) -> None:
    """413 `payload_too_large` past MAX_UPLOAD_BYTES."""
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise DealpilotError(
            f"The file is larger than {MAX_UPLOAD_BYTES >> 20} MB; split it",
            code="payload_too_large",
            status_code=413,
        )


def reject_nul(**fields: str | None) -> None:
    """Form fields, which the JSON body check in api.deps does not see: PostgreSQL text
    cannot hold NUL, so a NUL is the caller's mistake (422), not a database error."""
    bad = [name for name, text in fields.items() if text and "\x00" in text]
    if bad:
        raise Unprocessable(
            "Text may not contain NUL characters",
            code="validation_error",
            details=[ErrorDetail(field=name, problem="contains a NUL character") for name in bad],
        )
