"""kopf registrations, and nothing else: each handler hands the resource to the
Controller and turns its Result into a status patch, an event and kopf's retry
semantics (TemporaryError: back off and retry; PermanentError: stop until the spec
changes, no hot loop)."""

from __future__ import annotations

from typing import Any

import kopf

from shortlink.operator.conditions import status_changes
from shortlink.operator.links.controller import Controller, Result
from shortlink.operator.postgres.loop import ClusterLoop
from shortlink.operator.resource import CLUSTER_PLURAL, GROUP, PLURAL, VERSION, ObjectRef


def register(
    registry: kopf.OperatorRegistry,
    controller: Controller,
    clusters: ClusterLoop | None = None,
) -> None:
    # The same credentials as kube.py: the pod's service account, else $KUBECONFIG.
    @kopf.on.login(registry=registry, id="login")
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    # Resume covers every existing resource at start: a restart resyncs everything.
    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")
    @kopf.on.update(GROUP, VERSION, PLURAL, registry=registry, id="reconcile", field="spec")
    async def reconcile(
        body: kopf.Body,
        spec: kopf.Spec,
        status: kopf.Status,
        meta: kopf.Meta,
        patch: kopf.Patch,
        retry: int,
        **_: Any,
    ) -> None:
        ref = ObjectRef(str(meta.namespace), str(meta.name), str(meta.uid))
        generation = int(meta.get("generation", 0))
        result = await controller.reconcile(ref, spec, status, generation, retry)
        changes = status_changes(status, result.status)
        if changes:
            patch.status.update(changes)
        _report(body, result)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="delete")
    async def delete(body: kopf.Body, meta: kopf.Meta, retry: int, **_: Any) -> None:
        ref = ObjectRef(str(meta.namespace), str(meta.name), str(meta.uid))
        _report(body, await controller.delete(ref, retry))

    if clusters is not None:
        _register_clusters(registry, clusters)


def _register_clusters(registry: kopf.OperatorRegistry, clusters: ClusterLoop) -> None:
    # One HA loop per PostgresCluster, for as long as it exists (and this replica leads).
    @kopf.daemon(
        GROUP, VERSION, CLUSTER_PLURAL, registry=registry, id="ha", cancellation_timeout=10
    )
    async def ha_loop(stopped: kopf.DaemonStopped, meta: kopf.Meta, **_: Any) -> None:
        async def wait(seconds: float) -> bool:
            await stopped.wait(seconds)
            return bool(stopped)

        ref = ObjectRef(str(meta.namespace), str(meta.name), str(meta.uid))
        await clusters.run(ref, wait)


def _report(body: kopf.Body, result: Result) -> None:
    event = result.event
    kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    if result.retry_after is not None:
        raise kopf.TemporaryError(event.message, delay=result.retry_after)
    if result.permanent is not None:
        raise kopf.PermanentError(result.permanent)
