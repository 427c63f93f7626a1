"""Lease election logic with an in-memory Lease store and a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from shortlink.operator.kube import LeaseConflict, LeaseRecord
from shortlink.operator.leadership import Leadership, LeadershipLost, may_take


def record(holder: str, renew: str = "t0") -> LeaseRecord:
    return LeaseRecord(holder, 15, 1, "t0", renew, "1")


def test_may_take() -> None:
    assert may_take(None, "me", 0, 0, 15)
    assert may_take(record(""), "me", 0, 0, 15)  # released
    assert may_take(record("me"), "me", 0, 0, 15)  # renewal
    assert not may_take(record("other"), "me", observed_at=100, now=114.9, duration=15)
    assert may_take(record("other"), "me", observed_at=100, now=115, duration=15)


class FakeLeases:
    """One Lease with optimistic concurrency, like the API server's."""

    def __init__(self) -> None:
        self.spec: dict[str, Any] | None = None
        self.version = 0
        self.fail_reads = False

    async def read_lease(self, namespace: str, name: str) -> LeaseRecord | None:
        if self.fail_reads:
            from shortlink.operator.kube import KubeUnavailable

            raise KubeUnavailable("KubernetesUnavailable", "down")
        if self.spec is None:
            return None
        return LeaseRecord(
            self.spec["holderIdentity"],
            self.spec["leaseDurationSeconds"],
            self.spec.get("leaseTransitions", 0),
            self.spec.get("acquireTime"),
            self.spec.get("renewTime"),
            str(self.version),
        )

    async def write_lease(
        self, namespace: str, name: str, spec: dict[str, Any], resource_version: str | None
    ) -> None:
        if (resource_version is None) != (self.spec is None):
            raise LeaseConflict("exists" if self.spec else "gone")
        if resource_version is not None and resource_version != str(self.version):
            raise LeaseConflict("stale")
        self.spec, self.version = dict(spec), self.version + 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def elector(store: FakeLeases, identity: str, clock: Clock) -> Leadership:
    return Leadership(store, "default", "lease", identity, 15, clock)  # type: ignore[arg-type]


async def test_first_comer_leads_and_a_standby_waits_for_expiry() -> None:
    store, clock = FakeLeases(), Clock()
    first, second = elector(store, "a", clock), elector(store, "b", clock)
    assert await first._try()
    assert store.spec is not None and store.spec["holderIdentity"] == "a"
    assert not await second._try()  # first sight of a's record starts b's timer
    clock.now = 14
    assert not await second._try()
    assert await first._try(renew_only=True)  # a renews: the record changes
    clock.now = 28
    assert not await second._try()  # b saw the renewal at 28: waits until 43
    clock.now = 43
    assert await second._try()
    assert store.spec["holderIdentity"] == "b"
    assert store.spec["leaseTransitions"] == 2
    assert not await first._try(renew_only=True)  # a notices it lost


async def test_release_hands_over_at_once() -> None:
    store, clock = FakeLeases(), Clock()
    first, second = elector(store, "a", clock), elector(store, "b", clock)
    await first.acquire()
    assert first.leading
    await first.release()
    assert store.spec is not None and store.spec["holderIdentity"] == ""
    assert await second._try()


async def test_keep_raises_when_another_replica_took_over() -> None:
    store, clock = FakeLeases(), Clock()
    leader = Leadership(store, "default", "lease", "a", 3, clock)  # type: ignore[arg-type]
    acquired, lost = (_changes(change) for change in ("acquired", "lost"))
    await leader.acquire()
    assert store.spec is not None
    store.spec = {**store.spec, "holderIdentity": "b"}
    store.version += 1
    with pytest.raises(LeadershipLost, match="another replica"):
        await asyncio.wait_for(leader.keep(), 5)
    assert not leader.leading
    # Counted for the flapping alert: one take-over, one loss.
    assert (_changes("acquired"), _changes("lost")) == (acquired + 1, lost + 1)


def _changes(change: str) -> float:
    value = REGISTRY.get_sample_value(
        "shortlink_operator_leadership_changes_total", {"change": change}
    )
    assert value is not None, "exported from the start, at 0"
    return value


async def test_keep_raises_after_the_renew_deadline() -> None:
    store, clock = FakeLeases(), Clock()
    leader = Leadership(store, "default", "lease", "a", 3, clock)  # type: ignore[arg-type]
    await leader.acquire()
    store.fail_reads = True

    async def advance() -> None:
        while True:
            await asyncio.sleep(0.1)
            clock.now += 0.5

    ticking = asyncio.create_task(advance())
    try:
        with pytest.raises(LeadershipLost, match="could not renew"):
            await asyncio.wait_for(leader.keep(), 10)
    finally:
        ticking.cancel()
