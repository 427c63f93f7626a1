"""etcd, kube-apiserver and helm, built from their Go modules on first use.

No release tarballs can be fetched here, only Go modules, so each binary is a
tiny module of ours (`etcd/`, `apiserver/` beside this file) that calls the
upstream main, or (`helm/`) names the upstream command as a Go `tool`. The
first build downloads and compiles a few minutes' worth; later calls find the
binaries and a matching stamp and return at once. A file lock makes
concurrent pytest or benchmark processes wait for one build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness.processes import HarnessError

MODULES_DIR = Path(__file__).resolve().parent
REPO_ROOT = MODULES_DIR.parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
BIN_DIR = CACHE_DIR / "kube" / "bin"
GO_MOD_CACHE = CACHE_DIR / "go" / "mod"
GO_BUILD_CACHE = CACHE_DIR / "go" / "build"
# The Go toolchain of the machine image; a `go` on PATH wins.
FALLBACK_GO = Path("/usr/local/go/bin/go")
SOURCE_FILES = ("go.mod", "go.sum", "main.go")  # those present are fingerprinted
HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class KubeBinaries:
    etcd: Path
    kube_apiserver: Path


@dataclass(frozen=True)
class _Target:
    name: str
    module_dir: Path
    # What `go build` builds within the module; several commands share one
    # invocation (and one compile of the packages they share) into `outputs`.
    packages: tuple[str, ...] = (".",)
    outputs: tuple[str, ...] = ()

    @property
    def binary(self) -> Path:
        return BIN_DIR / self.name

    @property
    def binaries(self) -> list[Path]:
        return [BIN_DIR / name for name in self.outputs or (self.name,)]

    @property
    def stamp(self) -> Path:
        return BIN_DIR / f"{self.name}.stamp"


TARGETS = (
    _Target("etcd", MODULES_DIR / "etcd"),
    _Target("kube-apiserver", MODULES_DIR / "apiserver"),
)
HELM = _Target("helm", MODULES_DIR / "helm", packages=("helm.sh/helm/v3/cmd/helm",))
NODE_COMMANDS = ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
# The rest of a cluster, at the apiserver's release (node/go.mod pins the same
# k8s.io/kubernetes and staging replaces as apiserver/go.mod).
NODE = _Target(
    "kube-node",
    MODULES_DIR / "node",
    packages=tuple(f"k8s.io/kubernetes/cmd/{name}" for name in NODE_COMMANDS),
    outputs=NODE_COMMANDS,
)
COREDNS = _Target("coredns", MODULES_DIR / "coredns")
# The NetworkPolicy agent (sigs.k8s.io/kube-network-policies), run on the host like kube-proxy.
NETPOL = _Target("kube-network-policies", MODULES_DIR / "netpol")


@dataclass(frozen=True)
class NodeBinaries:
    kube_controller_manager: Path
    kube_scheduler: Path
    kubelet: Path
    kube_proxy: Path
    coredns: Path


def ensure_kube_binaries() -> KubeBinaries:
    """Paths of etcd and kube-apiserver, building whichever is missing or stale."""
    _ensure(list(TARGETS))
    return KubeBinaries(etcd=TARGETS[0].binary, kube_apiserver=TARGETS[1].binary)


def ensure_helm() -> Path:
    """Path of helm (the `helm.sh/helm/v3` release pinned in `helm/go.mod`), built if stale."""
    _ensure([HELM])
    return HELM.binary


def ensure_node_binaries() -> NodeBinaries:
    """controller-manager, scheduler, kubelet, kube-proxy (one `go build`) and CoreDNS."""
    _ensure([NODE, COREDNS])
    return NodeBinaries(*NODE.binaries, coredns=COREDNS.binary)


def ensure_network_policy_agent() -> Path:
    """Path of kube-network-policies (the release pinned in `netpol/go.mod`), built if stale."""
    _ensure([NETPOL])
    return NETPOL.binary


def _ensure(targets: list[_Target]) -> None:
    stale = [target for target in targets if not _is_current(target)]
    if not stale:
        return
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    with (BIN_DIR / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another process may have built them while this one waited.
        for target in stale:
            if not _is_current(target):
                _build(target)


def kubernetes_version() -> str:
    """The k8s.io/kubernetes release the apiserver module pins, e.g. 'v1.35.4'."""
    return _required_version(MODULES_DIR / "apiserver" / "go.mod", "k8s.io/kubernetes")


def etcd_version() -> str:
    return _required_version(MODULES_DIR / "etcd" / "go.mod", "go.etcd.io/etcd/server/v3")


def _required_version(go_mod: Path, module: str) -> str:
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod.read_text(), re.M)
    if match is None:
        raise HarnessError(f"{go_mod} does not require {module}")
    return match.group(1)


# The ServiceMonitor and PrometheusRule CRDs, from the Prometheus Operator's Go module.
PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator@v0.85.0"


def prometheus_operator_crds() -> Path:
    """The folder of the Prometheus Operator's CRD YAMLs (fetched through the Go module proxy)."""
    result = subprocess.run(
        [go_executable(), "mod", "download", "-json", PROMETHEUS_OPERATOR_MODULE],
        cwd=CACHE_DIR,
        env={**go_environ(), "GOFLAGS": "-modcacherw"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise HarnessError(
            f"go mod download {PROMETHEUS_OPERATOR_MODULE}: {result.stdout}{result.stderr}"
        )
    return Path(json.loads(result.stdout)["Dir"]) / "example" / "prometheus-operator-crd"


def _ldflags(target: _Target) -> list[str]:
    if target.name == "helm":
        return _helm_ldflags()
    if target.name not in ("kube-apiserver", NODE.name):
        return []
    # Module builds carry no git metadata: without these the server calls
    # itself v0.0.0-master, which clients print and some check.
    version = kubernetes_version()
    major, minor = version.lstrip("v").split(".")[:2]
    package = "k8s.io/component-base/version"
    return [
        f"-X {package}.gitVersion={version}",
        f"-X {package}.gitMajor={major}",
        f"-X {package}.gitMinor={minor}",
        f"-X {package}.gitTreeState=clean",
    ]


def _helm_ldflags() -> list[str]:
    # As helm's Makefile: its version, and the Kubernetes version it assumes
    # without a cluster (`helm template`, `lint`), from the client-go it links.
    go_mod = HELM.module_dir / "go.mod"
    client_go = _required_version(go_mod, "k8s.io/client-go")
    minor = client_go.lstrip("v").split(".")[1]
    helm_version = _required_version(go_mod, "helm.sh/helm/v3")
    flags = [f"-X helm.sh/helm/v3/internal/version.version={helm_version}"]
    for package in ("helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"):
        flags += [f"-X {package}.k8sVersionMajor=1", f"-X {package}.k8sVersionMinor={minor}"]
    return flags


def _command(target: _Target, output: Path) -> list[str]:
    # Stripped (-s -w), path-free (-trimpath): smaller, and cache hits across checkouts.
    ldflags = " ".join(["-s", "-w", *_ldflags(target)])
    build = [go_executable(), "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(output)]
    return [*build, *target.packages]


def _fingerprint(target: _Target) -> str:
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        if not (target.module_dir / name).exists():
            continue
        digest.update(name.encode() + b"\0" + (target.module_dir / name).read_bytes() + b"\0")
    digest.update(" ".join(_command(target, Path("OUT"))[1:]).encode())
    return digest.hexdigest()


def _is_current(target: _Target) -> bool:
    try:
        stamp = target.stamp.read_text().strip()
    except FileNotFoundError:
        return False
    present = all(binary.exists() for binary in target.binaries)
    return present and stamp == _fingerprint(target)


def go_executable() -> str:
    found = shutil.which("go")
    if found is not None:
        return found
    if FALLBACK_GO.exists():
        return str(FALLBACK_GO)
    raise HarnessError("no Go toolchain: install Go 1.25+ or put `go` on PATH")


def go_environ() -> dict[str, str]:
    return {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOMODCACHE": str(GO_MOD_CACHE),
        "GOCACHE": str(GO_BUILD_CACHE),
        # -mod=mod: go.sum is checked in, go.mod may still lag a toolchain's
        # view of it; -modcacherw: a plain `rm -rf .cache` can delete the
        # module cache; -buildvcs=false: the repo's git state is not the build's.
        "GOFLAGS": "-mod=mod -modcacherw -buildvcs=false",
        # Static binaries without the C parts of net and os/user, as upstream
        # release builds are: nothing to compile with gcc, nothing to link.
        "CGO_ENABLED": "0",
    }


def _build(target: _Target) -> None:
    # Several outputs: `go build -o DIR/` writes each command into the directory.
    partial = target.binary.with_name(f".{target.name}.partial")
    if target.outputs:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
    command = _command(target, partial)
    _say(f"building {target.name} from {target.module_dir} (slow the first time)")
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=target.module_dir,
        env=go_environ(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # A heartbeat, so a first build in CI is visibly alive, not hung.
    while True:
        try:
            output, _ = process.communicate(timeout=HEARTBEAT_SECONDS)
            break
        except subprocess.TimeoutExpired:
            _say(f"  still building {target.name} ({time.monotonic() - started:.0f}s)")
    if process.returncode != 0:
        _remove(partial)
        raise HarnessError(
            f"go build of {target.name} failed ({process.returncode}):\n"
            f"{output.decode(errors='replace')[-8000:]}"
        )
    if target.outputs:
        for name in target.outputs:
            os.replace(partial / name, BIN_DIR / name)
        partial.rmdir()
    else:
        os.replace(partial, target.binary)
    target.stamp.write_text(_fingerprint(target) + "\n")
    _say(f"built {target.binary} in {time.monotonic() - started:.0f}s")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _say(message: str) -> None:
    print(f"[kube harness] {message}", file=sys.stderr, flush=True)
