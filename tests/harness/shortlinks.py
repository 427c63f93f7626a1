"""ShortLinks on the test control plane, and the operator as a real process.

Plain Python (no pytest), so the operator benchmark reuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import httpx
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness import ServiceProcess, free_port
from tests.harness.kube import KubeControlPlane
from tests.support.waiting import wait_for

GROUP, VERSION, PLURAL = "shortlink.io", "v1alpha1", "shortlinks"
CRDS = Path(__file__).resolve().parents[2] / "crds"


def condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            found: dict[str, Any] = item
            return found
    return None


class Cluster:
    """One namespace's worth of ShortLinks on the test control plane."""

    def __init__(self, control_plane: KubeControlPlane, namespace: str) -> None:
        self.control_plane = control_plane
        self.namespace = namespace
        self.api = control_plane.api_client()
        self.objects = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def create(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ShortLink",
            "metadata": {"name": name},
            "spec": dict(spec),
        }
        created = self.objects.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )
        return cast(dict[str, Any], created)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            found = self.objects.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return cast(dict[str, Any], found)

    def patch_spec(self, name: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        patched = self.objects.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"spec": dict(changes)}
        )
        return cast(dict[str, Any], patched)

    def delete(self, name: str) -> None:
        self.objects.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def label_namespace(self, labels: Mapping[str, str | None]) -> None:
        """Set (or, with None, remove) labels of this namespace."""
        self.core.patch_namespace(self.namespace, {"metadata": {"labels": dict(labels)}})

    def put_secret(self, name: str, data: Mapping[str, str], *, opted_in: bool = True) -> None:
        """``opted_in``: labelled ``shortlink.io/password: "true"``, as the operator
        requires of a Secret it reads a password from."""
        labels = {"shortlink.io/password": "true"} if opted_in else {}
        body: Any = {"metadata": {"name": name, "labels": labels}, "stringData": dict(data)}
        try:
            self.core.create_namespaced_secret(self.namespace, body)
        except ApiException as error:
            if error.status != 409:
                raise
            self.core.replace_namespaced_secret(name, self.namespace, body)

    def events(self, name: str) -> list[tuple[str, str, str]]:
        """(type, reason, message) of the events on ShortLink ``name``, oldest first."""
        listed = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        )
        items = sorted(
            listed.items, key=lambda e: (e.last_timestamp or e.event_time or 0, e.metadata.name)
        )
        return [
            (str(e.type), str(e.reason), str(e.message))
            for e in items
            if e.involved_object.kind == "ShortLink"
        ]

    def wait_condition(
        self, name: str, kind: str, status: str, reason: str | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            obj = self.get(name)
            found = condition(obj, kind) if obj else None
            if found and found["status"] == status and reason in (None, found["reason"]):
                assert obj is not None
                return obj
            return None

        return wait_for(f"{name}: {kind}={status} ({reason})", probe, timeout)

    def wait_ready(self, name: str, generation: int = 1, timeout: float = 30) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            obj = self.get(name)
            if obj is None:
                return None
            ready = condition(obj, "Ready")
            if ready and ready["status"] == "True" and ready["observedGeneration"] >= generation:
                return obj
            return None

        return wait_for(f"{name} Ready at generation {generation}", probe, timeout)


def operator_process(
    control_plane: KubeControlPlane,
    log_dir: Path,
    *,
    database_url: str,
    redis_url: str,
    base_url: str,
    namespace: str | None,
    name: str,
    **env: str,
) -> ServiceProcess:
    """`shortlink operator` as a real process, watching ``namespace`` (None: all)."""
    port = free_port()
    command = ["shortlink", "operator"]
    command += ["--namespace", namespace] if namespace else ["--all-namespaces"]
    return ServiceProcess(
        command,
        env={
            "KUBECONFIG": str(control_plane.kubeconfig),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SHORTLINK_BASE_URL": base_url,
            "SHORTLINK_HOST": "127.0.0.1",
            "SHORTLINK_OPERATOR_PORT": str(port),
            "SHORTLINK_OPERATOR_IDENTITY": name,
            "SHORTLINK_OPERATOR_LEASE_NAMESPACE": namespace or "default",
            "SHORTLINK_OPERATOR_LEASE_SECONDS": "4",
            **env,
        },
        port=port,
        log_dir=log_dir,
        name=name,
        startup_timeout=60,
        stop_timeout=20,
    )


def operator_role(process: ServiceProcess) -> str | None:
    """ "leader" or "standby" from the operator's /healthz; None while it can't say."""
    try:
        return str(httpx.get(f"{process.base_url}/healthz", timeout=2).json()["role"])
    except (httpx.HTTPError, ValueError, KeyError):
        return None
