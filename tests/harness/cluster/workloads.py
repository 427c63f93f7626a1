"""Small, bounded helpers for tests that run pods on the cluster: every wait has a
deadline and says what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import httpx
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from tests.harness.processes import HarnessError

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy; HarnessError after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except ApiException as error:
            last_error = error
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what} ({last_error})")
        time.sleep(0.3)


def create_namespace(api: client.ApiClient, name: str, labels: dict[str, str] | None = None) -> str:
    """Create `name` and wait for its `default` ServiceAccount (pods need it)."""
    core = client.CoreV1Api(api)
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    try:
        core.create_namespace(body)
    except ApiException as error:
        if error.status != 409:
            raise
    wait_for(
        lambda: core.read_namespaced_service_account("default", name),
        timeout=60,
        what=f"the default ServiceAccount of {name}",
    )
    return name


def ready_pods(api: client.ApiClient, namespace: str, selector: str = "") -> list[Any]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    return [pod for pod in pods if _ready(pod)]


def wait_ready(
    api: client.ApiClient, namespace: str, selector: str = "", *, count: int = 1, timeout: float
) -> list[Any]:
    """Wait until `count` pods matching `selector` are Ready; on timeout, say why not."""
    deadline = time.monotonic() + timeout
    while True:
        pods = ready_pods(api, namespace, selector)
        if len(pods) >= count:
            return pods
        if time.monotonic() > deadline:
            raise HarnessError(
                f"{len(pods)}/{count} pods Ready in {namespace} ({selector}) after "
                f"{timeout:.0f}s:\n{describe_pods(api, namespace)}"
            )
        time.sleep(0.5)


def describe_pods(api: client.ApiClient, namespace: str) -> str:
    """Phase, conditions, container states and recent events, for failure messages."""
    core = client.CoreV1Api(api)
    lines = []
    for pod in core.list_namespaced_pod(namespace).items:
        lines.append(f"pod {pod.metadata.name}: {pod.status.phase}")
        for status in (pod.status.init_container_statuses or []) + (
            pod.status.container_statuses or []
        ):
            lines.append(f"  {status.name}: ready={status.ready} state={status.state.to_dict()}")
    for event in core.list_namespaced_event(namespace).items[-20:]:
        lines.append(f"event {event.involved_object.name}: {event.reason}: {event.message}")
    return "\n".join(lines)


def pod_exec(
    api: client.ApiClient, namespace: str, pod: str, command: list[str], container: str = ""
) -> str:
    """Run `command` inside a running container (through the apiserver and the kubelet,
    as `kubectl exec`); returns its stdout and stderr."""
    arguments: dict[str, Any] = {
        "command": command,
        "stderr": True,
        "stdin": False,
        "stdout": True,
        "tty": False,
        "_request_timeout": 60,
    }
    if container:
        arguments["container"] = container
    output: str = stream(
        client.CoreV1Api(api).connect_get_namespaced_pod_exec, pod, namespace, **arguments
    )
    return output


def _ready(pod: Any) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_until_answering(urls: Iterable[str], *, timeout: float = 60) -> None:
    """Until each Service URL answers over HTTP: on a cluster just up, kube-proxy may
    not have a Service's rules yet when `helm install --wait` returns (seen:
    connection refused)."""

    def answers(url: str) -> bool:
        try:
            httpx.get(f"{url}/", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    for url in urls:
        wait_for(partial(answers, url), timeout=timeout, what=f"{url} to answer")
