"""A real Kubernetes control plane (etcd + kube-apiserver) for tests and benchmarks.

The Go modules in `etcd/` and `apiserver/` are built into .cache/kube/bin on
first use; see README.md here.
"""

from tests.harness.kube.binaries import KubeBinaries, ensure_kube_binaries
from tests.harness.kube.control_plane import KubeControlPlane

__all__ = ["KubeBinaries", "KubeControlPlane", "ensure_kube_binaries"]
