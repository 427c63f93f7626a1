"""The `Dockerfile` built for real, without a Docker engine: buildah (Debian) with its own
storage under .cache/buildah, pushed to an OCI layout that tests/harness/image.py unpacks
and runs like scripts/build-image's.

Its two base images can't be pulled here (Docker Hub is not reachable), so stand-ins are
built from Debian packages and handed to buildah under the names the Dockerfile uses
(`--build-context NAME=docker-image://…`), the file itself untouched:
- `debian:bookworm-slim`: mmdebstrap `--variant=minbase` of bookworm (the slim image is
  minbase with docs trimmed);
- `node:22-bookworm-slim`: the same plus Debian's `nodejs` and `npm` -- Node 18, not 22:
  the wheel stage only runs npm to fetch the UI's pinned assets.
The host's CA bundle is mounted for the build only (as scripts/build-image does: this
machine may reach PyPI and npm through a TLS-inspecting proxy) through /etc/pip.conf and
/etc/npmrc bind mounts; nothing of it is in the image.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness.kube.binaries import CACHE_DIR, REPO_ROOT
from tests.harness.processes import HarnessError

STORAGE = CACHE_DIR / "buildah"
LAYOUT = CACHE_DIR / "image" / "dockerfile-oci"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
STAND_INS = {
    "debian:bookworm-slim": ("standin-debian:2", ()),
    "node:22-bookworm-slim": ("standin-node:2", ("nodejs", "npm")),
}
IMAGE = "localhost/shortlink-dockerfile"
BUILD_TIMEOUT = 1800


def ensure_dockerfile_image(tag: str) -> Path:
    """The OCI layout of the Dockerfile's image at `tag`, built unless the sources it was
    built from are unchanged (minutes cold)."""
    STORAGE.mkdir(parents=True, exist_ok=True)
    with (STORAGE / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = _source_key()
        stamp = LAYOUT / ".source-key"
        if stamp.exists() and stamp.read_text().strip() == key:
            return LAYOUT
        started = time.monotonic()
        for name, (stand_in, packages) in STAND_INS.items():
            _ensure_stand_in(stand_in, packages)
            _say(f"{name} stands in as localhost/{stand_in}")
        with tempfile.TemporaryDirectory(prefix="build-config-") as config:
            _build(Path(config), tag)
        shutil.rmtree(LAYOUT, ignore_errors=True)
        _buildah("push", f"{IMAGE}:{tag}", f"oci:{LAYOUT}:{tag}")
        stamp.write_text(key + "\n")
        _say(f"Dockerfile built with buildah in {time.monotonic() - started:.0f}s")
    return LAYOUT


def _build(config: Path, tag: str) -> None:
    host_ca = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    (config / "pip.conf").write_text("[global]\ncert = /run/build-ca/host-ca.crt\n")
    (config / "npmrc").write_text("cafile=/run/build-ca/host-ca.crt\n")
    contexts = [
        f"--build-context={name}=docker-image://localhost/{stand_in}"
        for name, (stand_in, _) in STAND_INS.items()
    ]
    _buildah(
        "build", "--isolation=chroot", "--network=host", "--layers", *contexts,
        # No io.buildah.version label: the image's labels are the Dockerfile's.
        "--identity-label=false",
        f"--volume={host_ca}:/run/build-ca/host-ca.crt:ro",
        f"--volume={config / 'pip.conf'}:/etc/pip.conf:ro",
        f"--volume={config / 'npmrc'}:/etc/npmrc:ro",
        f"--tag={IMAGE}:{tag}", "--file=Dockerfile", ".",
        cwd=REPO_ROOT,
    )  # fmt: skip


def _ensure_stand_in(name: str, packages: tuple[str, ...]) -> None:
    listed = _buildah("images", "--noheading", "--format", "{{.Name}}:{{.Tag}}", check=False)
    if f"localhost/{name}" in listed.split():
        return
    with tempfile.TemporaryDirectory(prefix="stand-in-", dir=STORAGE) as work:
        rootfs = Path(work) / "rootfs.tar"
        include = [f"--include={','.join(packages)}"] if packages else []
        _run(
            [
                "mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", "--format=tar",
                "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr", *include,
                SUITE, str(rootfs), MIRROR,
            ]
        )  # fmt: skip
        container = _buildah("from", "scratch").strip()
        try:
            _buildah("add", container, str(rootfs), "/")
            path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            _buildah("config", f"--env={path}", "--cmd=bash", container)
            # Like the images they stand in for: no labels (buildah's own included).
            _buildah("commit", "--quiet", "--identity-label=false", container, f"localhost/{name}")
        finally:
            _buildah("rm", container, check=False)


def _source_key() -> str:
    """What goes into the image: every tracked (or new, not ignored) file's content."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    digest = hashlib.sha256()
    for name in sorted(listed.stdout.split(b"\0")):
        path = REPO_ROOT / os.fsdecode(name)
        if name and path.is_file():
            digest.update(name + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _buildah(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    storage = [f"--root={STORAGE / 'root'}", f"--runroot={STORAGE / 'run'}"]
    return _run(["buildah", *storage, "--storage-driver=overlay", *args], cwd=cwd, check=check)


def _run(command: list[str], *, cwd: Path | None = None, check: bool = True) -> str:
    _say(" ".join(command[:6]) + (" …" if len(command) > 6 else ""))
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT
    )
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        raise HarnessError(f"{' '.join(command)} failed:\n{output}")
    return result.stdout


def _say(message: str) -> None:
    print(f"[dockerfile image] {message}", file=sys.stderr, flush=True)
