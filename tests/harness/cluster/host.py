"""What the cluster could leave on the host, taken before `up` and after `down`.

The teardown test compares two snapshots field by field: processes of the cluster,
mount points, network namespaces, links, cgroups, every iptables rule, the nftables
tables iptables does not show (the NetworkPolicy agent's), and the sysctls `up` changes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, fields
from pathlib import Path

from tests.harness.cluster import cgroups, network
from tests.harness.cluster.node import BASE, CONTAINERD_ROOT
from tests.harness.kube.binaries import BIN_DIR

NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class HostSnapshot:
    processes: frozenset[str]  # "pid cmdline" of processes of the cluster
    mounts: frozenset[str]
    netns: frozenset[str]
    links: frozenset[str]
    cgroups: frozenset[str]  # every cgroup directory two levels deep, in every hierarchy
    iptables: tuple[str, ...]  # iptables-save and ip6tables-save, without counters
    nftables: frozenset[str]  # `nft list tables` less iptables' own
    sysctls: tuple[tuple[str, str], ...]

    @classmethod
    def take(cls) -> HostSnapshot:
        return cls(
            processes=frozenset(_cluster_processes()),
            mounts=frozenset(_mount_points()),
            netns=frozenset(os.listdir(NETNS_DIR)) if NETNS_DIR.exists() else frozenset(),
            links=frozenset(os.listdir("/sys/class/net")),
            cgroups=frozenset(_cgroup_dirs()),
            iptables=tuple(_rules()),
            nftables=frozenset(_nft_tables()),
            sysctls=tuple(
                sorted(network.read_sysctls([*network.SYSCTLS, *network.KUBELET_SYSCTLS]).items())
            ),
        )

    def differences(self, other: HostSnapshot) -> dict[str, tuple[list[str], list[str]]]:
        """Field -> (only in self, only in other), for the fields that differ."""
        found = {}
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if mine != theirs:
                mine_set, theirs_set = set(map(str, mine)), set(map(str, theirs))
                found[item.name] = (sorted(mine_set - theirs_set), sorted(theirs_set - mine_set))
        return found


def _cluster_processes() -> list[str]:
    markers = (str(BASE), str(BIN_DIR), str(CONTAINERD_ROOT))
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if any(marker in cmdline for marker in markers):
                found.append(f"{entry.name} {cmdline.strip()}")
    found += [f"{pid} (in cgroup {cgroups.ROOT})" for pid in cgroups.processes()]
    return found


def _mount_points() -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [f"{line.split()[4]} ({line.split(' - ')[1].split()[0]})" for line in lines]


def _cgroup_dirs() -> list[str]:
    found = []
    for hierarchy in cgroups.hierarchies():
        for child in hierarchy.iterdir():
            if child.is_dir():
                found.append(str(child))
                found += [str(grandchild) for grandchild in child.iterdir() if grandchild.is_dir()]
    return found


def _rules() -> list[str]:
    rules = []
    for command in ("iptables-save", "ip6tables-save"):
        result = subprocess.run([command], capture_output=True, text=True, check=False, timeout=60)
        for line in result.stdout.splitlines():
            if line.startswith("#"):
                continue
            # Chain counters: ":FORWARD ACCEPT [12:3456]" -> ":FORWARD ACCEPT".
            rules.append(f"{command}: {line.split(' [')[0] if line.startswith(':') else line}")
    return rules


# iptables-nft's tables: their rules are in `iptables` above.
IPTABLES_TABLES = {
    f"table {family} {name}"
    for family in ("ip", "ip6")
    for name in ("filter", "nat", "mangle", "raw", "security")
}


def _nft_tables() -> list[str]:
    result = subprocess.run(
        ["nft", "list", "tables"], capture_output=True, text=True, check=False, timeout=60
    )
    lines = [line.strip() for line in result.stdout.splitlines()]
    return [line for line in lines if line and line not in IPTABLES_TABLES]
