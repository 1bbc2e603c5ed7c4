"""Talking to Temporal from outside workflows: the connection (TLS, API key, metrics runtime),
the schedules of the jobs and the search attributes the deal workflows use."""

from __future__ import annotations

# Every import at the top: the CLI imports this module only inside the commands that talk to
# Temporal (`setup-temporal`, `dev`, connect_workflows), so none of them slows its start-up.
import asyncio
import time
from collections.abc import Sequence

from temporalio.client import Client, TLSConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode

from dealpilot.core.settings import Settings
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.schedules import BrandClock, ensure_schedules
from dealpilot.temporal.search_attributes import cli_flags, register
from workflows.search_attributes import ALL


def temporal_tls(settings: Settings) -> bool | TLSConfig:
    """TLS for the Temporal connection: mTLS with a client certificate (TEMPORAL_TLS_CERT and
    TEMPORAL_TLS_KEY), server-only TLS with TEMPORAL_TLS or an API key (Temporal Cloud), and
    in either case an optional private CA and server name to verify."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together")
    wanted = (
        cert is not None
        or settings.temporal_tls
        or settings.temporal_api_key is not None
        or settings.temporal_tls_ca is not None
        or settings.temporal_tls_server_name is not None
    )
    if not wanted:
        return False
    ca = settings.temporal_tls_ca
    config = TLSConfig(
        server_root_ca_cert=ca.read_bytes() if ca else None,
        domain=settings.temporal_tls_server_name,
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
    )
    if config == TLSConfig():
        return True  # system roots, no client certificate
    return config


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's own metrics (worker slots, task latencies, polls,
    ...) in Prometheus format on METRICS_HOST:TEMPORAL_METRICS_PORT; None when the port is 0."""
    if not settings.temporal_metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.temporal_metrics_port}"
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, durations_as_seconds=True),
            global_tags={"service": "dealpilot-worker"},
        )
    )


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        data_converter=data_converter,
        tls=temporal_tls(settings),
        runtime=runtime,
    )


async def schedule_jobs(
    client: Client, settings: Settings, brands: Sequence[BrandClock]
) -> dict[str, str]:
    """Creates or updates the job schedules (inbox poll, daily review per brand, drafts); the
    caller reads the active brands (`schedules.active_brand_clocks`) in its unit of work."""
    if not settings.schedules_enabled:
        return {}
    return await ensure_schedules(client, settings, brands)


async def setup_temporal(settings: Settings, *, wait: float) -> list[str]:
    """Registers the deal search attributes, retrying the connection for `wait` seconds (a
    fresh Temporal server answers before its namespace is ready). Returns their names.

    Temporal Cloud refuses this call: there, add the attributes once with `tcld` or the Cloud
    UI (the README lists them); the RuntimeError says so."""
    deadline = time.monotonic() + wait
    while True:
        try:
            client = await asyncio.wait_for(connect_temporal(settings), timeout=10)
            await register(client)
            return [key.name for key in ALL]
        except RPCError as exc:
            if exc.status == RPCStatusCode.PERMISSION_DENIED:  # retrying cannot help
                raise RuntimeError(
                    "this namespace does not let clients add search attributes (Temporal "
                    "Cloud): add " + ", ".join(cli_flags()) + " with tcld or the Cloud UI"
                ) from exc
            error: Exception = exc
        except (RuntimeError, TimeoutError, OSError) as exc:
            error = exc
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"could not register the search attributes at {settings.temporal_address}: "
                f"{type(error).__name__}: {error}"
            ) from error
        await asyncio.sleep(2)
