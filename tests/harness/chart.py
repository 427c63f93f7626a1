"""The Helm chart (charts/shortlink) rendered by the real helm, and applied to a real
kube-apiserver with server-side apply (dry run or for real), warnings collected."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]

from tests.harness.kube import KubeControlPlane
from tests.harness.kube.binaries import REPO_ROOT, ensure_helm
from tests.harness.processes import HarnessError

CHART = REPO_ROOT / "charts" / "shortlink"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# helm says so for each symlinked folder of the chart (files/crds, files/monitoring): expected.
_SYMLINK_NOTICE = "found symbolic link in path"
Manifest = dict[str, Any]


class HelmError(HarnessError):
    def __init__(self, command: list[str], stderr: str) -> None:
        super().__init__(f"{' '.join(command)} failed:\n{stderr}")
        self.stderr = stderr


def helm(*args: str) -> str:
    """Run helm; its stdout. Raises HelmError (with stderr) when it fails."""
    command = [str(ensure_helm()), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    stderr = "\n".join(line for line in result.stderr.splitlines() if _SYMLINK_NOTICE not in line)
    if result.returncode != 0:
        raise HelmError(command, stderr)
    return result.stdout


def render(
    *values_files: Path,
    release: str = "sl",
    namespace: str = "shortlink",
    set_values: dict[str, str] | None = None,
    kube_version: str | None = None,
) -> list[Manifest]:
    """`helm template` with these values: the manifests, in helm's order."""
    args = ["template", release, str(CHART), "--namespace", namespace]
    for path in values_files:
        args += ["--values", str(path)]
    for key, value in (set_values or {}).items():
        args += ["--set", f"{key}={value}"]
    if kube_version:
        args += ["--kube-version", kube_version]
    return [doc for doc in yaml.safe_load_all(helm(*args)) if isinstance(doc, dict)]


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = find(manifests, kind, name)
    if len(found) != 1:
        raise AssertionError(f"{len(found)} {kind} named {name!r}")
    return found[0]


def granted_rules(manifests: list[Manifest], account: str) -> set[tuple[str, str, str]]:
    """(verb, group, resource) of every rendered rule bound to the ServiceAccount `account`."""
    roles = {(m["kind"], m["metadata"]["name"]): m for m in find_roles(manifests)}
    rules = set()
    for binding in find(manifests, "RoleBinding") + find(manifests, "ClusterRoleBinding"):
        subjects = binding["subjects"]
        if not any(s["kind"] == "ServiceAccount" and s["name"] == account for s in subjects):
            continue
        role = roles[(binding["roleRef"]["kind"], binding["roleRef"]["name"])]
        rules |= expand_rules(role["rules"])
    return rules


def find_roles(manifests: list[Manifest]) -> list[Manifest]:
    return find(manifests, "Role") + find(manifests, "ClusterRole")


def expand_rules(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (verb, group, resource)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@dataclass
class Applied:
    status: int
    body: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class ServerSideApply:
    """Server-side apply of plain manifests over HTTP (the API's own discovery maps
    kinds to resources), with strict field validation, keeping the Warning headers."""

    def __init__(self, kube: KubeControlPlane, field_manager: str = "helm") -> None:
        self.kube = kube
        self.field_manager = field_manager
        self._client = httpx.Client(
            base_url=kube.server,
            headers={"Authorization": f"Bearer {kube.token}"},
            verify=kube.ssl_context(),
            timeout=30.0,
        )
        self._resources: dict[tuple[str, str], tuple[str, bool]] = {}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServerSideApply:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply(self, manifest: Manifest, namespace: str, *, dry_run: bool = True) -> Applied:
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        plural, namespaced = self._resource(api_version, kind)
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        name = manifest["metadata"]["name"]
        ns = manifest["metadata"].get("namespace", namespace)
        path = (
            f"{prefix}/namespaces/{ns}/{plural}/{name}"
            if namespaced
            else f"{prefix}/{plural}/{name}"
        )
        params = {"fieldManager": self.field_manager, "fieldValidation": "Strict", "force": "true"}
        if dry_run:
            params["dryRun"] = "All"
        response = self._client.patch(
            path,
            params=params,
            content=yaml.safe_dump(manifest),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        warnings = response.headers.get_list("warning")
        return Applied(response.status_code, response.json(), warnings)

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        key = (api_version, kind)
        if key not in self._resources:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            response = self._client.get(prefix)
            response.raise_for_status()
            for resource in response.json()["resources"]:
                if "/" not in resource["name"]:
                    self._resources[(api_version, resource["kind"])] = (
                        resource["name"],
                        resource["namespaced"],
                    )
        if key not in self._resources:
            raise HarnessError(f"the API server serves no {kind} in {api_version}")
        return self._resources[key]
