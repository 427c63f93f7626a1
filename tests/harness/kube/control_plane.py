"""A real Kubernetes API (etcd + kube-apiserver) on loopback, envtest style.

No kubelet, scheduler or controller-manager: objects are stored, validated
(OpenAPI schemas, CEL rules), watched and authorized like in a cluster, but
pods never run and nothing garbage-collects owned objects or finalizes
namespaces.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import signal
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any, cast

import httpx
import yaml  # type: ignore[import-untyped]
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.harness.kube.binaries import KubeBinaries, ensure_kube_binaries
from tests.harness.ports import free_port
from tests.harness.processes import HarnessError, Managed, hermetic_environ, launch, stop_process

STARTUP_TIMEOUT = 120.0
ESTABLISHED_TIMEOUT = 30.0
ADMIN_USER = "shortlink-admin"
NODE_NAME = "shortlink-node"
NODE_USER = f"system:node:{NODE_NAME}"
KUBERNETES_SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
CLUSTER_NAME = "shortlink-test"
# etcd reads any ETCD_* variable as a flag, and a developer's KUBECONFIG is not ours.
FOREIGN_ENV_PREFIXES = ("ETCD", "KUBE")


class KubeControlPlane(Managed):
    """etcd and kube-apiserver under `base_dir`, with an admin bearer token.

    `kubeconfig` works for `kubernetes.config.load_kube_config` and for kopf
    (via KUBECONFIG). The admin is in `system:masters`, which RBAC lets do anything.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        startup_timeout: float = STARTUP_TIMEOUT,
        binaries: KubeBinaries | None = None,
        audit: bool = False,
        node_address: str | None = None,
    ) -> None:
        self.base_dir = base_dir.absolute()
        self.startup_timeout = startup_timeout
        self.binaries = binaries
        # Every request's user, verb, resource and status in `audit_log` (JSON lines).
        self.audit = audit
        # With a node (tests/harness/cluster): serve on the node's bridge address, where
        # the kubelet and pods (through the `kubernetes` Service) reach it; accept the
        # kubelet's node identity (Node authorizer) and call kubelets with a client cert.
        self.node_address = node_address
        self.node_token = secrets.token_urlsafe(32)
        self.token = secrets.token_urlsafe(32)
        self.etcd_port = 0
        self.port = 0
        self.etcd_process: subprocess.Popen[bytes] | None = None
        self.apiserver_process: subprocess.Popen[bytes] | None = None
        self._pki = self.base_dir / "pki"

    @property
    def address(self) -> str:
        return self.node_address or "127.0.0.1"

    @property
    def server(self) -> str:
        return f"https://{self.address}:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self._pki / "ca.crt"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the apiserver's serving certificate (for httpx, aiohttp)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def kubeconfig(self) -> Path:
        return self.base_dir / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.base_dir / "audit.log"

    def audit_events(self) -> list[dict[str, Any]]:
        """The audit log so far (audit=True): one dict per request, at ResponseComplete
        (ResponseStarted for watches, which complete only when they end)."""
        events = []
        for line in self.audit_log.read_text().splitlines():
            event = json.loads(line)
            if event["stage"] in ("ResponseComplete", "ResponseStarted"):
                events.append(event)
        return events

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def etcd_log(self) -> Path:
        return self.base_dir / "etcd.log"

    @property
    def apiserver_log(self) -> Path:
        return self.base_dir / "kube-apiserver.log"

    def start(self) -> None:
        binaries = self.binaries or ensure_kube_binaries()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._write_pki()
        self._start_etcd(binaries.etcd)
        self._start_apiserver(binaries.kube_apiserver)
        self.write_kubeconfig(self.kubeconfig)

    def stop(self) -> None:
        # The apiserver first: it would otherwise spin reconnecting to etcd.
        if self.apiserver_process is not None:
            stop_process(self.apiserver_process, signal.SIGTERM, timeout=10.0)
            self.apiserver_process = None
        if self.etcd_process is not None:
            stop_process(self.etcd_process, signal.SIGTERM, timeout=10.0)
            self.etcd_process = None

    # --- clients -------------------------------------------------------------

    def client_configuration(self) -> client.Configuration:
        configuration = client.Configuration()
        # Through the kubeconfig on purpose: every client use re-proves the file.
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return configuration

    def api_client(self) -> client.ApiClient:
        """A new synchronous client as the admin; close it (or use `with`) when done."""
        return client.ApiClient(self.client_configuration())

    def create_namespace(self, name: str) -> str:
        """Create namespace `name` unless it exists; returns the name."""
        with self.api_client() as api:
            try:
                namespace = client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
                client.CoreV1Api(api).create_namespace(body=namespace)
            except ApiException as error:
                if error.status != 409:
                    raise
        return name

    def service_account_token(
        self, namespace: str, account: str, seconds: int = 3600, audiences: list[str] | None = None
    ) -> str:
        """A token of ServiceAccount ``namespace/account`` (a TokenRequest, as kubelet
        asks for a pod's; for ``audiences``, as a projected volume's, else the API
        server's own)."""
        with self.api_client() as api:
            request = client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(
                    audiences=audiences or [], expiration_seconds=seconds
                )
            )
            response = client.CoreV1Api(api).create_namespaced_service_account_token(
                account, namespace, request
            )
        token = response.status.token if response.status else None
        if not isinstance(token, str):
            raise HarnessError(f"no token for {namespace}/{account}")
        return token

    def apply_crds(
        self, directory: Path, *, pattern: str = "*.yaml", timeout: float = ESTABLISHED_TIMEOUT
    ) -> list[str]:
        """Create or replace every CustomResourceDefinition in `directory`/`pattern`.

        Other kinds of documents are skipped. Returns once each CRD is
        Established and its resources are served; returns the CRDs' names.
        """
        crds = [
            document
            for path in sorted(directory.glob(pattern))
            for document in yaml.safe_load_all(path.read_text())
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition"
        ]
        with self.api_client() as api:
            objects = client.CustomObjectsApi(api)
            for crd in crds:
                _create_or_replace_crd(objects, crd)
            for crd in crds:
                _wait_until_served(objects, crd, timeout)
        return [str(crd["metadata"]["name"]) for crd in crds]

    # --- startup -------------------------------------------------------------

    def _write_pki(self) -> None:
        """A CA, a serving cert for 127.0.0.1/localhost, a service-account key
        and the static token file (openssl: `cryptography` is not a dependency)."""
        pki = self._pki
        pki.mkdir(parents=True, exist_ok=True)
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            "-keyout", pki / "ca.key", "-out", self.ca_file, "-subj", "/CN=shortlink-test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            "-CA", self.ca_file, "-CAkey", pki / "ca.key",
            "-keyout", pki / "apiserver.key", "-out", pki / "apiserver.crt",
            "-subj", "/CN=kube-apiserver",
            "-addext", f"subjectAltName={self._subject_alt_names()}",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
            "-addext", "extendedKeyUsage=serverAuth",
        )  # fmt: skip
        _openssl(
            "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", pki / "service-account.key",
        )  # fmt: skip
        # token,user,uid,"groups"
        tokens = f'{self.token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n'
        if self.node_address is not None:
            tokens += f'{self.node_token},{NODE_USER},{NODE_USER},"system:nodes"\n'
            _openssl(
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                "-CA", self.ca_file, "-CAkey", pki / "ca.key",
                "-keyout", pki / "kubelet-client.key", "-out", pki / "kubelet-client.crt",
                "-subj", "/O=system:masters/CN=kube-apiserver-kubelet-client",
                "-addext", "extendedKeyUsage=clientAuth",
            )  # fmt: skip
        (pki / "tokens.csv").write_text(tokens)

    def _subject_alt_names(self) -> str:
        names = ["IP:127.0.0.1", "DNS:localhost"]
        if self.node_address is not None:
            # The `kubernetes` Service's first address and names, as pods call it.
            service_ip = ipaddress.ip_network(SERVICE_CLUSTER_IP_RANGE)[1]
            names += [f"IP:{self.node_address}", f"IP:{service_ip}"]
            names += [f"DNS:{name}" for name in KUBERNETES_SERVICE_NAMES]
        return ",".join(names)

    def _start_etcd(self, executable: Path) -> None:
        self.etcd_port = free_port()
        peer_url = f"http://127.0.0.1:{free_port()}"
        command = [
            str(executable),
            "--name=test",
            f"--data-dir={self.base_dir / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=test={peer_url}",
            # Throwaway data: fsync only costs time.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]
        self.etcd_process = launch(
            command,
            log_path=self.etcd_log,
            ready=self._etcd_healthy,
            what=f"etcd on port {self.etcd_port}",
            timeout=self.startup_timeout,
            on_failure=self.stop,
            env=hermetic_environ(FOREIGN_ENV_PREFIXES),
        )

    def _start_apiserver(self, executable: Path) -> None:
        self.port = free_port()
        pki = self._pki
        command = [
            str(executable),
            f"--etcd-servers={self.etcd_url}",
            f"--bind-address={self.address}",
            f"--advertise-address={self.address}",
            f"--secure-port={self.port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            f"--authorization-mode={'RBAC' if self.node_address is None else 'Node,RBAC'}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki / 'service-account.key'}",
            f"--service-account-signing-key-file={pki / 'service-account.key'}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            # Speed: no flow-control bootstrap objects, no profiling endpoints,
            # (without a node) no Endpoints reconciler writing the apiserver's own address.
            "--enable-priority-and-fairness=false",
            "--profiling=false",
        ]
        if self.node_address is None:
            command += ["--endpoint-reconciler-type=none"]
        else:
            command += [
                f"--kubelet-client-certificate={pki / 'kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP",
            ]
        if self.audit:
            policy = self.base_dir / "audit-policy.json"
            rule = {"level": "Metadata", "omitStages": ["RequestReceived"]}
            policy.write_text(
                json.dumps({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [rule]})
            )
            command += [
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
            ]
        self.apiserver_process = launch(
            command,
            log_path=self.apiserver_log,
            ready=self._apiserver_ready,
            what=f"kube-apiserver on port {self.port}",
            timeout=self.startup_timeout,
            on_failure=self.stop,
            env=hermetic_environ(FOREIGN_ENV_PREFIXES),
        )

    def _etcd_healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.etcd_url}/health", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("health") == "true"

    def _apiserver_ready(self) -> bool:
        try:
            response = httpx.get(
                f"{self.server}/readyz",
                headers={"Authorization": f"Bearer {self.token}"},
                verify=self.ssl_context(),
                timeout=1.0,
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.text == "ok"

    def write_kubeconfig(self, path: Path, *, user: str = ADMIN_USER, token: str = "") -> None:
        """A kubeconfig for `user` (the admin unless told) with its bearer token."""
        # JSON is YAML: every kubeconfig reader (client-go, kubernetes, kopf) takes it.
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": CLUSTER_NAME,
                    "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)},
                }
            ],
            "users": [{"name": user, "user": {"token": token or self.token}}],
            "contexts": [
                {
                    "name": CLUSTER_NAME,
                    "context": {
                        "cluster": CLUSTER_NAME,
                        "user": user,
                        "namespace": "default",
                    },
                }
            ],
            "current-context": CLUSTER_NAME,
        }
        path.write_text(json.dumps(document, indent=2) + "\n")


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise HarnessError(f"openssl {args[0]} failed: {result.stderr.strip()}")


# CRDs go through the generic custom-object calls: they take and return plain
# dicts, so a CRD reaches the server exactly as written, with no round trip
# through the client's typed models (which drop fields they don't know).
CRD_API = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")


def _create_or_replace_crd(objects: client.CustomObjectsApi, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    try:
        objects.create_cluster_custom_object(*CRD_API, body=crd)
        return
    except ApiException as error:
        if error.status != 409:
            raise
    current = _as_dict(objects.get_cluster_custom_object(*CRD_API, name))
    version = current["metadata"]["resourceVersion"]
    replacement = {**crd, "metadata": {**crd["metadata"], "resourceVersion": version}}
    objects.replace_cluster_custom_object(*CRD_API, name, body=replacement)


def _wait_until_served(
    objects: client.CustomObjectsApi, crd: dict[str, Any], timeout: float
) -> None:
    """Established, and listable: discovery can trail the condition briefly."""
    name = crd["metadata"]["name"]
    spec = crd["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("storage", False))
    deadline = time.monotonic() + timeout
    while True:
        stored = _as_dict(objects.get_cluster_custom_object(*CRD_API, name))
        conditions = (stored.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            try:
                objects.list_cluster_custom_object(spec["group"], version, spec["names"]["plural"])
                return
            except ApiException as error:
                if error.status != 404:
                    raise
        if time.monotonic() > deadline:
            raise HarnessError(f"CRD {name} not served after {timeout:.0f}s: {conditions}")
        time.sleep(0.1)


def _as_dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HarnessError(f"expected a JSON object from the API, got {value!r}")
    return cast(dict[str, Any], value)
