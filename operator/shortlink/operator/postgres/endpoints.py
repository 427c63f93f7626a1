"""How applications find a PostgresCluster's members: the read-write Service lists the
primary only while it takes writes, the read-only one the streaming standbys (their
EndpointSlices are the operator's to write)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket

from shortlink.domain.failover import Decision, Member
from shortlink.operator.kube import Endpoint, Kube, KubeUnavailable, WriteConflict
from shortlink.operator.postgres.reporting import Reporter
from shortlink.operator.postgres.tick import Tick

log = logging.getLogger(__name__)
# Why a Service or EndpointSlice was left alone (kube.ensure_service, put_endpoints).
NOT_OURS = frozenset({"ServiceNotManaged", "EndpointSliceNotManaged"})


class Endpoints:
    def __init__(self, kube: Kube, report: Reporter) -> None:
        self._kube = kube
        self._report = report

    async def publish(self, tick: Tick, decision: Decision) -> list[tuple[str, str]]:
        """The read-write slice lists the primary only while it takes writes (empty
        during a failover: no client is sent to a primary being replaced); the
        read-only one the streaming standbys. Returns (reason, message) for each
        Service the operator refused to touch (not its own): the status says so."""
        refused: list[tuple[str, str]] = []
        config = tick.config
        primary = decision.primary
        head = tick.probes.get(primary) if primary is not None else None
        writers = (
            [primary] if primary is not None and head is not None and head.healthy_primary else []
        )
        streaming = {r.name for r in head.replicas if r.streaming} if writers and head else set()
        readers = [m.name for m in tick.spec.members if m.name in streaming]
        for service, names in (
            (config.read_write_service, writers),
            (config.read_only_service, readers),
        ):
            if service is None:
                continue
            endpoints = [await _endpoint(tick.member(n)) for n in names]
            port = tick.spec.members[0].port
            try:
                await self._kube.ensure_service(tick.ref.namespace, service, port, tick.owner)
                changed = await self._kube.put_endpoints(
                    tick.ref.namespace, service, endpoints, tick.owner
                )
            except WriteConflict:
                continue  # someone wrote it meanwhile: the next tick looks again
            except KubeUnavailable as exc:
                if exc.reason in NOT_OURS:
                    refused.append((exc.reason, exc.message))
                    continue
                # The status (and the next failover) must not wait for a Service.
                log.warning(
                    "endpoints not written", extra={"cluster": tick.label, "error": str(exc)}
                )
                continue
            if changed:
                await self._report.event(
                    tick,
                    "Normal",
                    "EndpointsUpdated",
                    f"Service {service} -> {', '.join(names) or 'no member'}",
                )
        return refused


async def _endpoint(member: Member) -> Endpoint:
    """kube-proxy routes only IP endpoints: a member's DNS name is resolved (on every
    write: a pod's IP changes when it restarts). What can't be an IP endpoint
    (loopback, link-local, unresolvable) is published as FQDN, for clients that
    read the slice themselves."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            member.host, member.port, type=socket.SOCK_STREAM
        )
    except OSError:
        infos = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]))
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            kind = "IPv6" if address.version == 6 else "IPv4"
            return Endpoint(str(address), member.port, member.name, kind)
    return Endpoint(member.host, member.port, member.name, "FQDN")
