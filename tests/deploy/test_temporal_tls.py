"""How Settings turn into the Temporal connection's TLS: local plaintext, Temporal Cloud with an
API key (TLS, system roots) or mTLS (client certificate), a private CA and server name."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import TLSConfig
from temporalio.testing import WorkflowEnvironment

from dealpilot.core.settings import Settings
from dealpilot.temporal.connection import connect_temporal, temporal_runtime, temporal_tls
from tests.temporal import DEV_SERVER


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


# ------------------------------------------------------------------------------ real TLS
# The dev server speaks plaintext only, so a TLS-terminating proxy stands in front of it (as a
# load balancer or Temporal Cloud's front door would): the SDK really negotiates TLS, checks
# the server's certificate against our CA and name, and presents its client certificate.
SERVER_NAME = "temporal.test"


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _issue(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, san: str = ""
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer if issuer else (name, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        builder = builder.add_extension(usage, critical=True)
    else:
        purpose = ExtendedKeyUsageOID.SERVER_AUTH if san else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca_cert, ca_key = _issue("dealpilot test CA", None)
    server = _issue(SERVER_NAME, (ca_cert.subject, ca_key), san=SERVER_NAME)
    client = _issue("dealpilot-worker", (ca_cert.subject, ca_key))
    return Pki(
        ca=_write(root / "ca.pem", ca_cert, ca_key),
        server_cert=_write(root / "server.pem", *server),
        server_key=root / "server.key",
        client_cert=_write(root / "client.pem", *client),
        client_key=root / "client.key",
    )


@pytest.fixture(scope="module")
async def dev_server() -> AsyncIterator[str]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(DEV_SERVER))
    yield env.client.service_client.config.target_host
    await env.shutdown()


@asynccontextmanager
async def tls_proxy(target: str, pki: Pki, *, require_client_cert: bool) -> AsyncIterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    host, _, port = target.rpartition(":")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def _namespace_of(settings_: Settings) -> str:
    client = await asyncio.wait_for(connect_temporal(settings_), timeout=20)
    answer = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    return str(answer.namespace_info.name)


@pytest.mark.temporal
async def test_mtls_through_a_tls_front_door(dev_server: str, pki: Pki) -> None:
    async with tls_proxy(dev_server, pki, require_client_cert=True) as port:
        mtls = settings(
            TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
            TEMPORAL_TLS_CERT=pki.client_cert,
            TEMPORAL_TLS_KEY=pki.client_key,
            TEMPORAL_TLS_CA=pki.ca,
            TEMPORAL_TLS_SERVER_NAME=SERVER_NAME,
        )
        assert await _namespace_of(mtls) == "default"

        # Without the client certificate the front door refuses the handshake.
        no_cert = mtls.model_copy(update={"temporal_tls_cert": None, "temporal_tls_key": None})
        with pytest.raises(RuntimeError):
            await _namespace_of(no_cert)
        # The server's certificate is checked: not against the system roots, not another name.
        for wrong in ({"temporal_tls_ca": None}, {"temporal_tls_server_name": "other.test"}):
            with pytest.raises(RuntimeError):
                await _namespace_of(mtls.model_copy(update=wrong))


@pytest.mark.temporal
async def test_api_key_over_tls_with_a_private_ca(dev_server: str, pki: Pki) -> None:
    async with tls_proxy(dev_server, pki, require_client_cert=False) as port:
        keyed = settings(
            TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
            TEMPORAL_API_KEY="cloud-style-key",
            TEMPORAL_TLS_CA=pki.ca,
            TEMPORAL_TLS_SERVER_NAME=SERVER_NAME,
        )
        assert await _namespace_of(keyed) == "default"
    # The same key against the plaintext server: TLS is on, so the connection fails.
    with pytest.raises(RuntimeError):
        await _namespace_of(settings(TEMPORAL_ADDRESS=dev_server, TEMPORAL_API_KEY="k"))
