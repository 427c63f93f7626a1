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
    "Repairs made by the drift check, by what had drifted (row, cache, secret)",
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
