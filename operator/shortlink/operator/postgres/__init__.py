"""PostgresClusters: the HA loop (probe, decide, act, report) and the node-local rejoin."""
