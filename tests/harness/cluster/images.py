"""Images the node runs, all built on this machine and imported into containerd.

- the pause image: `pause/main.go` compiled static (Go, no cgo) and packed by umoci;
- the project image: scripts/build-image's OCI layout (tests/harness/image.py), named
  as the chart names it by default, so `helm install` needs no image values;
- a second build of the project image (`next_project_layout`), for `helm upgrade`: the
  first one plus a layer of its own and another version, so another image the pods run;
- the in-chart PostgreSQL's image: scripts/build-postgres-image's layout (Debian's
  PostgreSQL 15 to the official postgres image's entrypoint contract), imported on demand
  as `shortlink.local/postgres:15-bookworm` — not under the chart's default name
  (docker.io/library/postgres:16): it is not that image, so the test sets the values;
- a Redis image: scripts/build-redis-image's layout (Debian's redis-server), imported on
  demand as `shortlink.local/redis:7-bookworm` for the tests that need Redis as a pod.

Nothing is pulled: containerd's registry configuration sends every registry to a
closed loopback port (see node.py), so a missing image fails here, never off the machine.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.harness.kube.binaries import CACHE_DIR, REPO_ROOT, go_environ, go_executable
from tests.harness.processes import HarnessError

PAUSE_SOURCE = Path(__file__).resolve().parent / "pause"
PAUSE_NAME = "shortlink.local/pause"
PAUSE_TAG = "3.10"
PAUSE_IMAGE = f"{PAUSE_NAME}:{PAUSE_TAG}"
PROJECT_NAME = "ghcr.io/shortlink/shortlink"
IMAGES_DIR = CACHE_DIR / "cluster" / "images"
POSTGRES_BUILD = REPO_ROOT / "scripts" / "build-postgres-image"
POSTGRES_LAYOUT = CACHE_DIR / "image" / "postgres-oci"
POSTGRES_NAME = "shortlink.local/postgres"
REDIS_BUILD = REPO_ROOT / "scripts" / "build-redis-image"
REDIS_LAYOUT = CACHE_DIR / "image" / "redis-oci"
REDIS_NAME = "shortlink.local/redis"
NEXT_LAYOUT = IMAGES_DIR / "project-next"
NEXT_SUFFIX = "-next"
# What the second build adds (the pods show which build they run by reading it).
NEXT_MARKER = "/opt/shortlink/BUILD"


def pause_layout() -> Path:
    """The pause image's OCI layout, built once (a second or two) and cached."""
    layout = IMAGES_DIR / "pause"
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    with (IMAGES_DIR / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (layout / "index.json").exists():
            return layout
        work = Path(tempfile.mkdtemp(prefix="pause-", dir=IMAGES_DIR))
        try:
            binary = work / "pause"
            _run(
                [go_executable(), "build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), "."],
                cwd=PAUSE_SOURCE,
                env=go_environ(),
            )
            partial = work / "layout"
            _run(["umoci", "init", "--layout", str(partial)])
            _run(["umoci", "new", "--image", f"{partial}:{PAUSE_TAG}"])
            bundle = work / "bundle"
            _run(["umoci", "unpack", "--image", f"{partial}:{PAUSE_TAG}", str(bundle)])
            shutil.copy2(binary, bundle / "rootfs" / "pause")
            _run(["umoci", "repack", "--image", f"{partial}:{PAUSE_TAG}", str(bundle)])
            _run(
                [
                    "umoci", "config", "--image", f"{partial}:{PAUSE_TAG}",
                    "--config.entrypoint", "/pause", "--config.user", "65535:65535",
                ]
            )  # fmt: skip
            _run(["umoci", "gc", "--layout", str(partial)])
            partial.rename(layout)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return layout


def next_project_layout(first: Path) -> Path:
    """A second build of the project image, for `helm upgrade`: `first`'s tag plus
    NEXT_SUFFIX, one small layer more (NEXT_MARKER naming the build), its version label
    changed. Another manifest and config digest, the same app inside (an upgrade
    that can only fail by the rollout itself). Made once per build of `first`
    (a second or two: blobs are hard-linked, only the layer is new)."""
    [(tag, digest)] = image_digests(first).items()
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    with (IMAGES_DIR / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = NEXT_LAYOUT / ".from"
        if stamp.exists() and stamp.read_text() == digest:
            return NEXT_LAYOUT
        shutil.rmtree(NEXT_LAYOUT, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="project-next-", dir=IMAGES_DIR))
        try:
            partial = work / "layout"
            with Path(f"{first}.lock").open("a") as first_lock:
                fcntl.flock(first_lock, fcntl.LOCK_SH)  # scripts/build-image writes it
                # Blobs are written once and never changed: linked; the index umoci
                # rewrites is copied, so `first` stays as it is.
                _run(["cp", "-al", str(first), str(partial)])
                (partial / "index.json").unlink()
                shutil.copy2(first / "index.json", partial / "index.json")
            marker = work / "BUILD"
            marker.write_text(f"{tag}{NEXT_SUFFIX}\n")
            marker.chmod(0o644)
            source, target = f"{partial}:{tag}", f"{tag}{NEXT_SUFFIX}"
            _run(["umoci", "insert", "--image", source, "--tag", target, str(marker), NEXT_MARKER])
            _run(
                ["umoci", "config", "--image", f"{partial}:{target}",
                 "--config.label", f"org.opencontainers.image.version={target}"]
            )  # fmt: skip
            _run(["umoci", "rm", "--image", source])
            _run(["umoci", "gc", "--layout", str(partial)])
            (partial / ".from").write_text(digest)
            partial.rename(NEXT_LAYOUT)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return NEXT_LAYOUT


def postgres_layout() -> Path:
    """scripts/build-postgres-image's layout: built when its recipe, entrypoint or base
    changed (about 1.5 min on a cached base), else kept as is (a fraction of a second)."""
    _run([str(POSTGRES_BUILD), str(POSTGRES_LAYOUT)], cwd=REPO_ROOT, timeout=900)
    return POSTGRES_LAYOUT


def redis_layout() -> Path:
    """scripts/build-redis-image's layout: built when its recipe, configuration or base
    changed (5-25 s on a cached base), else kept as is."""
    _run([str(REDIS_BUILD), str(REDIS_LAYOUT)], cwd=REPO_ROOT, timeout=900)
    return REDIS_LAYOUT


def build_and_import(ctr: list[str], layout: Callable[[], Path], name: str) -> str:
    """`layout()` (built or checked) imported as `name`; its one image reference. The
    times of both parts on stderr (a benchmark's stdout is its JSON lines)."""
    started = time.monotonic()
    built = layout()
    checked = time.monotonic()
    [reference] = import_layout(ctr, built, name)
    print(
        f"{name}: build/check {checked - started:.1f}s,"
        f" import {time.monotonic() - checked:.1f}s ({reference})",
        file=sys.stderr,
    )
    return reference


def image_digests(layout: Path) -> dict[str, str]:
    """Tag -> manifest digest of an OCI layout."""
    index = json.loads((layout / "index.json").read_text())
    return {
        entry["annotations"]["org.opencontainers.image.ref.name"]: entry["digest"]
        for entry in index["manifests"]
        if "org.opencontainers.image.ref.name" in entry.get("annotations", {})
    }


def import_layout(ctr: list[str], layout: Path, name: str) -> list[str]:
    """Import every tag of `layout` as `name:tag` unless containerd has that digest
    under that name already (a warm start imports nothing). Returns the image refs."""
    wanted = {f"{name}:{tag}": digest for tag, digest in image_digests(layout).items()}
    present = _present(ctr)
    if all(present.get(ref) == digest for ref, digest in wanted.items()):
        return list(wanted)
    with tempfile.NamedTemporaryFile(suffix=".tar", dir=CACHE_DIR) as archive:
        # scripts/build-image holds LAYOUT.lock while it writes the layout.
        with Path(f"{layout}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            wanted = {f"{name}:{tag}": digest for tag, digest in image_digests(layout).items()}
            _run(["tar", "-C", str(layout), "-cf", archive.name, "."])
        _run([*ctr, "images", "import", "--base-name", name, archive.name], timeout=900)
    missing = [ref for ref, digest in wanted.items() if _present(ctr).get(ref) != digest]
    if missing:
        raise HarnessError(f"containerd did not import {missing} from {layout}")
    return list(wanted)


def _present(ctr: list[str]) -> dict[str, str]:
    listed = _run([*ctr, "images", "list"])
    present = {}
    for line in listed.splitlines()[1:]:
        words = line.split()
        if len(words) >= 3:
            present[words[0]] = words[2]
    return present


def _run(
    command: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    if result.returncode != 0:
        raise HarnessError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
    return result.stdout
