"""The operator's PostgreSQL connections give their password only to SCRAM (issue 19,
finding 2): a server at a PostgresCluster member's host that asks for the password in
clear, or as MD5, gets nothing. The attacker is a small asyncio server speaking the
start of the protocol; the other side is a real PostgreSQL with scram-sha-256."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import struct
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shortlink.adapters.pg_cluster import ClusterControl, Credentials
from shortlink.domain.failover import Member
from tests.harness.postgres import SUPERUSER, PostgresServer

PASSWORD = "the-superuser-password-from-the-secret"


class Attacker:
    """Asks every client for a password with ``code`` (3 cleartext, 5 MD5) and keeps
    whatever comes back."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.received = b""
        self.startups = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        length = struct.unpack("!i", await reader.readexactly(4))[0]
        first = await reader.readexactly(length - 4)
        if first == struct.pack("!i", 80877103):  # SSLRequest: no TLS here
            writer.write(b"N")
            length = struct.unpack("!i", await reader.readexactly(4))[0]
            await reader.readexactly(length - 4)  # the StartupMessage: user, database
        self.startups += 1
        extra = b"salt" if self.code == 5 else b""
        writer.write(b"R" + struct.pack("!ii", 8 + len(extra), self.code) + extra)
        await writer.drain()
        try:
            while data := await asyncio.wait_for(reader.read(4096), 2):
                self.received += data
        except TimeoutError:
            pass
        writer.close()


@asynccontextmanager
async def attacker(code: int) -> AsyncIterator[tuple[Attacker, int]]:
    fake = Attacker(code)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    try:
        yield fake, server.sockets[0].getsockname()[1]
    finally:
        server.close()


def control(password: str = PASSWORD, ca: str | None = None) -> ClusterControl:
    credentials = Credentials(SUPERUSER, password, SUPERUSER, password, ca=ca)
    return ClusterControl(credentials, timeout=3)


@pytest.mark.parametrize(("code", "method"), [(3, "cleartext"), (5, "MD5")])
async def test_a_server_asking_for_a_password_in_clear_gets_nothing(code: int, method: str) -> None:
    async with attacker(code) as (fake, port):
        probe = await control().probe(Member("evil", "127.0.0.1", port))
    assert fake.startups == 1  # it was asked, and answered with a password request
    assert fake.received == b"", fake.received  # no PasswordMessage, nothing at all
    assert PASSWORD.encode() not in fake.received
    assert not probe.reachable
    assert probe.error is not None and f"{method} password" in probe.error, probe.error
    assert "refused" in probe.error and "scram-sha-256" in probe.error


def certificate(
    name: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, Any] | None = None
) -> x509.Certificate:
    """A CA (no issuer) or a server certificate for 127.0.0.1 / localhost."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0] if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def new_ca(common_name: str) -> tuple[x509.Name, ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    pem = certificate(name, key).public_bytes(serialization.Encoding.PEM).decode()
    return name, key, pem


@pytest.fixture(scope="module")
def cluster_ca() -> tuple[x509.Name, ec.EllipticCurvePrivateKey, str]:
    return new_ca("cluster CA")


@pytest.fixture(scope="module")
def scram_server(
    tmp_path_factory: pytest.TempPathFactory,
    cluster_ca: tuple[x509.Name, ec.EllipticCurvePrivateKey, str],
) -> Iterator[PostgresServer]:
    """A real PostgreSQL whose TCP logins need the superuser's password; it also takes
    TLS, with a certificate for 127.0.0.1 signed by ``cluster_ca``."""
    with PostgresServer(tmp_path_factory.mktemp("pg-scram")) as server:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pg0")])
        cert = certificate(name, key, (cluster_ca[0], cluster_ca[1]))
        data = Path(server.data_dir)
        (data / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (data / "server.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        owner = data.stat()
        for file in ("server.crt", "server.key"):
            os.chown(data / file, owner.st_uid, owner.st_gid)
        os.chmod(data / "server.key", 0o600)
        server.execute("ALTER SYSTEM SET ssl = on")
        server.execute(f"ALTER ROLE {SUPERUSER} PASSWORD '{PASSWORD}'")
        yield server


def require(server: PostgresServer, method: str, kind: str = "host") -> None:
    """pg_hba.conf: TCP logins from loopback by ``method``; reloaded."""
    hba = Path(server.data_dir) / "pg_hba.conf"
    hba.write_text(f"local all all trust\n{kind} all all 127.0.0.1/32 {method}\n")
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGHUP)


async def test_scram_logs_in_through_the_guard(
    scram_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    require(scram_server, "scram-sha-256")
    await asyncio.sleep(0.5)  # the reload
    member = Member("pg0", "127.0.0.1", scram_server.port)
    with caplog.at_level(logging.WARNING):
        probe = await control().probe(member)
        assert probe.reachable and probe.in_recovery is False, probe.error
        assert await control().current_lsn(member)
        await asyncio.sleep(0.1)  # a relay's handler finishing after its connection
    # Every probe goes through a relay: winding one down must not log (it did, as
    # asyncio's "Exception in callback ... CancelledError", once per probe).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    wrong = await control("not-it").probe(member)
    assert not wrong.reachable and "password authentication failed" in str(wrong.error)


def test_the_relay_winds_down_quietly_under_uvloop(
    scram_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator runs on uvloop, which raises RuntimeError (not OSError) for a write
    to a closed transport: the relay's wind-down must not log that either."""
    require(scram_server, "scram-sha-256")
    member = Member("pg0", "127.0.0.1", scram_server.port)

    async def probes() -> None:
        await asyncio.sleep(0.5)  # the reload
        for _ in range(20):
            probe = await control().probe(member)
            assert probe.reachable, probe.error
        await asyncio.sleep(0.2)

    with caplog.at_level(logging.WARNING):
        uvloop.run(probes())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_real_server_asking_for_cleartext_is_refused(scram_server: PostgresServer) -> None:
    require(scram_server, "password")
    await asyncio.sleep(0.5)
    try:
        probe = await control().probe(Member("pg0", "127.0.0.1", scram_server.port))
    finally:
        require(scram_server, "scram-sha-256")
    assert not probe.reachable
    assert probe.error is not None and "cleartext password" in probe.error, probe.error


async def test_with_a_ca_the_password_goes_only_over_verified_tls(
    scram_server: PostgresServer, cluster_ca: tuple[x509.Name, Any, str]
) -> None:
    """Cleartext password authentication is fine inside TLS to a server that proved
    its name with the cluster's CA; another CA's server, or one without TLS, gets
    nothing."""
    require(scram_server, "password", kind="hostssl")
    await asyncio.sleep(0.5)
    member = Member("pg0", "127.0.0.1", scram_server.port)
    try:
        probe = await control(ca=cluster_ca[2]).probe(member)
        assert probe.reachable, probe.error
        stranger = await control(ca=new_ca("someone else")[2]).probe(member)
    finally:
        require(scram_server, "scram-sha-256")
    assert not stranger.reachable and "certificate verify failed" in str(stranger.error)
    async with attacker(3) as (fake, port):
        plain = await control(ca=cluster_ca[2]).probe(Member("evil", "127.0.0.1", port))
    assert fake.received == b"" and not plain.reachable
    assert "SSL" in str(plain.error), plain.error
