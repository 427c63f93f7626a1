"""One active replica at a time: a coordination.k8s.io Lease, as client-go does it.

Replicas race to hold the Lease; the holder renews it every third of its duration
and reconciles. A replica that sees the record unchanged for a full duration (by its
own clock: remote timestamps are never compared with local ones, so clock skew
between nodes doesn't matter) takes it over. A holder that can't renew within two
thirds of the duration stops reconciling and exits, so two replicas never write at
once for long; the pod restarts as a standby.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from shortlink.operator import metrics
from shortlink.operator.kube import Kube, KubeUnavailable, LeaseConflict, LeaseRecord, micro_time

log = logging.getLogger(__name__)


class LeadershipLost(Exception):
    pass


def may_take(
    record: LeaseRecord | None, identity: str, observed_at: float, now: float, duration: float
) -> bool:
    """Whether ``identity`` may write itself into the Lease now."""
    if record is None or not record.holder or record.holder == identity:
        return True
    return now - observed_at >= duration


class Leadership:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        identity: str,
        duration: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube = kube
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._duration = duration
        self._clock = clock
        self._seen: tuple[str, str | None] | None = None  # (holder, renewTime) last seen
        self._seen_at = 0.0
        self.leading = False

    @property
    def retry_period(self) -> float:
        return max(0.5, self._duration / 5)

    async def acquire(self) -> None:
        """Wait until this replica holds the Lease."""
        while True:
            try:
                if await self._try():
                    break
            except (KubeUnavailable, LeaseConflict) as exc:
                log.warning("lease acquisition failed", extra={"error": str(exc)})
            await asyncio.sleep(self.retry_period)
        self.leading = True
        metrics.LEADER.set(1)
        metrics.LEADERSHIP_CHANGES.labels("acquired").inc()
        log.info("leader election won", extra={"identity": self.identity, "lease": self._name})

    async def keep(self) -> None:
        """Renew until that fails for longer than the renew deadline; then raise."""
        deadline = self._duration * 2 / 3
        last_renewed = self._clock()
        while True:
            await asyncio.sleep(self._duration / 3)
            try:
                held = await self._try(renew_only=True)
            except (KubeUnavailable, LeaseConflict) as exc:
                log.warning("lease renewal failed", extra={"error": str(exc)})
                held = None
            if held:
                last_renewed = self._clock()
                continue
            if held is False or self._clock() - last_renewed > deadline:
                self.leading = False
                metrics.LEADER.set(0)
                metrics.LEADERSHIP_CHANGES.labels("lost").inc()
                raise LeadershipLost(
                    "another replica holds the Lease"
                    if held is False
                    else f"could not renew the Lease for {deadline:.0f}s"
                )

    async def release(self) -> None:
        """Hand over at once on a clean exit instead of making standbys wait it out."""
        if not self.leading:
            return
        self.leading = False
        metrics.LEADER.set(0)
        try:
            record = await self._kube.read_lease(self._namespace, self._name)
            if record is not None and record.holder == self.identity:
                spec = {"holderIdentity": "", "leaseDurationSeconds": 1}
                spec["leaseTransitions"] = record.transitions
                await self._kube.write_lease(
                    self._namespace, self._name, spec, record.resource_version
                )
        except (KubeUnavailable, LeaseConflict) as exc:
            log.warning("lease release failed", extra={"error": str(exc)})

    async def _try(self, renew_only: bool = False) -> bool:
        """True: we hold it now; False: someone else validly does. Raises on I/O
        failures and lost write races (KubeUnavailable, LeaseConflict)."""
        record = await self._kube.read_lease(self._namespace, self._name)
        now = self._clock()
        seen = (record.holder, record.renew_time) if record else None
        if seen != self._seen:
            self._seen, self._seen_at = seen, now
        if renew_only and (record is None or record.holder != self.identity):
            return False
        if not may_take(record, self.identity, self._seen_at, now, self._duration):
            return False
        wall = micro_time(datetime.now(UTC))
        taking_over = record is None or record.holder != self.identity
        spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self._duration)),
            "acquireTime": wall if taking_over else record.acquire_time if record else wall,
            "renewTime": wall,
            "leaseTransitions": (record.transitions if record else 0) + (1 if taking_over else 0),
        }
        await self._kube.write_lease(
            self._namespace, self._name, spec, record.resource_version if record else None
        )
        return True
