"""Redis as a pod in a release's namespace (scripts/build-redis-image's image), for the
tests where Redis must be something a NetworkPolicy can fence: a Deployment of one
replica under Pod Security "restricted" (uid 10001, read-only root, no capabilities,
RuntimeDefault seccomp; it writes nothing: image/redis/redis.conf) and a Service.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness.cluster import images
from tests.harness.cluster.node import Cluster
from tests.harness.cluster.workloads import pod_exec, wait_for, wait_ready

NAME = "redis"
PORT = 6379
LABELS = {"app": NAME}


@dataclass(frozen=True)
class RedisPod:
    namespace: str
    service_ip: str

    @property
    def url(self) -> str:
        """What the release's redis.url says: the Service, by its address (no DNS)."""
        return f"redis://{self.service_ip}:{PORT}/0"


@contextlib.contextmanager
def redis_pod(cluster: Cluster, namespace: str) -> Iterator[RedisPod]:
    """The Deployment and Service in `namespace` (which must exist), Ready; removed after."""
    image = images.build_and_import(cluster.ctr, images.redis_layout, images.REDIS_NAME)
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        client.AppsV1Api(api).create_namespaced_deployment(namespace, _deployment(image))
        service = core.create_namespaced_service(namespace, _service())
    try:
        with cluster.api_client() as api:
            wait_ready(api, namespace, "app=redis", timeout=120)
        yield RedisPod(namespace, service.spec.cluster_ip)
    finally:
        with cluster.api_client() as api:
            core = client.CoreV1Api(api)
            for delete in (
                client.AppsV1Api(api).delete_namespaced_deployment,
                core.delete_namespaced_service,
            ):
                with contextlib.suppress(ApiException):
                    delete(NAME, namespace)

            def gone() -> bool:
                return not core.list_namespaced_pod(namespace, label_selector="app=redis").items

            wait_for(gone, timeout=120, what=f"the Redis pod of {namespace} to go")


def redis_cli(cluster: Cluster, namespace: str, *command: str) -> str:
    """`redis-cli COMMAND` inside the Redis pod (no network policy between: an exec)."""
    with cluster.api_client() as api:
        [pod] = (
            client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="app=redis").items
        )
        return pod_exec(api, namespace, pod.metadata.name, ["redis-cli", *command]).strip()


def _deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "labels": LABELS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": NAME,
                            "image": image,
                            "imagePullPolicy": "Never",
                            "ports": [{"name": "redis", "containerPort": PORT}],
                            "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 2},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }


def _service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "labels": LABELS},
        "spec": {
            "selector": LABELS,
            "ports": [{"name": "redis", "port": PORT, "targetPort": PORT}],
        },
    }
