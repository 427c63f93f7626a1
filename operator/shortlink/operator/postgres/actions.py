"""What the HA loop does to a PostgresCluster's members, each step recorded before the
next: fence, fail over (intent, fence, detach, choose, promote), switch over, repoint
the standbys, set the synchronous quorum. Members are reached through
``shortlink.adapters.pg_cluster``; what to do was decided by ``shortlink.domain.failover``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from shortlink.adapters.pg_cluster import ClusterControl, ClusterControlError
from shortlink.domain.failover import (
    Blocked,
    Decision,
    FailureTracker,
    Intent,
    Member,
    Probe,
    Remembered,
    caught_up,
    choose_candidate,
    promotion_waits_for_fence,
    synchronous_standbys,
)
from shortlink.operator.postgres.reporting import Reporter
from shortlink.operator.postgres.status import intent_status
from shortlink.operator.postgres.tick import Tick, stamp

log = logging.getLogger(__name__)
_DETACH_TIMEOUT = 2.0


async def probe_all(control: ClusterControl, members: tuple[Member, ...]) -> dict[str, Probe]:
    """Every member at once, each on a fresh connection within the probe timeout."""
    found = await asyncio.gather(*(control.probe(m) for m in members))
    return {p.name: p for p in found}


class Actions:
    def __init__(
        self, report: Reporter, clock: Callable[[], float], wall: Callable[[], datetime]
    ) -> None:
        self._report = report
        self._clock = clock
        self._wall = wall
        # Fences of an unreachable old primary still trying while its failover goes on.
        self._background: set[asyncio.Future[None]] = set()

    async def fence(
        self, tick: Tick, control: ClusterControl, names: tuple[str, ...], *, cut_replication: bool
    ) -> list[str]:
        fenced = []
        for name in names:
            try:
                await control.fence(tick.member(name), cut_replication=cut_replication)
            except ClusterControlError as exc:
                await self._report.event(tick, "Warning", "FenceFailed", f"{name}: {exc}")
                continue
            fenced.append(name)
            await self._report.event(
                tick, "Warning", "Fenced", f"{name} fenced: read-only, commits never acknowledged"
            )
        return fenced

    async def failover(
        self,
        tick: Tick,
        control: ClusterControl,
        memory: Remembered,
        tracker: FailureTracker,
        fenced: list[str],
    ) -> bool:
        now = self._wall()
        intent = memory.intent
        if intent is None:
            detected = now - timedelta(seconds=tracker.failing_for(self._clock()))
            intent = Intent("failover", memory.current_primary, None, stamp(detected), stamp(now))
            await self._report.record(
                tick, {"phase": "FailingOver", "failover": intent_status(intent)}
            )
            await self._report.event(
                tick,
                "Warning",
                "FailoverStarted",
                f"failing over from {intent.from_member}",
            )
        old = intent.from_member
        # Fence the old primary and detach every standby at once; whether the promotion
        # waits for the fence is the domain's call (promotion_waits_for_fence). One not
        # waited for goes on in the background, and what it fenced is recorded as usual.
        fencing = old is not None and old not in fenced
        fence = asyncio.ensure_future(
            self._fence_old(tick, control, old if fencing else None, fenced)
        )
        await self._detach(tick, control, exclude={old})
        if promotion_waits_for_fence(tick.spec, tick.probes.get(old) if old else None):
            await fence
        else:
            self._background.add(fence)
            fence.add_done_callback(self._background.discard)
        # Re-probe the standbys to choose among them; the old primary is not a
        # candidate, and one that didn't answer would cost another probeTimeout here.
        others = tuple(m for m in tick.spec.members if m.name != old)
        fresh = {**tick.probes, **await probe_all(control, others)}
        choice = choose_candidate(tick.spec, fresh, memory, old)
        if isinstance(choice, Blocked):
            await self._report.blocked(tick, choice)
            return False
        intent = replace(intent, to=choice)
        await self._report.record(tick, {"failover": intent_status(intent)})
        tick.probes = fresh
        return await self.promote(tick, control, intent, fenced, detached=True)

    async def _fence_old(
        self, tick: Tick, control: ClusterControl, old: str | None, fenced: list[str]
    ) -> None:
        if old is None:
            return
        fenced += await self.fence(tick, control, (old,), cut_replication=True)
        if old not in fenced:
            await self._report.event(
                tick, "Warning", "FenceDeferred", f"{old} unreachable; fenced as soon as seen"
            )

    async def _detach(self, tick: Tick, control: ClusterControl, exclude: set[str | None]) -> None:
        standbys = [
            tick.member(p.name) for p in tick.probes.values() if p.standby and p.name not in exclude
        ]
        results = await asyncio.gather(
            *(control.detach(m, _DETACH_TIMEOUT) for m in standbys), return_exceptions=True
        )
        for member, result in zip(standbys, results, strict=True):
            if result is not True:
                log.warning(
                    "standby not detached",
                    extra={"cluster": tick.label, "member": member.name, "error": str(result)},
                )

    async def promote(
        self,
        tick: Tick,
        control: ClusterControl,
        intent: Intent,
        fenced: list[str],
        *,
        detached: bool = False,
    ) -> bool:
        assert intent.to is not None
        target = tick.member(intent.to)
        old = intent.from_member
        if (
            old is not None
            and old not in fenced
            and tick.probes.get(old, Probe(old, False)).writable
        ):
            fenced += await self.fence(
                tick, control, (old,), cut_replication=intent.kind == "failover"
            )
            if old not in fenced:
                return False  # a reachable old primary is fenced first, or nothing happens
        if intent.kind == "switchover":
            if not await self._catch_up(tick, control, target, old):
                return False
        elif not detached:
            await self._detach(tick, control, exclude={old, intent.to})
        synchronous = synchronous_standbys(tick.spec, tick.probes, intent.to, after_promotion=True)
        slots = [m.slot for m in tick.spec.members if m.name != intent.to]
        try:
            await control.promote(target, synchronous, slots)
        except ClusterControlError as exc:
            await self._report.event(tick, "Warning", "PromotionFailed", str(exc))
            return False
        self._report.promoted(tick)
        await self._report.event(
            tick,
            "Normal",
            "Promoted",
            f"{intent.to} promoted (was {old}); synchronous standbys: "
            f"{', '.join(synchronous) or 'none'}",
        )
        primary = target
        for name, probe in tick.probes.items():
            if name in {intent.to, old} or not probe.standby:
                continue
            try:
                await control.repoint(tick.member(name), primary)
                await self._report.event(
                    tick, "Normal", "Repointed", f"{name} streams from {intent.to}"
                )
            except ClusterControlError as exc:
                await self._report.event(tick, "Warning", "RepointFailed", str(exc))
        return True

    async def _catch_up(
        self, tick: Tick, control: ClusterControl, target: Member, old: str | None
    ) -> bool:
        """A switchover promotes only a target holding all of the fenced primary's WAL."""
        if old is None:
            return True
        deadline = self._clock() + tick.spec.failover_delay
        behind = None
        while self._clock() < deadline:
            try:
                head = await control.current_lsn(tick.member(old))
                have = await control.current_lsn(target)
            except ClusterControlError as exc:
                behind = str(exc)
                await asyncio.sleep(0.05)
                continue
            check = caught_up(head or 0, have)
            if check.caught_up:
                return True
            behind = f"{check.behind} bytes behind"
            await asyncio.sleep(0.02)
        await self._report.event(
            tick, "Warning", "SwitchoverWaiting", f"{target.name} not caught up: {behind}"
        )
        return False

    async def switchover(
        self, tick: Tick, control: ClusterControl, decision: Decision, fenced: list[str]
    ) -> bool:
        assert decision.target is not None and decision.primary is not None
        now = self._wall()
        intent = Intent("switchover", decision.primary, decision.target, stamp(now), stamp(now))
        await self._report.record(
            tick, {"phase": "SwitchingOver", "failover": intent_status(intent)}
        )
        await self._report.event(
            tick,
            "Normal",
            "SwitchoverStarted",
            f"switching over from {decision.primary} to {decision.target}",
        )
        return await self.promote(tick, control, intent, fenced)

    async def repoint(self, tick: Tick, control: ClusterControl, decision: Decision) -> None:
        if not decision.repoint or decision.primary is None:
            return
        primary = tick.member(decision.primary)
        try:
            await control.ensure_slots(primary, [tick.member(n).slot for n in decision.repoint])
        except ClusterControlError as exc:
            await self._report.event(tick, "Warning", "RepointFailed", str(exc))
            return
        for name in decision.repoint:
            try:
                await control.repoint(tick.member(name), primary)
            except ClusterControlError as exc:
                await self._report.event(tick, "Warning", "RepointFailed", str(exc))
                continue
            await self._report.event(
                tick, "Normal", "Repointed", f"{name} streams from {primary.name}"
            )

    async def set_synchronous(
        self, tick: Tick, control: ClusterControl, decision: Decision
    ) -> None:
        if decision.set_synchronous is None or decision.primary is None:
            return
        try:
            await control.set_synchronous(tick.member(decision.primary), decision.set_synchronous)
        except ClusterControlError as exc:
            await self._report.event(tick, "Warning", "SynchronousStandbysFailed", str(exc))
            return
        names = ", ".join(decision.set_synchronous)
        await self._report.event(
            tick,
            "Normal" if decision.set_synchronous else "Warning",
            "SynchronousStandbys",
            f"commits on {decision.primary} wait for ANY 1 of: {names}"
            if names
            else f"no healthy standby: commits on {decision.primary} are asynchronous",
        )
