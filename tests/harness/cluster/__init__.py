"""A one-node Kubernetes cluster on this machine (kubelet, containerd, CNI, kube-proxy,
CoreDNS) around the kube harness's control plane; see tests/harness/kube/README.md."""

from tests.harness.cluster.node import Cluster

__all__ = ["Cluster"]
