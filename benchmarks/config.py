"""Run settings shared by the references and the scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.host import CpuPlan

SCENARIOS = (
    "redirect_hit",
    "redirect_miss",
    "create",
    "bulk_1000",
    "redirect_hit_with_kafka",
    "analytics_ingest",
    "analytics_stats",
    "operator_sync",
    "redirect_rules",
    "redirect_limited",
    "redirect_hit_workers",
)
# Run only when named: they need a stack (or a cluster) of their own, and kill things.
ON_DEMAND_SCENARIOS = ("failover", "cluster_failover", "cluster_upgrade", "analytics_stats_100m")
ALL_SCENARIOS = SCENARIOS + ON_DEMAND_SCENARIOS
# The CRD's default failoverDelay.
DEFAULT_FAILOVER_DELAY_S = 10.0


@dataclass(frozen=True)
class RunSettings:
    duration_s: float
    connections: int
    quick: bool
    cpus: CpuPlan
    # Unloaded latency: one connection, so latency is service time, not queueing.
    unloaded_duration_s: float
    hit_links: int
    miss_links: int
    bulk_requests: int
    durable_db: bool = False
    # ShortLinks the operator_sync scenario applies (the target is for 10,000).
    operator_links: int = 1000
    # Rounds of subject/reference alternation where a ratio is the target (median reported).
    rounds: int = 3
    # Extra environment for both services, e.g. SHORTLINK_DB_POOL_MAX=64.
    service_overrides: dict[str, str] = field(default_factory=dict)
    failover_delay_s: float = DEFAULT_FAILOVER_DELAY_S
    # Clicks analytics_stats_100m generates (1M with --quick).
    scale_clicks: int = 100_000_000
    # A chDB directory analytics_stats_100m keeps (and reuses if it holds clicks).
    scale_dir: str = ""
    # A git commit whose redirector redirect_rules also measures, in the same rounds.
    compare: str = ""

    @property
    def miss_duration_s(self) -> float:
        # Every miss consumes a fresh code; a shorter run keeps the pool from running dry.
        return max(1.0, self.duration_s / 2)

    @classmethod
    def build(
        cls,
        *,
        quick: bool,
        duration_s: float | None,
        connections: int,
        miss_links: int | None,
        bulk_requests: int | None,
        durable_db: bool,
        service_overrides: dict[str, str] | None = None,
        operator_links: int | None = None,
        rounds: int | None = None,
        failover_delay_s: float = DEFAULT_FAILOVER_DELAY_S,
        scale_clicks: int | None = None,
        scale_dir: str = "",
        compare: str = "",
    ) -> RunSettings:
        default_duration = 2.0 if quick else 10.0
        duration = duration_s if duration_s is not None else default_duration
        return cls(
            duration_s=duration,
            connections=connections,
            quick=quick,
            cpus=CpuPlan.detect(),
            unloaded_duration_s=1.0 if quick else max(1.0, min(duration / 2, 5.0)),
            hit_links=100,
            miss_links=miss_links if miss_links is not None else (8_000 if quick else 100_000),
            bulk_requests=bulk_requests if bulk_requests is not None else (3 if quick else 20),
            durable_db=durable_db,
            service_overrides=service_overrides or {},
            operator_links=operator_links or (200 if quick else 1000),
            rounds=rounds if rounds is not None else (1 if quick else 3),
            failover_delay_s=failover_delay_s,
            scale_clicks=scale_clicks or (1_000_000 if quick else 100_000_000),
            scale_dir=scale_dir,
            compare=compare,
        )
