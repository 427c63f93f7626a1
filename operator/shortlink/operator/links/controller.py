"""One ShortLink, reconciled: validate, read its Secret, write its link, say how it went.

Framework-free: it returns a Result (status, event, retry or permanent failure)
that handlers.py turns into kopf's terms, and the drift check calls the same path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shortlink.domain.errors import InvalidPassword
from shortlink.domain.links import short_url
from shortlink.domain.passwords import validate_password
from shortlink.domain.urls import UrlPolicy
from shortlink.operator import metrics
from shortlink.operator.conditions import Condition, find_condition, render_conditions
from shortlink.operator.kube import PASSWORD_SECRET_LABEL, Kube, KubeUnavailable
from shortlink.operator.links.inventory import Inventory, Tracked
from shortlink.operator.links.reconcile import (
    READY,
    Desired,
    InvalidSpec,
    blocked,
    desired_link,
    inactive,
    ready,
    retry_delay,
    retrying,
)
from shortlink.operator.links.sync import Applied, BackendUnavailable, Conflict, LinkSync, Password
from shortlink.operator.resource import ObjectRef
from shortlink.services.clock import Clock, utc_now

log = logging.getLogger(__name__)

# A missing Secret (or workspace) is usually created a moment later, or only after a
# human acts.
_SECRET_RETRY_BASE = 5.0
_SECRET_REASONS = frozenset(
    {"SecretNotFound", "SecretNotAllowed", "SecretForbidden", "InvalidSecret", "WorkspaceNotFound"}
)


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Result:
    event: Event
    status: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None  # transient failure: try again after this long
    permanent: str | None = None  # failure only a spec change can fix


class Controller:
    def __init__(
        self,
        sync: LinkSync,
        kube: Kube,
        inventory: Inventory,
        policy: UrlPolicy,
        base_url: str,
        retry_max: float = 60.0,
        clock: Clock = utc_now,
    ) -> None:
        self.sync = sync
        self.kube = kube
        self.inventory = inventory
        self._policy = policy
        self._base_url = base_url
        self._retry_max = retry_max
        self._clock = clock

    async def reconcile(
        self,
        ref: ObjectRef,
        spec: Mapping[str, Any],
        status: Mapping[str, Any],
        generation: int,
        retry: int,
    ) -> Result:
        result = await self._reconcile(ref, spec, status, generation, retry)
        ready = find_condition(result.status.get("conditions") or [], READY)
        self.inventory.note_ready(ref.key, ready is not None and ready.get("status") == "True")
        metrics.LINKS_NOT_READY.set(self.inventory.not_ready)
        return result

    async def _reconcile(
        self,
        ref: ObjectRef,
        spec: Mapping[str, Any],
        status: Mapping[str, Any],
        generation: int,
        retry: int,
    ) -> Result:
        started = time.perf_counter()
        previous: Sequence[Mapping[str, Any]] = status.get("conditions") or []

        def conditions(new: list[Condition]) -> dict[str, Any]:
            rendered = render_conditions(new, previous, generation, self._clock())
            return {"conditions": rendered, "observedGeneration": generation}

        try:
            desired = desired_link(spec, self._policy)
            remembered = status.get("code")
            async with self.inventory.lock(ref.key):
                applied = await self.apply(
                    ref, desired, remembered if isinstance(remembered, str) else None
                )
        except InvalidSpec as exc:
            return self._failed(
                "invalid", "InvalidSpec", str(exc), conditions(blocked("InvalidSpec", str(exc)))
            )
        except (BackendUnavailable, KubeUnavailable) as exc:
            base = _SECRET_RETRY_BASE if exc.reason in _SECRET_REASONS else 1
            delay = retry_delay(retry, base, self._retry_max)
            message = f"{exc.message}; retrying in {delay:g}s"
            metrics.RECONCILES.labels("retry").inc()
            metrics.ERRORS.labels(exc.reason).inc()
            return Result(
                Event("Warning", exc.reason, message),
                conditions(retrying(exc.reason, message, previous, generation)),
                retry_after=delay,
            )
        finally:
            metrics.DURATION.observe(time.perf_counter() - started)
        if not isinstance(applied, Applied):
            return self._failed(
                "conflict",
                "CodeConflict",
                applied.message,
                conditions(blocked("CodeConflict", applied.message)),
            )
        url = short_url(self._base_url, applied.link.code)
        new = (
            ready(url, desired.expires_at, applied.change)
            if desired.active
            else inactive(url, applied.change)
        )
        metrics.RECONCILES.labels(applied.change).inc()
        return Result(
            Event("Normal", applied.change.capitalize(), f"Link {applied.change}: {url}"),
            {"code": applied.link.code, "shortUrl": url, **conditions(new)},
        )

    def _failed(self, outcome: str, reason: str, message: str, status: dict[str, Any]) -> Result:
        metrics.RECONCILES.labels(outcome).inc()
        metrics.ERRORS.labels(reason).inc()
        return Result(Event("Warning", reason, message), status, permanent=message)

    async def apply(
        self, ref: ObjectRef, desired: Desired, remembered_code: str | None = None
    ) -> Applied | Conflict:
        """Read the password (if any) and write the link; track what was written.
        Callers hold the resource's inventory lock."""
        before = self.inventory.get(ref.key)
        remembered_code = before.code if before else remembered_code
        namespace_uid = await self.kube.namespace_uid(ref.namespace)
        workspace = await self.kube.namespace_workspace(ref.namespace)
        password = None
        if desired.password_ref is not None:
            plain = await self.kube.secret_value(
                ref.namespace,
                desired.password_ref.name,
                desired.password_ref.key,
                opt_in=PASSWORD_SECRET_LABEL,
            )
            try:
                validate_password(plain)
            except InvalidPassword:
                # Not why: the reason would tell anyone who can read the status
                # something about the Secret's value (its length, its encoding).
                raise KubeUnavailable(
                    "InvalidSecret",
                    f"Secret {ref.namespace}/{desired.password_ref.name}: "
                    f"'{desired.password_ref.key}' is not a valid password",
                ) from None
            password = Password(
                plain,
                before.password_digest if before else None,
                before.password_hash if before else None,
            )
        outcome = await self.sync.apply(
            ref, namespace_uid, desired, password, remembered_code, workspace
        )
        if isinstance(outcome, Applied):
            self.inventory.track(
                Tracked(
                    ref,
                    desired,
                    outcome.link.code,
                    outcome.link.password_hash,
                    outcome.password_digest,
                    namespace_uid,
                )
            )
        else:
            self.inventory.forget(ref.key)
        metrics.LINKS_MANAGED.set(len(self.inventory))
        return outcome

    async def delete(self, ref: ObjectRef, retry: int) -> Result:
        async with self.inventory.lock(ref.key):
            try:
                codes = await self.sync.remove(ref, await self.kube.namespace_uid(ref.namespace))
            except (BackendUnavailable, KubeUnavailable) as exc:
                delay = retry_delay(retry, 1, self._retry_max)
                metrics.ERRORS.labels(exc.reason).inc()
                return Result(
                    Event("Warning", exc.reason, f"{exc.message}; retrying in {delay:g}s"),
                    retry_after=delay,
                )
            finally:
                # A namespace goes only after each of its ShortLinks passed through
                # here, so its cached UID can't outlive it (kube.namespace_uid).
                self.kube.forget_namespace(ref.namespace)
            self.inventory.forget(ref.key)
            self.inventory.forget_readiness(ref.key)
        metrics.LINKS_MANAGED.set(len(self.inventory))
        metrics.LINKS_NOT_READY.set(self.inventory.not_ready)
        metrics.RECONCILES.labels("deleted").inc()
        what = ", ".join(codes) if codes else "no link (none was owned)"
        return Result(Event("Normal", "Deleted", f"Deleted {what}"))
