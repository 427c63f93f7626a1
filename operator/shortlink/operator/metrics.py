"""Prometheus metrics of the operator (served on /metrics by the probes server)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter(
    "shortlink_operator_reconciles_total",
    "ShortLink reconciles by outcome (created, updated, unchanged, deleted, conflict, "
    "invalid, retry)",
    ["outcome"],
)
ERRORS = Counter(
    "shortlink_operator_errors_total",
    "Failed reconciles and drift checks by reason (condition reason, or 'drift')",
    ["reason"],
)
DURATION = Histogram(
    "shortlink_operator_reconcile_duration_seconds",
    "Time to reconcile one ShortLink (validation, Secret, PostgreSQL, Redis)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LINKS_MANAGED = Gauge(
    "shortlink_operator_links_managed", "ShortLinks whose link this operator keeps in sync"
)
DRIFT_REPAIRS = Counter(
    "shortlink_operator_drift_repairs_total",
    "Repairs made by the drift check, by what had drifted (row, cache, secret, workspace)",
    ["kind"],
)
DRIFT_CHECKS = Counter("shortlink_operator_drift_checks_total", "Completed drift checks")
LINKS_NOT_READY = Gauge(
    "shortlink_operator_links_not_ready",
    "ShortLinks whose last reconcile left Ready not True (invalid, conflicting, retrying)",
)
LEADER = Gauge("shortlink_operator_leader", "1 while this replica holds the Lease and reconciles")
LEADERSHIP_CHANGES = Counter(
    "shortlink_operator_leadership_changes_total",
    "Times this replica took the Lease (acquired) or had to give it up (lost)",
    ["change"],
)
# Exported at 0 from the start, so the first change shows up as an increase.
for _change in ("acquired", "lost"):
    LEADERSHIP_CHANGES.labels(_change)

# -- PostgreSQL failover (labels: cluster = "namespace/name", member = a member name) --

POSTGRES_FAILOVERS = Counter(
    "shortlink_postgres_failovers_total", "Completed automatic failovers", ["cluster"]
)
POSTGRES_SWITCHOVERS = Counter(
    "shortlink_postgres_switchovers_total", "Completed planned switchovers", ["cluster"]
)
POSTGRES_PHASE = Gauge(
    "shortlink_postgres_cluster_phase",
    "1 for the cluster's current phase (Initializing, Healthy, Degraded, FailingOver, "
    "SwitchingOver), 0 for the others",
    ["cluster", "phase"],
)
POSTGRES_MEMBER_UP = Gauge(
    "shortlink_postgres_member_up", "1 if the member's last probe succeeded", ["cluster", "member"]
)
POSTGRES_MEMBER_PRIMARY = Gauge(
    "shortlink_postgres_member_primary", "1 for the member taking writes", ["cluster", "member"]
)
POSTGRES_MEMBER_LAG = Gauge(
    "shortlink_postgres_member_lag_bytes",
    "Bytes of WAL the member has not received yet from the primary",
    ["cluster", "member"],
)
POSTGRES_MEMBER_FENCED = Gauge(
    "shortlink_postgres_member_fenced",
    "1 while the member is fenced (no writes until it rejoins as a standby)",
    ["cluster", "member"],
)
POSTGRES_SYNCHRONOUS = Gauge(
    "shortlink_postgres_synchronous_standbys",
    "Standbys streaming in the primary's synchronous quorum (0: commits wait or are async)",
    ["cluster"],
)
POSTGRES_MAX_LAG = Gauge(
    "shortlink_postgres_max_lag_on_failover_bytes",
    "The cluster's maxLagOnFailover: a standby further behind is never promoted",
    ["cluster"],
)
POSTGRES_FAILOVER_BLOCKED = Counter(
    "shortlink_postgres_failover_blocked_total",
    "Failovers or switchovers the operator refused, by reason (NoCandidate, LagTooHigh, "
    "NoSynchronousStandby, SynchronousStandbyUnreachable, SwitchoverTargetNotReady)",
    ["cluster", "reason"],
)
BLOCKED_REASONS = (
    "NoCandidate",
    "LagTooHigh",
    "NoSynchronousStandby",
    "SynchronousStandbyUnreachable",
    "SwitchoverTargetNotReady",
)
POSTGRES_LAST_FAILOVER = Gauge(
    "shortlink_postgres_last_failover_duration_seconds",
    "Seconds from the old primary's first failed probe (or the switchover request) to the "
    "new primary accepting writes, for the last failover or switchover",
    ["cluster"],
)
