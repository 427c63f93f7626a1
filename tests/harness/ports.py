"""Free loopback ports for test servers, picked outside the kernel's ephemeral range.

A port found by binding to port 0 comes from the ephemeral range, the one every
outgoing connection draws from: between the pick and the server's own bind, any
process's next connect() can take it (CI saw a redirector die with EADDRINUSE on
such a port while the api beside it opened its pools). Ports below that range are
never handed out by the kernel, so a port found free there stays free until a
server of ours binds it.
"""

import random
import socket
from pathlib import Path

# Below Kubernetes' NodePort range (30000-32767), which kube-proxy holds open on the
# test cluster's node, and below Linux's default ephemeral range (32768-60999).
CANDIDATES = range(20000, 30000)
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")

_handed_out: set[int] = set()


def ephemeral_range() -> range:
    """The kernel's range for outgoing connections' local ports."""
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free and that the kernel does not hand
    to outgoing connections; never the same one twice in a test run."""
    ephemeral = ephemeral_range()
    candidates = [p for p in CANDIDATES if p not in ephemeral and p not in _handed_out]
    # Random, not in order: several test runs on one machine (worktrees) rarely meet.
    for port in random.sample(candidates, len(candidates)):
        if is_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port left in {CANDIDATES} outside the ephemeral range {ephemeral}")
