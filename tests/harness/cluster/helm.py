"""helm against the node's cluster, and the project image's tag as imported there."""

from __future__ import annotations

import json
import subprocess

from tests.harness.cluster.node import Cluster
from tests.harness.image import ensure_image
from tests.harness.kube.binaries import REPO_ROOT, ensure_helm

CHART = REPO_ROOT / "charts" / "shortlink"


def helm(cluster: Cluster, *args: str, timeout: float = 300) -> str:
    """Run helm on the cluster; AssertionError with its output when it fails."""
    command = [str(ensure_helm()), "--kubeconfig", str(cluster.kubeconfig), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def project_image_tag() -> str:
    """The tag of scripts/build-image's layout (the package version)."""
    index = json.loads((ensure_image() / "index.json").read_text())
    tags = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    return str(tags[0])
