"""CSV uploads (contact and backlink imports): the size limit and the mapping of the
importers' errors (`dealpilot.imports.csvfile`) onto the API's error envelope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import UploadFile

from dealpilot.core.errors import DealpilotError, ErrorDetail, Unprocessable
from dealpilot.imports.csvfile import CSVFormatError, ImportRequestError, MissingColumnsError

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


@contextmanager
def import_errors() -> Iterator[None]:
    """A wrong option is a 422 naming it; a file that cannot be read as a whole is a 422
    `missing_columns` or `invalid_file` (and nothing of it was imported)."""
    try:
        yield
    except ImportRequestError as exc:
        raise Unprocessable(
            exc.message, code=exc.code, details=[ErrorDetail(field=exc.field, problem=exc.message)]
        ) from exc
    except MissingColumnsError as exc:
        raise Unprocessable(
            exc.message,
            code="missing_columns",
            details=[
                ErrorDetail(field="file", problem=f"no {name} column") for name in exc.missing
            ],
        ) from exc
    except CSVFormatError as exc:
        where = f"line {exc.line}" if exc.line is not None else "file"
        raise Unprocessable(
            f"The file cannot be imported; nothing was imported. {exc}",
            code="invalid_file",
            details=[ErrorDetail(field="file", problem=f"{where}: {exc.message}")],
        ) from exc
