"""The one place configuration comes from: the environment (and an optional .env)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, create_model, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dealpilot.core.brand_settings import RAW, BrandMailSource, collect, mail_fields

PLACEHOLDER_SECRETS = {
    "",
    "changeme",
    "change-me",
    "secret",
    "dev-tracking-secret",
    "dev-session-secret",
}
# Names reserved for documentation and testing (RFC 2606, RFC 6761): never a real site.
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "test", "invalid", "localhost", "local")


def public_url_problem(url: str) -> str | None:
    """Why `url` cannot be where recipients' tracking and unsubscribe links point, or None."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return "is not an http(s) URL"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.rsplit(".", 1)[-1] in _RESERVED_TLDS:
            return f"points at {host}, which no recipient can reach"
        if any(host == d or host.endswith("." + d) for d in _RESERVED_DOMAINS):
            return f"is a placeholder ({host})"
        return None
    if not address.is_global:
        return f"points at {host}, which no recipient can reach"
    return None


class Settings(BaseSettings):
    # An empty variable (`KEY=` in .env, `${UNSET}` in compose) means unset, never an empty
    # secret that a webhook signature could be checked against.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", alias="DEALPILOT_ENV"
    )
    data_dir: Path = Field(Path("./.dealpilot"), alias="DEALPILOT_DATA_DIR")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    api_keys: str = Field("", alias="DEALPILOT_API_KEYS")
    log_level: str = Field("INFO", alias="DEALPILOT_LOG_LEVEL")

    temporal_address: str = Field("localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field("dealpilot", alias="TEMPORAL_TASK_QUEUE")
    # Activities one worker runs at once. Each holds at most one database connection at a
    # time, and the worker's pool is sized to match, so a burst waits for a slot in Temporal's
    # queue (cheap, visible) instead of for a connection inside an activity (a timeout); at
    # most 50, what models.db.POOL gives.
    worker_concurrency: int = Field(20, ge=1, le=50, alias="WORKER_CONCURRENCY")
    # Deal histories a worker keeps in memory (Temporal's sticky cache); a sleeping deal that is
    # evicted costs a replay of its history when it wakes, never correctness.
    # 500: about 160 MB at rest plus 0.3 MB per cached deal, under 500 MB (bench.sleeping).
    worker_workflow_cache: int = Field(500, ge=0, le=100_000, alias="WORKER_WORKFLOW_CACHE")
    temporal_api_key: SecretStr | None = Field(None, alias="TEMPORAL_API_KEY")
    temporal_tls_cert: Path | None = Field(None, alias="TEMPORAL_TLS_CERT")
    temporal_tls_key: Path | None = Field(None, alias="TEMPORAL_TLS_KEY")
    # TLS without a client certificate (TEMPORAL_API_KEY turns it on by itself); a private
    # CA for the server's certificate, and the name to verify it against (proxies, tunnels).
    temporal_tls: bool = Field(False, alias="TEMPORAL_TLS")
    temporal_tls_ca: Path | None = Field(None, alias="TEMPORAL_TLS_CA")
    temporal_tls_server_name: str | None = Field(None, alias="TEMPORAL_TLS_SERVER_NAME")

    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_model: str = Field("gpt-4o-mini", alias="OPENAI_MODEL")
    openai_timeout: timedelta = Field(timedelta(seconds=60), alias="OPENAI_TIMEOUT")
    # A reply read with less confidence than this waits for a person instead of acting.
    ai_review_below: float = Field(0.5, ge=0.0, le=1.0, alias="AI_REVIEW_BELOW")

    public_base_url: str = Field("http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    tracking_secret: SecretStr = Field(SecretStr("dev-tracking-secret"), alias="TRACKING_SECRET")

    # The console (api/console): session cookies are signed with this key (production refuses
    # the development default); they last `console_session_max_age` and are Secure in
    # production. The Temporal Web UI's address, for the deal page's link to its workflow.
    session_secret: SecretStr = Field(
        SecretStr("dev-session-secret"), alias="DEALPILOT_SESSION_SECRET"
    )
    console_session_max_age: timedelta = Field(timedelta(hours=12), alias="CONSOLE_SESSION_MAX_AGE")
    temporal_ui_url: str = Field("http://127.0.0.1:8233", alias="TEMPORAL_UI_URL")

    # Mail providers: credentials only ever come from here, never from the database.
    smtp_host: str = Field("localhost", alias="SMTP_HOST")
    smtp_port: int = Field(587, alias="SMTP_PORT")
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_security: Literal["starttls", "ssl", "none"] = Field("starttls", alias="SMTP_SECURITY")
    zoho_client_id: str | None = Field(None, alias="ZOHO_CLIENT_ID")
    zoho_client_secret: SecretStr | None = Field(None, alias="ZOHO_CLIENT_SECRET")
    zoho_refresh_token: SecretStr | None = Field(None, alias="ZOHO_REFRESH_TOKEN")
    zoho_account_id: str | None = Field(None, alias="ZOHO_ACCOUNT_ID")
    zoho_data_centre: str = Field("com", alias="ZOHO_DATA_CENTRE")
    zoho_accounts_url: str | None = Field(None, alias="ZOHO_ACCOUNTS_URL")
    zoho_mail_url: str | None = Field(None, alias="ZOHO_MAIL_URL")
    # Zoho over SMTP (provider `zoho_smtp`): full headers (List-Unsubscribe, Reply-To, the
    # From name, a text part), unlike the REST API. Default host: smtppro.zoho.<data centre>
    # (domain mailboxes); the password is an app-specific password of that mailbox.
    zoho_smtp_host: str | None = Field(None, alias="ZOHO_SMTP_HOST")
    zoho_smtp_port: int = Field(465, alias="ZOHO_SMTP_PORT")
    zoho_smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "ssl", alias="ZOHO_SMTP_SECURITY"
    )
    zoho_smtp_username: str | None = Field(None, alias="ZOHO_SMTP_USERNAME")
    zoho_smtp_password: SecretStr | None = Field(None, alias="ZOHO_SMTP_PASSWORD")
    zeptomail_token: SecretStr | None = Field(None, alias="ZEPTOMAIL_TOKEN")
    zeptomail_region: str = Field("com", alias="ZEPTOMAIL_REGION")
    zeptomail_url: str | None = Field(None, alias="ZEPTOMAIL_URL")

    # Inbound webhooks: each refuses every request (503) until its secret is set.
    zeptomail_webhook_key: SecretStr | None = Field(None, alias="ZEPTOMAIL_WEBHOOK_KEY")
    mailgun_signing_key: SecretStr | None = Field(None, alias="MAILGUN_SIGNING_KEY")
    postmark_inbound_user: str | None = Field(None, alias="POSTMARK_INBOUND_USER")
    postmark_inbound_password: SecretStr | None = Field(None, alias="POSTMARK_INBOUND_PASSWORD")
    sendgrid_inbound_key: SecretStr | None = Field(None, alias="SENDGRID_INBOUND_KEY")
    dealpilot_webhook_secret: SecretStr | None = Field(None, alias="DEALPILOT_WEBHOOK_SECRET")
    webhook_replay_window: timedelta = Field(timedelta(minutes=5), alias="WEBHOOK_REPLAY_WINDOW")

    # Reply detection by polling: IMAP when IMAP_HOST is set, the Zoho Mail API when
    # ZOHO_INBOX_FOLDER_ID is set (same OAuth client as the zoho provider; its refresh token
    # needs the ZohoMail.messages.READ scope too). Either, both or neither.
    imap_host: str | None = Field(None, alias="IMAP_HOST")
    imap_port: int = Field(993, alias="IMAP_PORT")
    imap_username: str | None = Field(None, alias="IMAP_USERNAME")
    imap_password: SecretStr | None = Field(None, alias="IMAP_PASSWORD")
    imap_security: Literal["ssl", "starttls", "none"] = Field("ssl", alias="IMAP_SECURITY")
    imap_folder: str = Field("INBOX", alias="IMAP_FOLDER")
    # Where the IMAP mailbox keeps what was sent: a send whose outcome is unknown (a dead
    # worker, a lost provider answer) is looked up here by Message-ID, then marked sent or
    # sent once more; without IMAP_HOST it waits for a person.
    imap_sent_folder: str = Field("Sent", alias="IMAP_SENT_FOLDER")
    zoho_inbox_folder_id: str | None = Field(None, alias="ZOHO_INBOX_FOLDER_ID")
    # The first poll of a mailbox looks back this far; later polls start where the last stopped.
    inbox_lookback: timedelta = Field(timedelta(days=7), alias="INBOX_LOOKBACK")
    inbox_batch: int = Field(200, ge=1, le=1000, alias="INBOX_BATCH")

    # Scheduled jobs (Temporal Schedules, created or updated at startup).
    schedules_enabled: bool = Field(True, alias="SCHEDULES_ENABLED")
    inbox_poll_every: timedelta = Field(timedelta(minutes=5), alias="INBOX_POLL_EVERY")
    stuck_deal_days: int = Field(14, ge=1, alias="STUCK_DEAL_DAYS")
    draft_review_remind_after: timedelta = Field(
        timedelta(hours=24), alias="DRAFT_REVIEW_REMIND_AFTER"
    )
    daily_review_score_limit: int = Field(100, ge=0, alias="DAILY_REVIEW_SCORE_LIMIT")

    # Backlink link checks: the daily `link-check` schedule and POST .../backlinks/verify.
    link_check_every: timedelta = Field(timedelta(days=1), alias="LINK_CHECK_EVERY")
    link_check_timeout: timedelta = Field(timedelta(seconds=10), alias="LINK_CHECK_TIMEOUT")
    link_check_deadline: timedelta = Field(timedelta(seconds=30), alias="LINK_CHECK_DEADLINE")
    link_check_max_bytes: int = Field(2_000_000, ge=1024, alias="LINK_CHECK_MAX_BYTES")
    link_check_user_agent: str = Field(
        "dealpilot-linkcheck/0.1", min_length=1, alias="LINK_CHECK_USER_AGENT"
    )
    # Imported URLs pointing at loopback/private/link-local addresses are refused unless set.
    link_check_allow_private: bool = Field(False, alias="LINK_CHECK_ALLOW_PRIVATE")

    # Prometheus (dealpilot.core.metrics). The API serves GET /metrics (Bearer METRICS_TOKEN when
    # set); the worker serves ours and the Temporal SDK's on two ports (0: off).
    metrics_enabled: bool = Field(True, alias="METRICS_ENABLED")
    metrics_token: SecretStr | None = Field(None, alias="METRICS_TOKEN")
    metrics_host: str = Field("127.0.0.1", alias="METRICS_HOST")
    worker_metrics_port: int = Field(9464, ge=0, le=65535, alias="WORKER_METRICS_PORT")
    temporal_metrics_port: int = Field(9465, ge=0, le=65535, alias="TEMPORAL_METRICS_PORT")
    # USD per million tokens, {"model": [input, output]}, over dealpilot.core.metrics.AI_PRICES.
    ai_prices: dict[str, tuple[float, float]] = Field(default_factory=dict, alias="AI_PRICES")

    # Per-brand mail accounts, {slug: {setting: value}}, from BRAND_<SLUG>_<SETTING> variables
    # (dealpilot.core.brand_settings); read through `for_brand`.
    brand_mail: dict[str, dict[str, Any]] = Field(default_factory=dict, repr=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {})
        brand_mail = BrandMailSource(settings_cls, init_kwargs)
        return (init_settings, env_settings, dotenv_settings, brand_mail, file_secret_settings)

    @model_validator(mode="before")
    @classmethod
    def _parse_brand_keys(cls, data: Any) -> Any:
        """BRAND_<SLUG>_<SETTING> keys (gathered by BrandMailSource) into `brand_mail`."""
        if not isinstance(data, dict):
            return data
        raw = data.get(RAW) or {}
        data = {k: v for k, v in data.items() if k != RAW and k not in raw}
        if raw:
            secret = {
                f.alias for f in cls.model_fields.values() if "SecretStr" in str(f.annotation)
            }
            data["brand_mail"] = {
                slug: {k: SecretStr(str(v)) if k in secret else v for k, v in given.items()}
                for slug, given in collect(raw, mail_fields(cls).values()).items()
            }
        return data

    @model_validator(mode="after")
    def _check_brand_mail(self) -> Settings:
        """A brand's mail setting of the wrong type fails at start-up, not at its first send."""
        for slug, given in self.brand_mail.items():
            try:
                _brand_mail_model().model_validate(given)
            except ValidationError as exc:
                names = ", ".join(f"BRAND_{slug.upper()}_{e['loc'][0]}" for e in exc.errors())
                raise ValueError(f"invalid per-brand mail setting: {names}") from None
        return self

    def for_brand(self, slug: str | None) -> Settings:
        """These settings with the brand's own mail account (BRAND_<SLUG>_*) over the
        deployment-wide one."""
        given = self.brand_mail.get((slug or "").lower())
        if not given:
            return self
        checked = _brand_mail_model().model_validate(given)
        return self.model_copy(update=checked.model_dump(exclude_unset=True))

    @property
    def mail_brands(self) -> list[str]:
        """The slugs of brands with a mail account of their own."""
        return sorted(self.brand_mail)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production":
            if self.tracking_secret.get_secret_value() in PLACEHOLDER_SECRETS:
                raise ValueError("TRACKING_SECRET must be set to a real secret in production")
            if not self.api_key_list:
                raise ValueError("DEALPILOT_API_KEYS must be set in production")
            if any(k.lower() in PLACEHOLDER_SECRETS for k in self.api_key_list):
                raise ValueError("DEALPILOT_API_KEYS holds a placeholder key")
            token = self.metrics_token
            if token is not None and token.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError("METRICS_TOKEN must be a real secret (or unset) in production")
            problem = public_url_problem(self.public_base_url)
            if problem is not None:
                # Every tracking, click and unsubscribe link in every email would be dead.
                raise ValueError(
                    f"PUBLIC_BASE_URL {problem}: set it to the address recipients reach the "
                    "API at (tracking and unsubscribe links) in production"
                )
            if self.session_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "DEALPILOT_SESSION_SECRET must be set to a real secret in production"
                )
        return self

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dealpilot.db').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


@lru_cache
def _brand_mail_model() -> type[Any]:
    """The mail settings alone (same names, types and checks), to validate one brand's."""
    fields: dict[str, Any] = {
        name: (Settings.model_fields[name].annotation, Settings.model_fields[name])
        for name in mail_fields(Settings)
    }
    model: type[Any] = create_model("BrandMailSettings", **fields)
    return model


@lru_cache
def get_settings() -> Settings:
    return Settings()
