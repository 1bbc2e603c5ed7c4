"""Per-brand mail accounts from the environment: `BRAND_<SLUG>_<SETTING>`.

The two brands are separate companies with their own mailboxes, so every mail setting
(`SMTP_*`, `ZOHO_*`, `ZOHO_SMTP_*`, `ZEPTOMAIL_*`, `IMAP_*`, `ZOHO_INBOX_FOLDER_ID`) may be
given per brand, keyed by the brand's slug: `BRAND_CODETEKI_ZOHO_SMTP_PASSWORD`,
`BRAND_DESIFIRMS_ZEPTOMAIL_TOKEN`, `BRAND_DESIFIRMS_IMAP_HOST`. A brand's setting falls back
to the deployment-wide one (`ZOHO_SMTP_PASSWORD`). The setting name is the longest that
matches the end of the key, so `BRAND_CODETEKI_ZOHO_SMTP_HOST` is Codeteki's
`ZOHO_SMTP_HOST`, never brand "codeteki_zoho"'s `SMTP_HOST`.

Only the environment (and `.env`) holds them, like every other credential.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

PREFIX = "BRAND_"
# Settings whose names start with these are mail accounts, given per brand.
MAIL_PREFIXES = ("smtp_", "zoho_", "zeptomail_", "imap_")


def mail_fields(settings_cls: type[BaseSettings]) -> dict[str, str]:
    """Field name -> environment name of every per-brand mail setting."""
    return {
        name: field.alias
        for name, field in settings_cls.model_fields.items()
        if name.startswith(MAIL_PREFIXES) and field.alias
    }


def split_key(key: str, aliases: Iterable[str]) -> tuple[str, str] | None:
    """`BRAND_CODETEKI_ZOHO_SMTP_HOST` -> ("codeteki", "ZOHO_SMTP_HOST"); None when `key` is
    not a per-brand key; ValueError when it names no mail setting."""
    key = key.upper()
    if not key.startswith(PREFIX) or key == "BRAND_MAIL":  # the field itself, not a key
        return None
    rest = key[len(PREFIX) :]
    for alias in sorted(aliases, key=len, reverse=True):
        if rest.endswith("_" + alias) and len(rest) > len(alias) + 1:
            return rest[: -len(alias) - 1].lower(), alias
    raise ValueError(f"{key} names no per-brand mail setting (BRAND_<SLUG>_<SETTING>)")


def collect(values: Mapping[str, Any], aliases: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{slug: {setting: value}} from every `BRAND_*` key of `values` (empty values: unset)."""
    names = list(aliases)
    found: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        parts = split_key(str(key), names)
        if parts is not None:
            found.setdefault(parts[0], {})[parts[1]] = value
    return found


RAW = "brand_mail_keys"  # what the source hands the Settings validator, parsed there


def brand_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(k).upper(): v
        for k, v in values.items()
        if str(k).upper().startswith(PREFIX) and str(k).upper() != "BRAND_MAIL"
    }


class BrandMailSource(PydanticBaseSettingsSource):
    """Every `BRAND_*` key of the `.env` file(s), the environment and the keyword arguments,
    each over the one before (as for every setting), for `Settings` to parse: a key that names
    no setting is then a validation error like any other."""

    def __init__(self, settings_cls: type[BaseSettings], init_kwargs: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._init_kwargs = init_kwargs

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        env_file = self.config.get("env_file")
        files = [env_file] if isinstance(env_file, str | Path) else list(env_file or [])
        for file in files:
            if Path(file).is_file():
                values.update(brand_keys(dotenv_values(file)))
        values.update(brand_keys(os.environ))
        values.update(brand_keys(self._init_kwargs))
        return {RAW: values} if values else {}
