"""How Settings turn into the Temporal connection's TLS: local plaintext, Temporal Cloud with an
API key (TLS, system roots) or mTLS (client certificate), a private CA and server name."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import TLSConfig

from dealpilot.runtime import temporal_runtime, temporal_tls
from dealpilot.settings import Settings


def settings(**env: object) -> Settings:
    return Settings.model_validate({"DEALPILOT_ENV": "test", **env})


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name in ("client.pem", "client.key", "ca.pem"):
        files[name] = tmp_path / name
        files[name].write_bytes(f"-----BEGIN {name}-----\n".encode())
    return files


def test_local_server_is_plaintext() -> None:
    assert temporal_tls(settings()) is False


def test_api_key_or_tls_flag_uses_tls_with_system_roots() -> None:
    assert temporal_tls(settings(TEMPORAL_API_KEY="cloud-key")) is True
    assert temporal_tls(settings(TEMPORAL_TLS=True)) is True


def test_mtls_reads_the_client_certificate(pem: dict[str, Path]) -> None:
    tls = temporal_tls(
        settings(TEMPORAL_TLS_CERT=pem["client.pem"], TEMPORAL_TLS_KEY=pem["client.key"])
    )
    assert tls == TLSConfig(
        client_cert=b"-----BEGIN client.pem-----\n",
        client_private_key=b"-----BEGIN client.key-----\n",
    )


def test_private_ca_and_server_name(pem: dict[str, Path]) -> None:
    tls = temporal_tls(
        settings(
            TEMPORAL_API_KEY="k",
            TEMPORAL_TLS_CA=pem["ca.pem"],
            TEMPORAL_TLS_SERVER_NAME="temporal.internal",
        )
    )
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == b"-----BEGIN ca.pem-----\n"
    assert tls.domain == "temporal.internal"
    assert tls.client_cert is None


def test_half_a_client_certificate_is_a_clear_error(pem: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"):
        temporal_tls(settings(TEMPORAL_TLS_CERT=pem["client.pem"]))


def test_sdk_metrics_runtime_only_with_a_port() -> None:
    assert temporal_runtime(settings(TEMPORAL_METRICS_PORT=0)) is None
