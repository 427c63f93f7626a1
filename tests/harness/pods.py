"""What a kubelet would hand a container of a rendered Deployment: its args, its
environment (envFrom, then env, with secretKeyRef/configMapKeyRef/fieldRef resolved
from the rendered objects and $(VAR) expanded), its named ports, the files of its
projected Secret volumes and the service-account mount. Wrong names in a chart (a
ConfigMap, a Secret key, a variable) fail here as they would in a cluster: an
unresolved reference raises, an unknown variable is simply not read by the process."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from tests.harness.chart import Manifest
from tests.harness.processes import HarnessError

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    args: list[str]
    env: dict[str, str]
    ports: dict[str, int]
    probes: dict[str, dict[str, Any]]
    service_account: str | None  # the token kubelet would mount, if any
    # Files of projected Secret volumes: mount path → file name → content.
    files: dict[str, dict[str, str]] = field(default_factory=dict)


class RenderedPods:
    """Containers of the Deployments among `manifests`, as pod `<deployment>-0` in `namespace`."""

    def __init__(self, manifests: list[Manifest], namespace: str) -> None:
        self.namespace = namespace
        self._objects = {(m["kind"], m["metadata"]["name"]): m for m in manifests}

    def container(self, deployment: str, name: str, *, init: bool = False) -> ContainerSpec:
        pod = self._get("Deployment", deployment)["spec"]["template"]["spec"]
        containers = pod.get("initContainers" if init else "containers", [])
        container = next((c for c in containers if c["name"] == name), None)
        if container is None:
            raise HarnessError(f"{deployment} has no {'init ' if init else ''}container {name}")
        pod_name = f"{deployment}-0"
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env |= self._env_from(source)
        for entry in container.get("env", []):
            env[entry["name"]] = self._value(entry, env, pod_name)
        ports = {p["name"]: int(p["containerPort"]) for p in container.get("ports", [])}
        probes = {
            kind: container[kind]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
            if kind in container
        }
        automount = pod.get("automountServiceAccountToken", True)
        account = pod.get("serviceAccountName", "default") if automount else None
        files = self._secret_files(pod, container)
        args = list(container.get("args", []))
        return ContainerSpec(name, args, env, ports, probes, account, files)

    def _secret_files(
        self, pod: dict[str, Any], container: dict[str, Any]
    ) -> dict[str, dict[str, str]]:
        """Projected volumes of Secret keys, as kubelet writes them under each mount."""
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        files: dict[str, dict[str, str]] = {}
        for mount in container.get("volumeMounts", []):
            projected = volumes[mount["name"]].get("projected")
            if projected is None:
                continue
            content: dict[str, str] = {}
            for source in projected["sources"]:
                data = self._data("Secret", source["secret"]["name"])
                for item in source["secret"]["items"]:
                    if item["key"] not in data:
                        raise HarnessError(
                            f"Secret {source['secret']['name']} has no key {item['key']}"
                        )
                    content[item["path"]] = data[item["key"]]
            if "subPath" in mount:  # one file of the volume, at mountPath itself
                directory, _, name = mount["mountPath"].rpartition("/")
                files.setdefault(directory, {})[name] = content[mount["subPath"]]
                continue
            files[mount["mountPath"]] = content
        return files

    def _get(self, kind: str, name: str) -> Manifest:
        try:
            return self._objects[(kind, name)]
        except KeyError:
            raise HarnessError(f"the chart renders no {kind} {name!r}") from None

    def _data(self, kind: str, name: str) -> dict[str, str]:
        manifest = self._get(kind, name)
        if kind == "Secret":
            encoded = manifest.get("data", {})
            return {k: base64.b64decode(v).decode() for k, v in encoded.items()}
        return dict(manifest.get("data", {}))

    def _env_from(self, source: dict[str, Any]) -> dict[str, str]:
        if "configMapRef" in source:
            return self._data("ConfigMap", source["configMapRef"]["name"])
        return self._data("Secret", source["secretRef"]["name"])

    def _value(self, entry: dict[str, Any], env: dict[str, str], pod_name: str) -> str:
        if "value" in entry:
            # Kubernetes expands $(VAR) from variables defined before this one.
            return _REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        source = entry["valueFrom"]
        if "fieldRef" in source:
            fields = {"metadata.name": pod_name, "metadata.namespace": self.namespace}
            return fields[source["fieldRef"]["fieldPath"]]
        for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            if key in source:
                data = self._data(kind, source[key]["name"])
                if source[key]["key"] not in data:
                    raise HarnessError(
                        f"{kind} {source[key]['name']} has no key {source[key]['key']}"
                    )
                return data[source[key]["key"]]
        raise HarnessError(f"unsupported env source {source}")
