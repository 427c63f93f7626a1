"""The operator's own Kubernetes I/O (kopf does the rest): Secrets, Events, the Lease.

The official client is synchronous; its calls are few (a Secret per protected link,
a Lease renewal every few seconds, an event per drift repair) and run in threads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from shortlink.operator.resource import API_VERSION, KIND, ObjectRef

log = logging.getLogger(__name__)

_TIMEOUT = 10.0
COMPONENT = "shortlink-operator"


class KubeUnavailable(Exception):
    """A call failed; ``reason`` is the condition reason to report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class LeaseConflict(Exception):
    """Someone else wrote the Lease between our read and our write."""


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
        self._identity = identity

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
            raise KubeUnavailable("KubernetesUnavailable", f"{what}: {exc!r}") from exc

    async def ping(self) -> None:
        """GET /version: cheap, and answered to any authenticated client."""
        await self._call("version", client.VersionApi(self._api).get_code)

    # -- Secrets ------------------------------------------------------------------

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        """The text under ``key`` in Secret ``namespace/name``."""
        what = f"Secret {namespace}/{name}"
        try:
            response = await self._call(
                what, self._core.read_namespaced_secret, name, namespace, _preload_content=False
            )
        except ApiException as exc:
            if exc.status == 404:
                raise KubeUnavailable("SecretNotFound", f"{what} does not exist") from None
            raise KubeUnavailable("KubernetesUnavailable", f"{what}: {exc.reason}") from exc
        secret = json.loads(response.data)
        encoded = (secret.get("data") or {}).get(key)
        if encoded is None:
            raise KubeUnavailable("SecretNotFound", f"{what} has no key '{key}'")
        try:
            return base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise KubeUnavailable("InvalidSecret", f"{what}: '{key}' is not UTF-8 text") from None

    # -- Events -------------------------------------------------------------------

    async def post_event(self, ref: ObjectRef, kind: str, reason: str, message: str) -> None:
        """Best effort: an event lost is a pity, not a failure of the repair it reports."""
        now = micro_time(datetime.now(UTC))
        body = {
            "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
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
