"""The periodic drift check: level-triggered repair of what changed behind our back.

Every interval it compares what the operator last wrote (the inventory) with
PostgreSQL (one query for all rows), Redis (one GET per link, a few in flight) and
each referenced Secret, and repairs through the same path as the handlers: a row
deleted or edited by hand is rewritten, a stale or missing cache entry re-announced,
a changed Secret re-hashed. A row now held by someone else is reported, never
touched. With the default 30 s interval a repair lands within 60 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from shortlink.domain.links import ManagedRow
from shortlink.operator import metrics
from shortlink.operator.kube import PASSWORD_SECRET_LABEL, KubeUnavailable
from shortlink.operator.links.controller import Controller
from shortlink.operator.links.inventory import Tracked
from shortlink.operator.links.reconcile import (
    InvalidSpec,
    cache_is_current,
    conflict_message,
    password_digest,
    plan_write,
)
from shortlink.operator.links.sync import Applied, BackendUnavailable

log = logging.getLogger(__name__)

_CONCURRENCY = 32


@dataclass(frozen=True)
class DriftReport:
    checked: int
    repaired: dict[str, int]  # what had drifted (row, cache, secret, workspace) -> how many
    failed: int


class DriftCheck:
    def __init__(self, controller: Controller, interval: float) -> None:
        self._controller = controller
        self._sync = controller.sync
        self._kube = controller.kube
        self._inventory = controller.inventory
        self.interval = interval

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                report = await self.check()
            except BackendUnavailable as exc:
                metrics.ERRORS.labels("drift").inc()
                log.warning("drift check failed", extra={"error": exc.message})
                continue
            if report.repaired or report.failed:
                log.info(
                    "drift check repaired links",
                    extra={
                        "checked": report.checked,
                        "repaired": report.repaired,
                        "failed": report.failed,
                    },
                )

    async def check(self) -> DriftReport:
        tracked = self._inventory.snapshot()
        rows = await self._sync.rows([t.code for t in tracked])
        limit = asyncio.Semaphore(_CONCURRENCY)
        repaired: Counter[str] = Counter()
        failed = 0

        async def one(entry: Tracked) -> None:
            nonlocal failed
            async with limit:
                try:
                    kind = await self._check_one(entry, rows.get(entry.code))
                except (BackendUnavailable, KubeUnavailable, InvalidSpec) as exc:
                    failed += 1
                    metrics.ERRORS.labels("drift").inc()
                    log.warning(
                        "drift repair failed", extra={"object": entry.ref.key, "error": str(exc)}
                    )
                    return
            if kind is not None:
                repaired[kind] += 1
                metrics.DRIFT_REPAIRS.labels(kind).inc()

        await asyncio.gather(*(one(entry) for entry in tracked))
        metrics.DRIFT_CHECKS.inc()
        return DriftReport(len(tracked), dict(repaired), failed)

    async def _check_one(self, entry: Tracked, row: ManagedRow | None) -> str | None:
        """Repair ``entry`` if it drifted; returns what had drifted, or None."""
        ref, desired = entry.ref, entry.desired
        if desired.password_ref is not None:
            plain = await self._kube.secret_value(
                ref.namespace,
                desired.password_ref.name,
                desired.password_ref.key,
                opt_in=PASSWORD_SECRET_LABEL,
            )
            if password_digest(plain) != entry.password_digest:
                return await self._reapply(entry, "secret", "the password Secret changed")
        workspace = await self._kube.namespace_workspace(ref.namespace)
        action = plan_write(
            row,
            ref.key,
            entry.namespace_uid,
            desired.new_link(entry.password_hash, workspace),
            desired.active,
        )
        if action == "conflict":
            assert row is not None
            # Who holds it now is logged, not posted: Events are the tenant's to read.
            log.warning(
                "drift: code now held by another",
                extra={"object": ref.key, "code": entry.code, "holder": row.managed_by or "api"},
            )
            message = conflict_message(entry.code, row)
            await self._kube.post_event(ref, "Warning", "CodeConflict", message)
            return None
        if action == "insert":
            return await self._reapply(entry, "row", "its row was deleted from PostgreSQL")
        if action == "update" and row is not None and row.link.owner != workspace:
            return await self._reapply(entry, "workspace", "its namespace's workspace changed")
        if action == "update":
            return await self._reapply(entry, "row", "its row was changed in PostgreSQL")
        assert row is not None
        if cache_is_current(row.link, await self._sync.cached(entry.code)):
            return None
        async with self._inventory.lock(ref.key):
            if self._inventory.get(ref.key) is not entry:
                return None  # a handler rewrote it meanwhile
            await self._sync.announce(row.link)
        await self._kube.post_event(
            ref, "Normal", "Repaired", f"Re-announced '{entry.code}': its Redis entry had drifted"
        )
        return "cache"

    async def _reapply(self, entry: Tracked, kind: str, why: str) -> str | None:
        ref = entry.ref
        async with self._inventory.lock(ref.key):
            if self._inventory.get(ref.key) is not entry:
                return None  # a handler rewrote it meanwhile
            outcome = await self._controller.apply(ref, entry.desired)
        if isinstance(outcome, Applied):
            await self._kube.post_event(
                ref, "Normal", "Repaired", f"Rewrote '{outcome.link.code}': {why}"
            )
            return kind
        await self._kube.post_event(ref, "Warning", "CodeConflict", outcome.message)
        return None
