"""The cluster's network on this host: one bridge, its routes, and the fence.

Pods get addresses on `BRIDGE` (POD_CIDR, the bridge itself is the gateway and the
host's address for pods); Service addresses are routed onto the bridge too, so a
packet for a Service that has no rule never leaves by the default route. Nothing is
masqueraded off the machine: the CNI bridge runs with ipMasq off, and the fence drops
every forwarded packet that would leave other than through the bridge.

Every iptables rule the cluster makes lives in chains named with a prefix of
`OWN_CHAIN_PREFIXES` (ours, kube-proxy's KUBE-*, the CNI portmap's CNI-*), entered by
one jump each from a built-in chain; `remove_rules` deletes exactly those.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path

from tests.harness.kube.control_plane import SERVICE_CLUSTER_IP_RANGE
from tests.harness.processes import HarnessError

BRIDGE = "slk0"
POD_CIDR = "10.217.0.0/24"
BRIDGE_IP = "10.217.0.1"
# Set, not left to the kernel: a bridge whose address was never set takes its lowest
# port's MAC, so the pod on that port going would change the gateway's MAC under every
# other pod (their neighbour entries keep the old one: DNS and Services black-holed for
# up to a minute). Locally administered (02:...), so no vendor's.
BRIDGE_MAC = "02:53:4c:00:00:01"
SERVICE_CIDR = SERVICE_CLUSTER_IP_RANGE
FENCE_CHAIN = "SHORTLINK-FENCE"
# The NetworkPolicy agent's packets: new connections from or to pods go to this
# netfilter queue, where kube-network-policies gives each its verdict.
POLICY_CHAIN = "SHORTLINK-NETPOL"
POLICY_QUEUE = 100
# The inet table kube-network-policies writes where the kernel lets it (see below).
POLICY_TABLE = "shortlink-netpol"
OWN_CHAIN_PREFIXES = ("KUBE-", "CNI-", "SHORTLINK-")
# Host-wide switches the node needs, set on `up` and put back on `down`.
SYSCTLS = {
    # Pod -> Service -> pod on one bridge is routed through the host.
    "net/ipv4/ip_forward": "1",
    # Bridged packets see iptables, so kube-proxy's DNAT is undone on the way back.
    "net/bridge/bridge-nf-call-iptables": "1",
}
# The kubelet sets these itself unless told to refuse (protectKernelDefaults fails on
# any other value); `down` puts the host's values back.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)


def pod_address(index: int) -> str:
    return str(ipaddress.ip_network(POD_CIDR)[index])


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if check and result.returncode != 0:
        raise HarnessError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}")
    return result


def read_sysctls(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {name: (Path("/proc/sys") / name).read_text().strip() for name in names}


def write_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        (Path("/proc/sys") / name).write_text(value + "\n")


def create_bridge() -> None:
    prefix = POD_CIDR.split("/")[1]
    run("ip", "link", "add", BRIDGE, "address", BRIDGE_MAC, "type", "bridge")
    run("ip", "addr", "add", f"{BRIDGE_IP}/{prefix}", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("ip", "route", "add", SERVICE_CIDR, "dev", BRIDGE, "src", BRIDGE_IP)


def remove_bridge() -> None:
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        # Its routes go with it.
        run("ip", "link", "delete", BRIDGE)


def install_fence() -> None:
    """Forwarded packets may leave only through the bridge (the host forwarded nothing
    before `up`: ip_forward was off, so no one else's traffic is affected)."""
    run("iptables", "-w", "-N", FENCE_CHAIN)
    run("iptables", "-w", "-A", FENCE_CHAIN, "-o", BRIDGE, "-j", "RETURN")
    run("iptables", "-w", "-A", FENCE_CHAIN, "-j", "DROP")
    run("iptables", "-w", "-I", "FORWARD", "1", "-j", FENCE_CHAIN)


def install_policy_steering() -> None:
    """Steer what kube-network-policies' own nftables table would (upstream's rules in
    iptables form): this kernel has no nft `queue` expression (CONFIG_NFT_QUEUE unset;
    the agent's table is refused whole), but the xtables NFQUEUE target through nft's
    compat layer works. In mangle POSTROUTING, a hook of its own after the fence (an
    accept verdict from the queue ends the packet's hook, so FORWARD would skip the
    fence), after kube-proxy's DNAT, so the agent sees pod addresses:
    established/related pass, the host's root (kubelet probes) passes, every other new
    connection from or to a pod is queued; no bypass, so with the agent gone such
    packets drop (fail closed, upstream's default)."""
    rules = [
        ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        ["-m", "owner", "--uid-owner", "0", "-j", "RETURN"],
        ["-s", POD_CIDR, "-j", "NFQUEUE", "--queue-num", str(POLICY_QUEUE)],
        ["-d", POD_CIDR, "-j", "NFQUEUE", "--queue-num", str(POLICY_QUEUE)],
    ]
    run("iptables", "-w", "-t", "mangle", "-N", POLICY_CHAIN)
    for rule in rules:
        run("iptables", "-w", "-t", "mangle", "-A", POLICY_CHAIN, *rule)
    run("iptables", "-w", "-t", "mangle", "-A", "POSTROUTING", "-j", POLICY_CHAIN)


def remove_policy_steering() -> None:
    jump = ["POSTROUTING", "-j", POLICY_CHAIN]
    while run("iptables", "-w", "-t", "mangle", "-C", *jump, check=False).returncode == 0:
        run("iptables", "-w", "-t", "mangle", "-D", *jump)
    for action in ("-F", "-X"):
        run("iptables", "-w", "-t", "mangle", action, POLICY_CHAIN, check=False)


def remove_policy_table() -> None:
    """The agent deletes its table on exit; this is for an agent that was killed."""
    run("nft", "delete", "table", "inet", POLICY_TABLE, check=False)


def policy_queue_bound() -> bool:
    """Whether a process listens on POLICY_QUEUE (the kernel's list of bound queues)."""
    try:
        lines = Path("/proc/net/netfilter/nfnetlink_queue").read_text().splitlines()
    except FileNotFoundError:
        return False
    return any(line.split()[:1] == [str(POLICY_QUEUE)] for line in lines)


def remove_rules() -> None:
    """Delete every jump to one of our chains from a built-in chain, then the chains,
    in every table (legacy rules too, where kube-proxy's detection may have put them)."""
    for binary in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle", "raw"):
            _remove_table_rules(binary, table)


def _remove_table_rules(binary: str, table: str) -> None:
    listed = run(binary, "-w", "-t", table, "-S", check=False)
    if listed.returncode != 0:
        return
    own_chains: list[str] = []
    jumps: list[list[str]] = []
    for line in listed.stdout.splitlines():
        words = line.split()
        if words[:1] == ["-N"] and words[1].startswith(OWN_CHAIN_PREFIXES):
            own_chains.append(words[1])
        elif words[:1] == ["-A"] and not words[1].startswith(OWN_CHAIN_PREFIXES):
            target = _jump_target(words)
            if target is not None and target.startswith(OWN_CHAIN_PREFIXES):
                jumps.append(words[1:])
    for rule in jumps:
        run(binary, "-w", "-t", table, "-D", *_unquote(rule), check=False)
    for chain in own_chains:
        run(binary, "-w", "-t", table, "-F", chain, check=False)
    for chain in own_chains:
        run(binary, "-w", "-t", table, "-X", chain, check=False)


def _jump_target(words: list[str]) -> str | None:
    for flag in ("-j", "-g"):
        if flag in words:
            return words[words.index(flag) + 1]
    return None


def _unquote(words: list[str]) -> list[str]:
    # `iptables -S` quotes comments; rejoin them for `-D`.
    text = " ".join(words)
    return [part.strip('"') for part in re.findall(r'"[^"]*"|\S+', text)]
