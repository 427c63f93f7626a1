"""The OCI image built by scripts/build-image, unpacked with umoci and run for real:
its entrypoint from its own root filesystem, mounted read-only (bubblewrap), as the
image's numeric user (setpriv), with only the image's and the caller's environment."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.harness.kube.binaries import CACHE_DIR, REPO_ROOT
from tests.harness.processes import HarnessError

LAYOUT = CACHE_DIR / "image" / "oci"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-image"


def ensure_image() -> Path:
    """The OCI layout, built (minutes the first time) if there is none yet.

    scripts/test rebuilds it on every run; here a present layout is taken as is."""
    LAYOUT.parent.mkdir(parents=True, exist_ok=True)
    with (LAYOUT.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (LAYOUT / "index.json").exists():
            print("[image harness] building the image (scripts/build-image)", file=sys.stderr)
            result = subprocess.run(
                [str(BUILD_SCRIPT), str(LAYOUT)],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=False,
                timeout=900,
            )
            if result.returncode != 0:
                raise HarnessError(f"scripts/build-image failed:\n{result.stderr[-6000:]}")
    return LAYOUT


@contextlib.contextmanager
def unpacked_image(tag: str | None = None, layout: Path | None = None) -> Iterator[UnpackedImage]:
    """The built image (or the one in `layout`) unpacked in a fresh directory the image's
    user can traverse (pytest's own temporary folders are private to root), removed
    afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="shortlink-image-"))
    try:
        directory.chmod(0o755)
        yield UnpackedImage(layout or ensure_image(), directory, tag)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _blob(layout: Path, digest: str) -> dict[str, Any]:
    algorithm, value = digest.split(":", 1)
    loaded: dict[str, Any] = json.loads((layout / "blobs" / algorithm / value).read_text())
    return loaded


class UnpackedImage:
    """One tag of an OCI layout, unpacked under `directory`."""

    def __init__(self, layout: Path, directory: Path, tag: str | None = None) -> None:
        self.layout = layout
        index = _blob_index(layout)
        descriptors = index["manifests"]
        if tag is not None:
            descriptors = [
                d
                for d in descriptors
                if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
            ]
        if len(descriptors) != 1:
            raise HarnessError(f"{layout}: expected one image (tag {tag}), found {descriptors}")
        self.tag = descriptors[0]["annotations"]["org.opencontainers.image.ref.name"]
        self.manifest = _blob(layout, descriptors[0]["digest"])
        self.image_config = _blob(layout, self.manifest["config"]["digest"])
        self.config: dict[str, Any] = self.image_config["config"]
        self.bundle = directory / "bundle"
        result = subprocess.run(
            ["umoci", "unpack", "--image", f"{layout}:{self.tag}", str(self.bundle)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            raise HarnessError(f"umoci unpack failed: {result.stderr}")
        self.bundle.chmod(0o755)

    @property
    def rootfs(self) -> Path:
        return self.bundle / "rootfs"

    @property
    def user(self) -> tuple[int, int]:
        uid, gid = str(self.config["User"]).split(":")
        return int(uid), int(gid)

    @property
    def env(self) -> dict[str, str]:
        return dict(entry.split("=", 1) for entry in self.config.get("Env", []))

    def command(
        self,
        args: list[str],
        env: Mapping[str, str],
        *,
        binds: Mapping[Path, str] | None = None,
        entrypoint: list[str] | None = None,
    ) -> list[str]:
        """argv that runs the entrypoint with `args` as a container would: the image's
        root read-only, a private /tmp, the image's env overlaid by `env`, the image's
        uid:gid and working directory, no capabilities. Shares the host's network (the
        test services listen on loopback). `binds` adds read-only files (path → where)."""
        uid, gid = self.user
        sandbox = [
            "bwrap",
            "--ro-bind", str(self.rootfs), "/",
            "--proc", "/proc",
            "--dev", "/dev",
            "--tmpfs", "/tmp",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--die-with-parent",
            "--clearenv",
            "--chdir", self.config.get("WorkingDir") or "/",
        ]  # fmt: skip
        if any(target.startswith("/run/") for target in (binds or {}).values()):
            # Where kubelet mounts a service-account token (/var/run links to /run).
            sandbox += ["--tmpfs", "/run"]
        for source, target in (binds or {}).items():
            sandbox += ["--ro-bind", str(source), target]
        for key, value in {**self.env, **env}.items():
            sandbox += ["--setenv", key, value]
        user = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all"]
        return [*user, *sandbox, "--", *(entrypoint or self.config["Entrypoint"]), *args]


def _blob_index(layout: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((layout / "index.json").read_text())
    return loaded
