"""Volumes for PersistentVolumeClaims. The node has no provisioner: a test that needs
claims bound makes `local` PersistentVolumes here — one directory each under the
cluster's own tree (removed by the next `up` at the latest), pinned to the node, of a
StorageClass without provisioner that binds when a pod is scheduled. The kubelet
applies a pod's fsGroup to `local` volumes (not to hostPath ones), as it does to a
provisioned disk."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness.cluster.node import BASE
from tests.harness.cluster.workloads import wait_for
from tests.harness.kube.control_plane import NODE_NAME

STORAGE_CLASS = "shortlink-local"
VOLUMES = BASE / "volumes"


@contextlib.contextmanager
def local_volumes(api: client.ApiClient, count: int, size: str) -> Iterator[str]:
    """`count` PersistentVolumes of `size` in STORAGE_CLASS (its name is yielded). On
    exit the claims bound to them are deleted (a StatefulSet's outlive its release),
    then the volumes and their directories."""
    core = client.CoreV1Api(api)
    storage = client.StorageV1Api(api)
    body = client.V1StorageClass(
        metadata=client.V1ObjectMeta(name=STORAGE_CLASS),
        provisioner="kubernetes.io/no-provisioner",
        volume_binding_mode="WaitForFirstConsumer",
        reclaim_policy="Retain",
    )
    try:
        storage.create_storage_class(body)
    except ApiException as error:
        if error.status != 409:  # left by an earlier test: the same class
            raise
    names = [f"{STORAGE_CLASS}-{number}" for number in range(count)]
    try:
        for name in names:
            directory = VOLUMES / name
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            core.create_persistent_volume(_volume(name, str(directory), size))
        yield STORAGE_CLASS
    finally:
        for name in names:
            with contextlib.suppress(ApiException):
                claim = core.read_persistent_volume(name).spec.claim_ref
                if claim is not None:
                    core.delete_namespaced_persistent_volume_claim(claim.name, claim.namespace)
            with contextlib.suppress(ApiException):
                core.delete_persistent_volume(name)
        wait_for(
            lambda: not {v.metadata.name for v in core.list_persistent_volume().items} & set(names),
            timeout=120,
            what="the local PersistentVolumes to go",
        )
        for name in names:
            shutil.rmtree(VOLUMES / name, ignore_errors=True)


def _volume(name: str, path: str, size: str) -> client.V1PersistentVolume:
    on_this_node = client.V1NodeSelectorTerm(
        match_expressions=[
            client.V1NodeSelectorRequirement(
                key="kubernetes.io/hostname", operator="In", values=[NODE_NAME]
            )
        ]
    )
    return client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": size},
            access_modes=["ReadWriteOnce"],
            persistent_volume_reclaim_policy="Retain",
            storage_class_name=STORAGE_CLASS,
            local=client.V1LocalVolumeSource(path=path),
            node_affinity=client.V1VolumeNodeAffinity(
                required=client.V1NodeSelector(node_selector_terms=[on_this_node])
            ),
        ),
    )
