"""``shortlink operator``: kopf with the right settings, the Lease, the drift check,
and the probes server, in one process.

Standby replicas wait for the Lease with only their probes running. The leader runs
kopf (which resumes every ShortLink at start: a restart resyncs everything) and the
drift check; if it loses the Lease it stops reconciling and exits with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any

import kopf
import uvloop

from shortlink.config import Settings
from shortlink.http.ops_metrics import announce_build
from shortlink.http.probes import probes_app, start_probes
from shortlink.http.readiness import Readiness
from shortlink.operator import metrics
from shortlink.operator.handlers import register
from shortlink.operator.kube import COMPONENT, Kube
from shortlink.operator.leadership import Leadership, LeadershipLost
from shortlink.operator.links.controller import Controller
from shortlink.operator.links.drift import DriftCheck
from shortlink.operator.links.inventory import Inventory
from shortlink.operator.links.sync import LinkSync
from shortlink.operator.postgres.loop import ClusterLoop
from shortlink.operator.resource import FINALIZER
from shortlink.operator.settings import OperatorSettings
from shortlink.wiring import open_backends

log = logging.getLogger(__name__)


def kopf_settings(config: OperatorSettings) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # kopf's progress and last-handled spec go to status.kopf (the CRD preserves unknown
    # fields there only): written with the outcome, in one request per reconcile.
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.StatusProgressStorage(name="kopf")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(name="kopf")
    settings.posting.reporting_component = COMPONENT
    settings.posting.reporting_instance = config.identity
    settings.posting.event_name_prefix = "shortlink-"
    # kopf's client opens a connection per concurrent request (no pool limit), each with
    # its own TLS buffers: bounding event posts keeps a burst from costing ~0.5 MB each.
    settings.posting.worker_limit = 10
    settings.queueing.worker_limit = config.workers
    # A per-resource worker lingers this long for more events before it frees its slot
    # (kopf's default is 5 s, which caps a burst at workers / 5 s resources per second).
    settings.queueing.idle_timeout = 0.5
    # One active replica comes from our Lease; kopf's peering would need its own CRDs.
    settings.peering.standalone = True
    # A silent watch is reopened rather than trusted forever.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    return settings


def run(settings: Settings, config: OperatorSettings) -> None:
    # kopf logs every handler run at INFO; ours say what matters once per outcome.
    logging.getLogger("kopf").setLevel(max(logging.WARNING, logging.getLogger().level))
    # uvloop (a Sanic dependency already): the operator is I/O-bound, and the CPU it
    # saves is left to the API server it shares a node with.
    raise SystemExit(uvloop.run(serve(settings, config)))


async def serve(settings: Settings, config: OperatorSettings) -> int:
    backends = await open_backends(settings)
    kube = Kube.connect(config.identity)
    controller = Controller(
        LinkSync(backends.links, backends.cache, backends.workspaces),
        kube,
        Inventory(),
        settings.url_policy,
        settings.base_url,
        config.retry_max,
    )
    leadership = (
        Leadership(
            kube, config.lease_namespace, config.lease_name, config.identity, config.lease_seconds
        )
        if config.leader_election
        else None
    )

    def role() -> str:
        return "leader" if leadership is None or leadership.leading else "standby"

    announce_build("operator")
    # Its job needs all three: rows in PostgreSQL, entries in Redis, resources in Kubernetes.
    readiness = Readiness(
        {"postgres": backends.ping_postgres, "redis": backends.ping_redis, "kubernetes": kube.ping}
    )
    readiness.start()
    probes = None
    if config.port:
        probes = await start_probes(
            probes_app(readiness, lambda: {"role": role()}), settings.host, config.port
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # kopf installs its own once it runs
    log.info(
        "operator starting",
        extra={
            "identity": config.identity,
            "namespaces": list(config.namespaces) or "all",
            "postgres_namespaces": list(config.postgres_allowed),
            "leader_election": config.leader_election,
            "drift_interval": config.drift_interval,
        },
    )
    try:
        if leadership is not None and not await _until(leadership.acquire(), stop):
            return 0
        metrics.LEADER.set(1)
        clusters = ClusterLoop(kube, config.postgres_allowed) if config.postgres_failover else None
        return await _lead(controller, clusters, config, leadership, stop)
    finally:
        if leadership is not None:
            await leadership.release()
        if probes is not None:
            await probes.cleanup()
        await readiness.stop()
        await backends.close()
        kube.close()
        log.info("operator stopped")


async def _until(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run ``work`` unless ``stop`` is set first; True if it finished."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stopped):
        if pending not in done:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
    return task in done


async def _lead(
    controller: Controller,
    clusters: ClusterLoop | None,
    config: OperatorSettings,
    leadership: Leadership | None,
    stop: asyncio.Event,
) -> int:
    registry = kopf.OperatorRegistry()
    register(registry, controller, clusters)
    operator = asyncio.create_task(
        kopf.operator(
            registry=registry,
            settings=kopf_settings(config),
            clusterwide=config.all_namespaces,
            namespaces=list(config.namespaces),
            stop_flag=stop,
            standalone=True,
        )
    )
    helpers = []
    if config.drift_interval > 0:
        helpers.append(asyncio.create_task(DriftCheck(controller, config.drift_interval).run()))
    keeper = asyncio.create_task(leadership.keep()) if leadership is not None else None
    exit_code = 0
    try:
        waiting = {operator} | ({keeper} if keeper is not None else set())
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if keeper is not None and keeper in done:
            error = keeper.exception()
            log.error("leadership lost; stopping", extra={"error": str(error)})
            exit_code = 1 if isinstance(error, LeadershipLost) else 2
            stop.set()
            await operator
        else:
            await operator  # kopf returned: a signal, or it gave up
    finally:
        for task in [*helpers, *([keeper] if keeper is not None else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeadershipLost):
                await task
    return exit_code
