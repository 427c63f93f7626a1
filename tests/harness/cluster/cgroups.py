"""The one cgroup root (v1, every mounted hierarchy) the kubelet keeps its pods under.

The kubelet runs with `--cgroup-root=/ROOT` and the cgroupfs driver, so every pod and
container cgroup is created below ROOT in each hierarchy; the harness creates ROOT and,
on `down`, kills whatever still runs in it and removes it, deepest first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from tests.harness.processes import HarnessError

CGROUP_FS = Path("/sys/fs/cgroup")
ROOT = "shortlink-cluster"


def hierarchies() -> list[Path]:
    """Mount points of the v1 hierarchies (and the v2 `unified` one, if mounted)."""
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, target, fstype, *_ = line.split()
        if fstype in ("cgroup", "cgroup2") and target.startswith(str(CGROUP_FS)):
            mounts.append(Path(target))
    return mounts


def create_root() -> None:
    for hierarchy in hierarchies():
        root = hierarchy / ROOT
        root.mkdir(exist_ok=True)
        if (hierarchy / "cpuset.cpus").exists():
            # A new v1 cpuset is empty; a task can't join it until cpus and mems are set.
            for name in ("cpuset.cpus", "cpuset.mems"):
                (root / name).write_text((hierarchy / name).read_text())


def processes() -> set[int]:
    """Every pid in a cgroup under ROOT, in any hierarchy."""
    found: set[int] = set()
    for hierarchy in hierarchies():
        root = hierarchy / ROOT
        if not root.exists():
            continue
        for directory, _, _ in os.walk(root):
            # A cgroup removed meanwhile: ENOENT, or ENODEV while the kernel tears it down.
            with contextlib.suppress(OSError):
                procs = (Path(directory) / "cgroup.procs").read_text().split()
                found.update(int(pid) for pid in procs)
    return found


def kill_all(timeout: float = 30.0) -> None:
    """SIGKILL every process under ROOT until none is left (containers forked later
    by a dying shim included)."""
    deadline = time.monotonic() + timeout
    while pids := processes():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise HarnessError(f"processes left in cgroup {ROOT}: {sorted(pids)}")
        time.sleep(0.1)


def remove_root(timeout: float = 30.0) -> None:
    for hierarchy in hierarchies():
        root = hierarchy / ROOT
        if not root.exists():
            continue
        directories = sorted(
            (Path(directory) for directory, _, _ in os.walk(root)),
            key=lambda path: len(path.parts),
            reverse=True,
        )
        for directory in directories:
            _rmdir(directory, timeout)


def _rmdir(directory: Path, timeout: float) -> None:
    # A cgroup whose last task just died can stay busy for a moment.
    deadline = time.monotonic() + timeout
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if time.monotonic() > deadline:
                raise HarnessError(f"cannot remove cgroup {directory}: {error}") from error
            time.sleep(0.1)
