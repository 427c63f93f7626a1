"""`python -m tests.harness.cluster up|down`: the test cluster, by hand.

`up` leaves it running (the admin kubeconfig is printed); `up --network-policies` also
starts the NetworkPolicy agent (kube-network-policies); `down` removes it all.
"""

from __future__ import annotations

import argparse
import sys

from tests.harness.cluster.node import STATE, Cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.cluster")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument(
        "--network-policies", action="store_true", help="up: enforce NetworkPolicies too"
    )
    arguments = parser.parse_args(argv)
    if arguments.action == "up":
        cluster = Cluster(by_hand=True)
        cluster.start()
        if arguments.network_policies:
            cluster.start_network_policy_agent()
        print(f"export KUBECONFIG={cluster.kubeconfig}")
        return 0
    if not STATE.exists():
        print("no cluster is up", file=sys.stderr)
        return 0
    Cluster.from_state().stop()
    print("cluster down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
