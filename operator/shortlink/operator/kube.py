"""The operator's own Kubernetes I/O (kopf does the rest): Secrets, namespaces (UID and
workspace label),
Events, the Lease, and for PostgresClusters their object, status, Services and
EndpointSlices.

The official client is synchronous; its calls are few (a Secret per protected link,
a Lease renewal every few seconds, an event per drift repair) and run in threads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from shortlink.operator.resource import (
    API_VERSION,
    CLUSTER_PLURAL,
    GROUP,
    KIND,
    VERSION,
    WORKSPACE_LABEL,
    ObjectRef,
)

log = logging.getLogger(__name__)

_TIMEOUT = 10.0
COMPONENT = "shortlink-operator"
MANAGED_BY = "app.kubernetes.io/managed-by"
# The opt-in a Secret needs before a ShortLink may use it as a password.
PASSWORD_SECRET_LABEL = "shortlink.io/password"
# ... and before a PostgresCluster may use it as its credentials.
CREDENTIALS_SECRET_LABEL = "shortlink.io/postgres-credentials"
# How long a namespace's UID and workspace label are trusted without asking again: a
# backstop only for the UID (see Kube.namespace_uid), and how late a label change may
# be seen, so short.
NAMESPACE_UID_TTL = 10.0


class KubeUnavailable(Exception):
    """A call failed; ``reason`` is the condition reason to report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class LeaseConflict(Exception):
    """Someone else wrote the Lease between our read and our write."""


class WriteConflict(Exception):
    """The object changed since we read it (resourceVersion mismatch): re-read, re-decide."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One address behind a Service and its port. ``kind`` is the EndpointSlice
    addressType: IPv4/IPv6, or FQDN for an address the API server won't take as an IP
    endpoint (loopback, as in tests, or a name that doesn't resolve)."""

    address: str
    port: int
    name: str  # the member, as the endpoint's hostname
    kind: str = "IPv4"


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    holder: str
    duration_seconds: int
    transitions: int
    acquire_time: str | None
    renew_time: str | None
    resource_version: str


def micro_time(moment: datetime) -> str:
    """metav1.MicroTime: RFC 3339 with exactly six fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Kube:
    def __init__(self, api: client.ApiClient, identity: str) -> None:
        self._api = api
        self._core = client.CoreV1Api(api)
        self._coordination = client.CoordinationV1Api(api)
        self._objects = client.CustomObjectsApi(api)
        self._discovery = client.DiscoveryV1Api(api)
        self._identity = identity
        # name -> (uid, workspace label, read at)
        self._namespaces: dict[str, tuple[str, str | None, float]] = {}

    @classmethod
    def connect(cls, identity: str) -> Kube:
        """In a pod: its service account; elsewhere: $KUBECONFIG or ~/.kube/config."""
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException:
            config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return cls(client.ApiClient(configuration), identity)

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    async def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args, _request_timeout=_TIMEOUT, **kwargs)
        except ApiException:
            raise
        except (HTTPError, OSError) as exc:
            log.warning("kubernetes call failed", extra={"what": what, "error": repr(exc)})
            raise KubeUnavailable(
                "KubernetesUnavailable", f"{what}: the Kubernetes API did not answer; retrying"
            ) from exc

    async def ping(self) -> None:
        """GET /version: cheap, and answered to any authenticated client."""
        await self._call("version", client.VersionApi(self._api).get_code)

    # -- Secrets ------------------------------------------------------------------

    async def secret_values(
        self,
        namespace: str,
        name: str,
        keys: Sequence[str],
        *,
        opt_in: str,
        optional: Collection[str] = (),
    ) -> dict[str, str]:
        """The text under each of ``keys`` in Secret ``namespace/name`` (one read), if
        the Secret carries the label ``opt_in: "true"``: whoever writes a ShortLink or
        a PostgresCluster names a Secret, and only those made for the purpose may be
        used, else the operator would hand any Secret of the namespace to them (as a
        link password an unlock would test guesses against; as credentials sent to a
        host of their choosing). A key in ``optional`` may be missing."""
        what = f"Secret {namespace}/{name}"
        try:
            response = await self._call(
                what, self._core.read_namespaced_secret, name, namespace, _preload_content=False
            )
        except ApiException as exc:
            if exc.status == 404:
                raise KubeUnavailable("SecretNotFound", f"{what} does not exist") from None
            if exc.status == 403:
                raise KubeUnavailable(
                    "SecretForbidden",
                    f"the operator may not read Secrets in namespace {namespace}: it is "
                    "granted that per namespace only (the chart's operator."
                    "passwordSecretNamespaces and operator.postgresNamespaces)",
                ) from None
            raise KubeUnavailable("KubernetesUnavailable", f"{what}: {exc.reason}") from exc
        secret = json.loads(response.data)
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if labels.get(opt_in) != "true":
            raise KubeUnavailable(
                "SecretNotAllowed",
                f'{what} is not labelled {opt_in}: "true"; only Secrets that opt in are read',
            )
        data = secret.get("data") or {}
        values = {}
        for key in keys:
            encoded = data.get(key)
            if encoded is None:
                if key in optional:
                    continue
                raise KubeUnavailable("SecretNotFound", f"{what} has no key '{key}'")
            try:
                values[key] = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise KubeUnavailable("InvalidSecret", f"{what}: '{key}' is not text") from None
        return values

    async def secret_value(self, namespace: str, name: str, key: str, *, opt_in: str) -> str:
        return (await self.secret_values(namespace, name, [key], opt_in=opt_in))[key]

    # -- Namespaces ---------------------------------------------------------------

    async def namespace_uid(self, name: str) -> str:
        """The UID of namespace ``name``, which tells a namespace from an earlier one
        of the same name (the rows a ShortLink may reclaim are bound to it).

        Cached by name, which must not outlive the namespace: a stale UID would hand
        a re-created namespace the old one's codes. A namespace can only go once each
        of its ShortLinks' finalizers ran, and the delete handler drops the entry
        (``forget_namespace``) after using it; the short TTL covers what bypasses the
        finalizer (one removed by hand). The other way round (a row bound to a newer
        UID than the cached one) would take another replica writing meanwhile, and
        only the Lease holder writes, a standby caches nothing and a leader that loses
        the Lease exits: so a mismatch is a real conflict, not worth a re-read."""
        return (await self._namespace(name))[0]

    async def namespace_workspace(self, name: str) -> str | None:
        """The workspace slug namespace ``name`` is labelled with (WORKSPACE_LABEL), if
        any; a change is seen within NAMESPACE_UID_TTL of the next read."""
        return (await self._namespace(name))[1]

    async def _namespace(self, name: str) -> tuple[str, str | None]:
        now = time.monotonic()
        cached = self._namespaces.get(name)
        if cached is not None and now - cached[2] < NAMESPACE_UID_TTL:
            return cached[0], cached[1]
        what = f"Namespace {name}"
        found = await self._raw(what, self._core.read_namespace, name)
        if found is None:
            raise KubeUnavailable("KubernetesUnavailable", f"{what} does not exist")
        metadata = found["metadata"]
        uid = str(metadata["uid"])
        workspace = (metadata.get("labels") or {}).get(WORKSPACE_LABEL) or None
        self._namespaces[name] = (uid, workspace, now)
        return uid, workspace

    def forget_namespace(self, name: str) -> None:
        self._namespaces.pop(name, None)

    # -- Events -------------------------------------------------------------------

    async def post_event(
        self, ref: ObjectRef, kind: str, reason: str, message: str, involved_kind: str = KIND
    ) -> None:
        """Best effort: an event lost is a pity, not a failure of the step it reports."""
        now = micro_time(datetime.now(UTC))
        body = {
            "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": involved_kind,
                "namespace": ref.namespace,
                "name": ref.name,
                "uid": ref.uid,
            },
            "type": kind,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._identity,
            "firstTimestamp": now[:19] + "Z",
            "lastTimestamp": now[:19] + "Z",
            "count": 1,
        }
        try:
            await self._call("event", self._core.create_namespaced_event, ref.namespace, body)
        except (ApiException, KubeUnavailable) as exc:
            log.warning("event not posted", extra={"object": ref.key, "error": str(exc)})

    # -- the Lease ----------------------------------------------------------------

    async def read_lease(self, namespace: str, name: str) -> LeaseRecord | None:
        try:
            response = await self._call(
                "Lease",
                self._coordination.read_namespaced_lease,
                name,
                namespace,
                _preload_content=False,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeUnavailable("KubernetesUnavailable", f"Lease: {exc.reason}") from exc
        lease = json.loads(response.data)
        spec = lease.get("spec") or {}
        return LeaseRecord(
            holder=spec.get("holderIdentity") or "",
            duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            transitions=int(spec.get("leaseTransitions") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            resource_version=lease["metadata"]["resourceVersion"],
        )

    async def write_lease(
        self,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        resource_version: str | None,
    ) -> None:
        """Create (``resource_version`` None) or replace the Lease, optimistically."""
        body: dict[str, Any] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
        try:
            if resource_version is None:
                await self._call(
                    "Lease", self._coordination.create_namespaced_lease, namespace, body
                )
            else:
                body["metadata"]["resourceVersion"] = resource_version
                await self._call(
                    "Lease", self._coordination.replace_namespaced_lease, name, namespace, body
                )
        except ApiException as exc:
            if exc.status in (409, 422):
                raise LeaseConflict(str(exc.reason)) from None
            raise KubeUnavailable("KubernetesUnavailable", f"Lease: {exc.reason}") from exc

    # -- PostgresClusters ---------------------------------------------------------

    async def _raw(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """A call whose JSON answer is returned as a dict; None on 404."""
        try:
            response = await self._call(what, function, *args, _preload_content=False, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 409:
                raise WriteConflict(f"{what}: {exc.reason}") from None
            raise KubeUnavailable("KubernetesUnavailable", f"{what}: {exc.reason}") from exc
        return json.loads(response.data)

    async def get_cluster(self, namespace: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._raw(
            f"PostgresCluster {namespace}/{name}",
            self._objects.get_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            CLUSTER_PLURAL,
            name,
        )
        return found

    async def patch_cluster_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> str:
        """Merge-patch the status, only if the object is still at ``resource_version``
        (another replica's write makes this raise WriteConflict); the new version."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": status}
        patched = await self._raw(
            f"PostgresCluster {namespace}/{name} status",
            self._objects.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            CLUSTER_PLURAL,
            name,
            body,
            _content_type="application/merge-patch+json",
        )
        if patched is None:
            raise WriteConflict(f"PostgresCluster {namespace}/{name} is gone")
        return str(patched["metadata"]["resourceVersion"])

    async def ensure_service(
        self, namespace: str, name: str, port: int, owner: dict[str, Any]
    ) -> None:
        """A selector-less Service (its EndpointSlice is ours to write), if missing.
        One that exists must be ours (managed-by label, same owner), else it is left
        alone: whoever writes a PostgresCluster names the Service, and adopting an
        existing one would hand them its traffic."""
        what = f"Service {namespace}/{name}"
        found = await self._raw(what, self._core.read_namespaced_service, name, namespace)
        if found:
            _check_ours(what, found, owner, "ServiceNotManaged")
            return
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {MANAGED_BY: COMPONENT},
                "ownerReferences": [owner],
            },
            "spec": {"ports": [{"name": "postgres", "port": port, "protocol": "TCP"}]},
        }
        await self._raw(what, self._core.create_namespaced_service, namespace, body)

    async def put_endpoints(
        self, namespace: str, service: str, endpoints: list[Endpoint], owner: dict[str, Any]
    ) -> bool:
        """Make the EndpointSlice of ``service`` list exactly ``endpoints`` (read, then
        replace with its resourceVersion); True if it changed."""
        what = f"EndpointSlice {namespace}/{service}"
        port = endpoints[0].port if endpoints else 5432
        kind = endpoints[0].kind if endpoints else "IPv4"
        endpoints = [e for e in endpoints if e.kind == kind]
        wanted = {
            "addressType": kind,
            "endpoints": [
                {
                    "addresses": [e.address],
                    "hostname": e.name,
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                }
                for e in endpoints
            ],
            "ports": [{"name": "postgres", "port": port, "protocol": "TCP"}],
        }
        current = await self._raw(
            what, self._discovery.read_namespaced_endpoint_slice, service, namespace
        )
        if current is not None:
            _check_ours(what, current, owner, "EndpointSliceNotManaged")
            if all(current.get(k) == v for k, v in wanted.items()):
                return False
        body: dict[str, Any] = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": service,
                "namespace": namespace,
                "labels": {
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": COMPONENT,
                    MANAGED_BY: COMPONENT,
                },
                "ownerReferences": [owner],
            },
            **wanted,
        }
        if current is None:
            await self._raw(what, self._discovery.create_namespaced_endpoint_slice, namespace, body)
        else:
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await self._raw(
                what, self._discovery.replace_namespaced_endpoint_slice, service, namespace, body
            )
        return True


def _check_ours(what: str, found: dict[str, Any], owner: dict[str, Any], reason: str) -> None:
    """Raise (``reason``) unless ``found`` carries our managed-by label and, if it has
    owners, names ``owner`` among them (two PostgresClusters naming one Service)."""
    metadata = found.get("metadata") or {}
    managed_by = (metadata.get("labels") or {}).get(MANAGED_BY)
    if managed_by != COMPONENT:
        raise KubeUnavailable(
            reason,
            f"{what} exists and is not the operator's ({MANAGED_BY}: {managed_by or 'unset'},"
            f" not {COMPONENT}); left untouched: delete it or name another Service",
        )
    owners = [o.get("uid") for o in metadata.get("ownerReferences") or []]
    if owners and owner["uid"] not in owners:
        raise KubeUnavailable(
            reason,
            f"{what} belongs to another PostgresCluster; left untouched: name another Service",
        )
