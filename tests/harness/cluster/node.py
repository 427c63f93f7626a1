"""A one-node Kubernetes cluster on this machine: the harness's etcd + kube-apiserver,
kube-controller-manager, kube-scheduler, a kubelet on Debian's containerd + runc, the CNI
bridge, kube-proxy (iptables) and CoreDNS, all built here (see README.md beside kube/).

One cluster per machine (fixed bridge, cgroup root and kube-proxy's host chains): `up`
takes the machine's slot, recorded in STATE; `down` (same process or another, e.g.
`python -m tests.harness.cluster down`) reads STATE and removes everything `up` made.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client

from tests.harness.cluster import cgroups, images, network
from tests.harness.image import ensure_image
from tests.harness.kube.binaries import (
    CACHE_DIR,
    NodeBinaries,
    ensure_network_policy_agent,
    ensure_node_binaries,
)
from tests.harness.kube.control_plane import NODE_NAME, NODE_USER, KubeControlPlane
from tests.harness.ports import free_port
from tests.harness.processes import HarnessError, Managed, hermetic_environ, log_tail

BASE = Path("/tmp/shortlink-cluster")
STATE = BASE / "state.json"
MACHINE_LOCK = Path("/tmp/shortlink-cluster.lock")
# containerd's root (images, snapshots) outlives a cluster: a warm start imports nothing.
CONTAINERD_ROOT = CACHE_DIR / "cluster" / "containerd"
# Where containerd 1.6's shims put their sockets whatever the config says.
SHIM_SOCKETS = Path("/run/containerd/s")
CLUSTER_DOMAIN = "cluster.local"
STARTUP_TIMEOUT = 180.0
STOP_TIMEOUT = 10.0
FOREIGN_ENV_PREFIXES = ("ETCD", "KUBE", "CONTAINERD")


@dataclass
class ClusterState:
    """What `down` needs, written by `up` (JSON in STATE)."""

    # The process that will take it down (a test session), 0 if brought up by hand.
    owner: int = 0
    pids: dict[str, int] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)
    shim_sockets_before: list[str] | None = None  # None: /run/containerd did not exist
    kubeconfig: str = ""
    apiserver: str = ""


class Cluster(Managed):
    """`with Cluster() as cluster:` a node that runs pods; `cluster.kube` is its API."""

    def __init__(self, *, startup_timeout: float = STARTUP_TIMEOUT, by_hand: bool = False) -> None:
        self.startup_timeout = startup_timeout
        self.by_hand = by_hand
        self.kube = KubeControlPlane(BASE / "control-plane", node_address=network.BRIDGE_IP)
        self.state = ClusterState()
        self.images: list[str] = []

    # --- paths ---------------------------------------------------------------

    @property
    def containerd_socket(self) -> Path:
        return BASE / "containerd" / "containerd.sock"

    @property
    def ctr(self) -> list[str]:
        """`ctr` against this cluster's containerd, in the CRI's namespace."""
        return ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io"]

    @property
    def logs(self) -> Path:
        return BASE / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.kube.kubeconfig

    def api_client(self) -> client.ApiClient:
        return self.kube.api_client()

    @contextlib.contextmanager
    def cordoned(self) -> Iterator[None]:
        """The node unschedulable (`kubectl cordon`) while the block runs: running pods
        stay, a pod created meanwhile waits Pending until the block ends."""
        self._schedulable(False)
        try:
            yield
        finally:
            self._schedulable(True)

    def _schedulable(self, schedulable: bool) -> None:
        with self.api_client() as api:
            body = {"spec": {"unschedulable": not schedulable}}
            client.CoreV1Api(api).patch_node(NODE_NAME, body)

    # --- up ------------------------------------------------------------------

    def start(self) -> None:
        binaries = ensure_node_binaries()
        ensure_image()
        with _machine_lock():
            _wait_for_slot(self.startup_timeout * 5)
            for leftover in (BASE / "containerd", BASE / "kubelet"):
                _unmount_below(leftover)
            _remove_tree(BASE)
            BASE.mkdir(parents=True)
            self.logs.mkdir()
            self.state.owner = 0 if self.by_hand else os.getpid()
            self._save()
            try:
                self._start(binaries)
            except BaseException:
                self._stop()
                raise

    def _start(self, binaries: NodeBinaries) -> None:
        started = time.monotonic()
        self.state.shim_sockets_before = (
            sorted(os.listdir(SHIM_SOCKETS)) if SHIM_SOCKETS.exists() else None
        )
        wanted = {**network.SYSCTLS}
        self.state.sysctls = network.read_sysctls([*wanted, *network.KUBELET_SYSCTLS])
        self._save()
        network.create_bridge()
        network.write_sysctls(wanted)
        network.install_fence()
        cgroups.create_root()
        self.kube.start()
        self.state.pids["etcd"] = _pid(self.kube.etcd_process)
        self.state.pids["kube-apiserver"] = _pid(self.kube.apiserver_process)
        self.state.kubeconfig = str(self.kube.kubeconfig)
        self.state.apiserver = self.kube.server
        self._save()
        self._start_containerd()
        self._clear_old_containers()
        self.images = [
            *images.import_layout(self.ctr, images.pause_layout(), images.PAUSE_NAME),
            *images.import_layout(self.ctr, ensure_image(), images.PROJECT_NAME),
        ]
        self._start_coredns(binaries.coredns)
        self._start_controller_manager(binaries.kube_controller_manager)
        self._start_scheduler(binaries.kube_scheduler)
        self._start_kubelet(binaries.kubelet)
        self._start_kube_proxy(binaries.kube_proxy)
        self._wait_node_ready()
        _say(f"cluster up in {time.monotonic() - started:.1f}s ({self.kube.server})")

    def _launch(
        self,
        name: str,
        command: list[str],
        ready: Any,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        log_path = self.logs / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env or hermetic_environ(FOREIGN_ENV_PREFIXES),
            )
        self.state.pids[name] = process.pid
        self._save()
        deadline = time.monotonic() + self.startup_timeout
        while not ready():
            if process.poll() is not None:
                raise HarnessError(
                    f"{name} exited ({process.returncode}) during startup; log {log_path}:\n"
                    f"{log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise HarnessError(f"{name} not ready; log {log_path}:\n{log_tail(log_path)}")
            time.sleep(0.2)

    def _start_containerd(self) -> None:
        state_dir = BASE / "containerd"
        state_dir.mkdir()
        cni_conf = BASE / "cni" / "net.d"
        cni_conf.mkdir(parents=True)
        (cni_conf / "10-shortlink.conflist").write_text(json.dumps(_cni_config(), indent=2))
        hosts = state_dir / "certs.d" / "_default"
        hosts.mkdir(parents=True)
        # Every registry is a closed loopback port: a missing image fails here, never
        # off the machine.
        (hosts / "hosts.toml").write_text('server = "http://127.0.0.1:1"\n')
        config = state_dir / "config.toml"
        config.write_text(_containerd_config(state_dir, cni_conf))
        CONTAINERD_ROOT.mkdir(parents=True, exist_ok=True)
        self._launch(
            "containerd",
            ["containerd", "--config", str(config)],
            lambda: self._ctr_answers(),
        )

    def _ctr_answers(self) -> bool:
        if not self.containerd_socket.exists():
            return False
        result = subprocess.run(
            [*self.ctr, "version"], capture_output=True, check=False, timeout=10
        )
        return result.returncode == 0

    def _clear_old_containers(self) -> None:
        """The persistent root may hold a previous cluster's stopped containers."""
        listed = subprocess.run(
            [*self.ctr, "containers", "list", "--quiet"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        ids = listed.stdout.split()
        if ids:
            subprocess.run(
                [*self.ctr, "containers", "delete", *ids],
                capture_output=True, check=False, timeout=120,
            )  # fmt: skip

    def _start_coredns(self, executable: Path) -> None:
        health, ready = free_port(), free_port()
        corefile = BASE / "Corefile"
        corefile.write_text(
            f""".:53 {{
    bind {network.BRIDGE_IP}
    errors
    health 127.0.0.1:{health}
    ready 127.0.0.1:{ready}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {self.kube.kubeconfig}
        pods insecure
    }}
    cache 5
}}
"""
        )
        self._launch(
            "coredns",
            [str(executable), "-conf", str(corefile)],
            lambda: _http_ok(f"http://127.0.0.1:{ready}/ready"),
        )

    def _start_controller_manager(self, executable: Path) -> None:
        port = free_port()
        pki = self.kube.base_dir / "pki"
        self._launch(
            "kube-controller-manager",
            [
                str(executable),
                f"--kubeconfig={self.kube.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki / 'service-account.key'}",
                f"--root-ca-file={self.kube.ca_file}",
                "--cluster-name=shortlink-test",
                "--profiling=false",
            ],
            lambda: _http_ok(f"https://127.0.0.1:{port}/healthz"),
        )

    def _start_scheduler(self, executable: Path) -> None:
        port = free_port()
        self._launch(
            "kube-scheduler",
            [
                str(executable),
                f"--kubeconfig={self.kube.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                "--leader-elect=false",
                "--profiling=false",
            ],
            lambda: _http_ok(f"https://127.0.0.1:{port}/healthz"),
        )

    def _start_kubelet(self, executable: Path) -> None:
        root = BASE / "kubelet"
        root.mkdir()
        kubeconfig = BASE / "kubelet.kubeconfig"
        self.kube.write_kubeconfig(kubeconfig, user=NODE_USER, token=self.kube.node_token)
        (BASE / "resolv.conf").write_text("")
        healthz = free_port()
        config = BASE / "kubelet.json"
        config.write_text(
            json.dumps(
                _kubelet_config(
                    ca_file=self.kube.ca_file,
                    socket=self.containerd_socket,
                    port=free_port(),
                    healthz_port=healthz,
                    resolv_conf=BASE / "resolv.conf",
                    pod_logs=BASE / "pod-logs",
                ),
                indent=2,
            )
        )
        self._launch(
            "kubelet",
            [
                str(executable),
                f"--config={config}",
                f"--kubeconfig={kubeconfig}",
                f"--root-dir={root}",
                f"--cert-dir={root / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={network.BRIDGE_IP}",
                "--v=1",
            ],
            lambda: _http_ok(f"http://127.0.0.1:{healthz}/healthz"),
        )

    def _start_kube_proxy(self, executable: Path) -> None:
        healthz = free_port()
        config = BASE / "kube-proxy.json"
        config.write_text(
            json.dumps(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "mode": "iptables",
                    "clientConnection": {"kubeconfig": str(self.kube.kubeconfig)},
                    "hostnameOverride": NODE_NAME,
                    "bindAddress": network.BRIDGE_IP,
                    "healthzBindAddress": f"127.0.0.1:{healthz}",
                    "metricsBindAddress": f"127.0.0.1:{free_port()}",
                    "clusterCIDR": network.POD_CIDR,
                    "detectLocalMode": "ClusterCIDR",
                    # NodePorts on the bridge address only; no route_localnet host-wide.
                    "nodePortAddresses": [f"{network.BRIDGE_IP}/32"],
                    "iptables": {"localhostNodePorts": False, "syncPeriod": "30s"},
                    # 0: leave the host's conntrack sysctls as they are.
                    "conntrack": {
                        "maxPerCore": 0,
                        "min": 0,
                        "tcpEstablishedTimeout": "0s",
                        "tcpCloseWaitTimeout": "0s",
                    },
                },
                indent=2,
            )
        )
        self._launch(
            "kube-proxy",
            [str(executable), f"--config={config}", "--v=1"],
            lambda: _http_ok(f"http://127.0.0.1:{healthz}/healthz"),
        )

    # --- NetworkPolicy enforcement (on demand) ---------------------------------

    def start_network_policy_agent(self) -> None:
        """kube-network-policies on the host, as kube-proxy is: from now on every new
        connection from or to a pod is checked against the NetworkPolicies. Not part
        of `up` (each new pod connection then takes a trip through userspace); a test
        that needs policies enforced starts it and stops it after."""
        executable = ensure_network_policy_agent()
        self._launch(
            "kube-network-policies",
            [
                str(executable),
                f"--kubeconfig={self.kube.kubeconfig}",
                f"--hostname-override={NODE_NAME}",
                f"--nfqueue-id={network.POLICY_QUEUE}",
                f"--nftable-name={network.POLICY_TABLE}",
                f"--metrics-bind-address=127.0.0.1:{free_port()}",
                "--v=1",
            ],
            # Listening on its queue: its informers have synced (it opens the queue after).
            network.policy_queue_bound,
        )
        network.install_policy_steering()

    def stop_network_policy_agent(self) -> None:
        network.remove_policy_steering()
        _terminate(self.state.pids.pop("kube-network-policies", None))
        network.remove_policy_table()
        self._save()

    def _wait_node_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            while True:
                with contextlib.suppress(client.exceptions.ApiException):
                    node = core.read_node(NODE_NAME)
                    conditions = {c.type: c.status for c in node.status.conditions or []}
                    if conditions.get("Ready") == "True":
                        return
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"node {NODE_NAME} not Ready; kubelet log:\n"
                        f"{log_tail(self.logs / 'kubelet.log')}"
                    )
                time.sleep(0.5)

    # --- down ----------------------------------------------------------------

    @classmethod
    def from_state(cls) -> Cluster:
        cluster = cls()
        cluster.state = ClusterState(**json.loads(STATE.read_text()))
        return cluster

    def stop(self) -> None:
        with _machine_lock():
            self._stop()

    def _stop(self) -> None:
        """Remove all `up` made, each step even if one before it failed; then raise
        the first failure."""
        failures: list[str] = []

        def step(what: str, action: Any) -> None:
            try:
                action()
            except Exception as error:
                failures.append(f"{what}: {error}")

        pids = self.state.pids
        step("network policies", network.remove_policy_steering)
        for name in (
            "kube-network-policies",
            "kube-proxy",
            "kubelet",
            "kube-scheduler",
            "kube-controller-manager",
        ):
            step(name, lambda name=name: _terminate(pids.get(name)))
        step("pods", cgroups.kill_all)
        step("shims", self._kill_shims)
        step("containerd", lambda: _terminate(pids.get("containerd")))
        step("coredns", lambda: _terminate(pids.get("coredns")))
        step("mounts", lambda: _unmount_below(BASE))
        step("mounts", lambda: _unmount_below(CONTAINERD_ROOT))
        step("iptables", network.remove_rules)
        step("nftables", network.remove_policy_table)
        step("bridge", network.remove_bridge)
        step("sysctls", lambda: network.write_sysctls(self.state.sysctls))
        step("cgroups", cgroups.remove_root)
        step("kube-apiserver", lambda: _terminate(pids.get("kube-apiserver")))
        step("etcd", lambda: _terminate(pids.get("etcd")))
        step("shim sockets", self._remove_shim_sockets)
        step("state", lambda: STATE.unlink(missing_ok=True))
        if failures:
            raise HarnessError("cluster teardown: " + "; ".join(failures))

    def _kill_shims(self) -> None:
        """containerd-shim-runc-v2 daemonizes out of containerd's session: find ours by
        the socket address on their command line."""
        address = str(self.containerd_socket)
        for pid in _pids_with_argument(address):
            try:
                executable = Path(f"/proc/{pid}/exe").resolve(strict=True).name
            except OSError:
                continue  # gone already
            if executable.startswith("containerd-shim"):
                _terminate(pid, signal.SIGKILL)

    def _remove_shim_sockets(self) -> None:
        before = self.state.shim_sockets_before
        if not SHIM_SOCKETS.exists():
            return
        for name in os.listdir(SHIM_SOCKETS):
            if before is None or name not in before:
                (SHIM_SOCKETS / name).unlink(missing_ok=True)
        if before is None:
            with contextlib.suppress(OSError):
                SHIM_SOCKETS.rmdir()
                SHIM_SOCKETS.parent.rmdir()

    def _save(self) -> None:
        STATE.write_text(json.dumps(asdict(self.state), indent=2))


# --- configuration documents ---------------------------------------------------


def _cni_config() -> dict[str, Any]:
    return {
        "cniVersion": "1.0.0",
        "name": "shortlink",
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.BRIDGE,
                "isGateway": True,
                # Nothing is masqueraded: pods only talk to the bridge and the host.
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.POD_CIDR, "gateway": network.BRIDGE_IP}]],
                    # No default route: a pod can reach the bridge and Services, and
                    # any other address is unreachable from inside it.
                    "routes": [{"dst": network.SERVICE_CIDR, "gw": network.BRIDGE_IP}],
                    "dataDir": str(BASE / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def _containerd_config(state_dir: Path, cni_conf: Path) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{CONTAINERD_ROOT}"
state = "{state_dir / "state"}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{state_dir / "containerd.sock"}"

[ttrpc]
  address = "{state_dir / "containerd.sock.ttrpc"}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{state_dir / "opt"}"

[{cri}]
  sandbox_image = "{images.PAUSE_IMAGE}"
  # Pod network namespaces are mounted under our state, not in /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This machine's root lacks CAP_SYS_RESOURCE: no negative oom_score_adj (the kubelet
  # asks -998 for sandboxes); clamp at containerd's own.
  restrict_oom_score_adj = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "{state_dir / "runc"}"

[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{cni_conf}"

[{cri}.registry]
  config_path = "{state_dir / "certs.d"}"
"""


def _kubelet_config(
    *,
    ca_file: Path,
    socket: Path,
    port: int,
    healthz_port: int,
    resolv_conf: Path,
    pod_logs: Path,
) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # This machine has cgroup v1 only (see README): the kubelet refuses it unless told.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{cgroups.ROOT}",
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "containerRuntimeEndpoint": f"unix://{socket}",
        "address": network.BRIDGE_IP,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca_file)},
        },
        # Only the apiserver (its kubelet client certificate) can authenticate.
        "authorization": {"mode": "AlwaysAllow"},
        "clusterDNS": [network.BRIDGE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(resolv_conf),
        "podLogsDir": str(pod_logs),
        "failSwapOn": False,
        "makeIPTablesUtilChains": False,
        "serializeImagePulls": False,
        # A shared disk that other jobs fill: never evict pods or images for it.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "nodeStatusUpdateFrequency": "4s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "shutdownGracePeriod": "0s",
    }


# --- processes, mounts --------------------------------------------------------


def _pid(process: subprocess.Popen[bytes] | None) -> int:
    if process is None:
        raise HarnessError("process not started")
    return process.pid


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _terminate(pid: int | None, first: signal.Signals = signal.SIGTERM) -> None:
    """Signal a process we started (it leads its own process group) and wait; SIGKILL
    the group after STOP_TIMEOUT."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, first)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        _reap(pid)
        time.sleep(0.05)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _pids_with_argument(argument: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if argument in (entry / "cmdline").read_bytes().decode(errors="replace").split("\0"):
                found.append(int(entry.name))
    return found


def mounts_below(directory: Path) -> list[str]:
    """Mount points at or under `directory` (resolved), per /proc/self/mountinfo."""
    prefix = str(directory.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def _unmount_below(directory: Path) -> None:
    for _ in range(5):
        points = mounts_below(directory)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", point], capture_output=True, check=False, timeout=30)
    left = mounts_below(directory)
    if left:
        raise HarnessError(f"still mounted: {left}")


def _remove_tree(directory: Path) -> None:
    if directory.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(directory)], check=True, timeout=120)


def _http_ok(url: str) -> bool:
    try:
        response = httpx.get(url, timeout=2.0, verify=False)  # self-signed health ports
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _wait_for_slot(timeout: float) -> None:
    """One cluster per machine: wait for another test session's to go; take down one
    whose owner died; refuse to touch one brought up by hand."""
    deadline = time.monotonic() + timeout
    while STATE.exists():
        owner = ClusterState(**json.loads(STATE.read_text())).owner
        if owner == 0:
            raise HarnessError(
                "a cluster brought up by hand is running: "
                "`python -m tests.harness.cluster down` first"
            )
        if not _alive(owner):
            _say(f"tearing down the cluster left by process {owner}")
            Cluster.from_state()._stop()
            return
        if time.monotonic() > deadline:
            raise HarnessError(f"the machine's cluster is still in use by process {owner}")
        _say(f"waiting for process {owner}'s cluster to go")
        time.sleep(5.0)


@contextlib.contextmanager
def _machine_lock() -> Any:
    with MACHINE_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _say(message: str) -> None:
    # stderr: a benchmark's stdout carries only its JSON lines
    print(f"[cluster harness] {message}", file=sys.stderr, flush=True)
