"""The shipped rules and dashboard against a real Prometheus scraping the real
processes: API, redirector, analytics worker (Kafka → chDB) and operator (on the
test kube-apiserver), after real traffic.

Every recording rule, alert expression and dashboard query is evaluated through
Prometheus' HTTP API: none may error, and each whose metrics are exported must
return data, so a renamed metric fails here. A PostgresCluster (primary + one standby,
real PostgreSQL) is reconciled by the operator, so its failover metrics are live.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from monitoring import dashboard
from tests.harness import PostgresServer, RedisServer, ServiceProcess, free_port
from tests.harness.kafka import KafkaServer
from tests.harness.kube import KubeControlPlane
from tests.harness.pg_cluster import ClusterTemplate, PostgresCluster
from tests.harness.pgc import ClusterResource
from tests.harness.prometheus import PrometheusServer
from tests.harness.shortlinks import CRDS, Cluster, operator_process
from tests.harness.stack import API_KEY, SECRET, start_stack
from tests.support.monitoring import RULE_FILES, alerts, recordings
from tests.support.waiting import wait_for

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
JOBS = ("shortlink-api", "shortlink-redirector", "shortlink-analytics", "shortlink-operator")
# Set only once a failover or switchover has completed, which this test doesn't run.
NOT_YET_EXPORTED = {"shortlink_postgres_last_failover_duration_seconds"}
_POSTGRES_LIVE = {"shortlink_postgres_cluster_phase", "shortlink_postgres_failovers_total"}
METRIC = re.compile(r"\b(?:shortlink_[a-z0-9_]+|process_[a-z_]+)\b")
_runs = itertools.count()


@dataclass
class Observed:
    prometheus: PrometheusServer
    processes: dict[str, ServiceProcess]
    metrics_urls: dict[str, str]
    kafka: KafkaServer
    codes: list[str]
    cluster_label: str = ""

    def exported(self) -> set[str]:
        return self.prometheus.metric_names()


@pytest.fixture(scope="module")
def observed(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    kafka_server: KafkaServer,
    kube_control_plane: KubeControlPlane,
    pg_cluster_template: ClusterTemplate,
    pg_cluster_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Observed]:
    work = tmp_path_factory.mktemp("monitoring")
    suffix = f"{os.getpid()}-{next(_runs)}"
    topic = f"monitoring-clicks-{suffix}"
    kafka_server.create_topic(topic, 2)
    events = {
        "SHORTLINK_EVENTS": "kafka",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_server.bootstrap_servers,
        "SHORTLINK_CLICKS_TOPIC": topic,
        "SHORTLINK_LINKS_TOPIC": f"monitoring-links-{suffix}",
        "SHORTLINK_ANALYTICS_GROUP": f"monitoring-{suffix}",
    }
    api, redirector, database_url = start_stack(
        postgres_server,
        redis_server,
        work / "logs",
        SHORTLINK_RATE_LIMIT="20/minute",
        **events,
    )
    worker_port = free_port()
    worker = ServiceProcess(
        ["shortlink", "analytics"],
        env={
            **events,
            "REDIS_URL": redis_server.url,
            "SHORTLINK_SECRET_KEY": SECRET,
            "CLICKHOUSE_URL": f"chdb://{work / 'chdb'}",
            "SHORTLINK_ANALYTICS_PORT": str(worker_port),
            "SHORTLINK_ANALYTICS_FLUSH_MS": "200",
            "SHORTLINK_HOST": "127.0.0.1",
        },
        port=worker_port,
        log_dir=work / "logs",
        name="worker",
    )
    kube_control_plane.apply_crds(CRDS)
    namespace = kube_control_plane.create_namespace(f"monitoring-{next(_runs)}")
    operator = operator_process(
        kube_control_plane,
        work / "logs",
        database_url=database_url,
        redis_url=redis_server.url,
        base_url=redirector.base_url,
        namespace=namespace,
        name=f"{namespace}-operator",
    )
    processes = {
        "shortlink-api": api,
        "shortlink-redirector": redirector,
        "shortlink-analytics": worker,
        "shortlink-operator": operator,
    }
    prometheus = None
    replicated = PostgresCluster(
        pg_cluster_root / f"monitoring-{suffix}", pg_cluster_template, standbys=1
    )
    try:
        replicated.start()
        worker.start()
        operator.start()
        # Scraped on their ops ports (the public ones serve no /metrics).
        addresses = {job: f"127.0.0.1:{p.ops_port}" for job, p in processes.items()}
        urls = {job: f"http://{address}/metrics" for job, address in addresses.items()}
        prometheus = PrometheusServer(
            work / "prometheus", {job: [a] for job, a in addresses.items()}, RULE_FILES
        )
        prometheus.start()
        observed = Observed(prometheus, processes, urls, kafka_server, [])
        # Scraped once before any traffic, so every counter is seen to increase.
        _wait_for_targets(observed)
        cluster = Cluster(kube_control_plane, namespace)
        try:
            observed.codes = _drive_traffic(api, redirector, cluster)
        finally:
            cluster.close()
        pgc = ClusterResource(kube_control_plane, namespace)
        try:
            pgc.create(replicated)
            pgc.wait_phase("Healthy", "pg0")
        finally:
            pgc.close()
        observed.cluster_label = f"{namespace}/{pgc.name}"
        # The tests compare against what Prometheus holds: wait for the cluster's first scrape.
        wanted = _POSTGRES_LIVE
        wait_for("the PostgresCluster's series scraped", lambda: wanted <= observed.exported(), 30)
        yield observed
    finally:
        if prometheus is not None:
            prometheus.stop()
        for process in reversed(processes.values()):
            process.stop()
        replicated.stop()
        shutil.rmtree(replicated.base_dir, ignore_errors=True)


def _drive_traffic(api: ServiceProcess, redirector: ServiceProcess, cluster: Cluster) -> list[str]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    statuses = []
    codes = []
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=10) as client:
        for n in range(24):  # the limit is 20 a minute: the last ones are refused
            created = client.post("/v1/urls", json={"original_url": f"https://example.com/{n}"})
            statuses.append(created.status_code)
            if created.status_code == 201:
                codes.append(created.json()["short_code"])
        assert client.get("/v1/urls/NoSuchCode1").status_code == 404
    assert statuses.count(201) == 20 and statuses.count(429) == 4, statuses
    with httpx.Client(base_url=redirector.base_url, timeout=10) as visitor:
        for code in codes[:5]:
            for agent in (CHROME,) * 5 + (GOOGLEBOT,) * 2:
                assert visitor.get(f"/{code}", headers={"User-Agent": agent}).status_code == 302
        for n in range(10):
            assert visitor.get(f"/missing{n}").status_code == 404
    cluster.create("valid", {"target": "https://example.com/operator"})
    cluster.create("reserved", {"target": "https://example.com/", "code": "healthz"})
    cluster.wait_ready("valid")
    cluster.wait_condition("reserved", "Ready", "False", "InvalidSpec")
    return codes


def _referenced(expr: str) -> set[str]:
    return set(METRIC.findall(expr))


def _for_grafana(expr: str) -> str:
    return (
        expr.replace("$__rate_interval", "2m")
        .replace('"$namespace"', '".*"')
        .replace('"$pod"', '".*"')
    )


def _wait_for_targets(observed: Observed) -> None:
    prometheus = observed.prometheus
    wanted = {f"{job}/{address}" for job, address in _targets(observed)}

    def scraped() -> bool:
        health = prometheus.target_health()
        return set(health) == wanted and set(health.values()) == {"up"}

    try:
        wait_for("every target scraped", scraped, 30)
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}: {prometheus.target_health()}") from None


def _wait_for_data(observed: Observed) -> None:
    prometheus = observed.prometheus
    wait_for(
        "clicks stored by the worker, as Prometheus sees it",
        lambda: prometheus.query("sum(shortlink_analytics_stored_total) >= 35"),
        60,
    )
    wait_for(
        "the not-Ready ShortLink counted",
        lambda: prometheus.query("shortlink_operator_links_not_ready == 1"),
        30,
    )
    # Recording rules evaluated on a few scrapes of the traffic above.
    wait_for(
        "SLO error ratios recorded",
        lambda: len(prometheus.query("shortlink:slo_errors:ratio_rate5m")) == 3,
        30,
    )


def _targets(observed: Observed) -> list[tuple[str, str]]:
    return [(job, url.split("/")[2]) for job, url in observed.metrics_urls.items()]


def _check(observed: Observed, exprs: dict[str, str]) -> dict[str, str]:
    """Run each query; return those still empty after 20 s although every metric they
    read is exported (a query error raises). The retries ride out a scrape that timed
    out on a loaded machine (its series go stale for a moment)."""
    exported = observed.exported()
    expected = {name: expr for name, expr in exprs.items() if _referenced(expr) <= exported}
    empty = {}
    for name, expr in exprs.items():
        result = observed.prometheus.query(expr)
        if name in expected and not result:
            empty[name] = expr
    deadline = time.monotonic() + 20
    while empty and time.monotonic() < deadline:
        time.sleep(2)
        empty = {name: expr for name, expr in empty.items() if not observed.prometheus.query(expr)}
    return empty


def test_every_referenced_metric_is_exported_or_a_known_contract(observed: Observed) -> None:
    _wait_for_data(observed)
    everything = [rule["expr"] for rule in alerts() + recordings()]
    everything += dashboard.queries()
    referenced = set().union(*(_referenced(expr) for expr in everything))
    missing = referenced - observed.exported()
    # A metric renamed in the code (or a typo in a rule) shows up here.
    assert missing <= NOT_YET_EXPORTED, sorted(missing - NOT_YET_EXPORTED)
    print(f"contract metrics not exported yet: {sorted(missing)}")


def test_every_recording_rule_evaluates_to_data(observed: Observed) -> None:
    _wait_for_data(observed)
    exprs = {f"{r['record']}{r.get('labels', {})}": r["expr"] for r in recordings()}
    assert _check(observed, exprs) == {}
    # And the server itself recorded every rule (one series per SLO for the ratios).
    for name in {rule["record"] for rule in recordings()}:
        slos = {s["metric"]["slo"] for s in observed.prometheus.query(name)}
        assert slos == {"redirect-availability", "redirect-latency", "api-availability"}, name
    # 404s are answers, not errors: no redirect was answered 503 here.
    ratio = observed.prometheus.query(
        'shortlink:slo_errors:ratio_rate5m{slo="redirect-availability"}'
    )
    assert float(ratio[0]["value"][1]) == 0


def test_every_alert_expression_evaluates_and_only_the_expected_ones_are_active(
    observed: Observed,
) -> None:
    _wait_for_data(observed)
    for alert in alerts():
        observed.prometheus.query(alert["expr"])  # raises on a query error
    active = {(a["labels"]["alertname"], a["state"]) for a in observed.prometheus.alerts()}
    firing = {name for name, state in active if state == "firing"}
    assert firing == {"ShortlinkWatchdog"}, active
    # The ShortLink with a reserved code is not Ready (pending: the alert waits 15 min).
    assert ("ShortlinkShortLinksNotReady", "pending") in active, active
    # Every component exports its build info and is up: no "absent" alert even pending.
    # (Start-up blips, such as the bus connecting a moment after the worker starts, may
    # leave others pending.)
    gone = {"Api", "Redirector", "Analytics", "Operator", "Target"}
    assert {f"Shortlink{g}Down" for g in gone} & {name for name, _ in active} == set(), active


def test_every_dashboard_query_evaluates_to_data(observed: Observed) -> None:
    _wait_for_data(observed)
    exprs = {expr: _for_grafana(expr) for expr in dashboard.queries()}
    assert _check(observed, exprs) == {}


def test_metrics_pass_promtool_and_never_carry_a_short_code(observed: Observed) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "Debian's prometheus package ships promtool"
    for job, url in observed.metrics_urls.items():
        text = httpx.get(url, timeout=5).text
        result = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, f"{job}: {result.stdout}{result.stderr}"
        assert "process_resident_memory_bytes" in text, job
        leaked = [code for code in observed.codes if code in text]
        assert leaked == [], f"{job} exports short codes as labels: {leaked}"
    # The redirect histogram resolves the latency SLO's threshold (25 ms).
    redirector = httpx.get(observed.metrics_urls["shortlink-redirector"], timeout=5).text
    assert 'shortlink_redirect_duration_seconds_bucket{le="0.025"}' in redirector
    worker = httpx.get(observed.metrics_urls["shortlink-analytics"], timeout=5).text
    assert 'shortlink_analytics_batch_lag_seconds_bucket{le="60.0"}' in worker


def test_stopping_kafka_makes_the_bus_alert_go_pending(observed: Observed) -> None:
    _wait_for_data(observed)
    redirector = observed.processes["shortlink-redirector"]
    observed.kafka.stop()
    try:

        def pending() -> list[dict[str, object]]:
            # Clicks keep coming, so the publisher keeps trying (and failing) to deliver.
            httpx.get(f"{redirector.base_url}/{observed.codes[0]}", headers={"User-Agent": CHROME})
            return [
                a
                for a in observed.prometheus.alerts()
                if a["labels"]["alertname"] == "ShortlinkEventBusDisconnected"
                and a["state"] == "pending"
            ]

        found = wait_for("ShortlinkEventBusDisconnected pending", pending, 90)
        jobs = {str(alert["labels"]["job"]) for alert in found}  # type: ignore[index]
        assert "shortlink-redirector" in jobs, jobs
    finally:
        observed.kafka.start()  # shared by the session


def test_postgres_down_spends_the_redirect_budget(
    observed: Observed, postgres_server: PostgresServer
) -> None:
    """Codes no cache holds answer 503 while PostgreSQL is down: the SLI sees them."""
    _wait_for_data(observed)
    redirector = observed.processes["shortlink-redirector"]
    postgres_server.stop()
    try:
        with httpx.Client(base_url=redirector.base_url, timeout=10) as visitor:
            statuses = [visitor.get(f"/Gone{n:03d}").status_code for n in range(20)]
        assert set(statuses) == {503}, statuses
        ratio = 'shortlink:slo_errors:ratio_rate5m{slo="redirect-availability"} > 0'
        found = wait_for(
            "the redirect error ratio above 0", lambda: observed.prometheus.query(ratio)
        )
        assert 0 < float(found[0]["value"][1]) < 1
        counted = 'sum(shortlink_redirects_total{outcome="unavailable"}) >= 20'
        assert wait_for("503s counted as unavailable", lambda: observed.prometheus.query(counted))
    finally:
        postgres_server.start()  # shared by the session


def test_the_operator_exports_every_postgres_series_the_rules_use_with_their_labels(
    observed: Observed,
) -> None:
    """Straight from the operator's /metrics: each shortlink_postgres_* name the rules
    and dashboard use is there for the cluster, member series once per member."""
    text = httpx.get(observed.metrics_urls["shortlink-operator"], timeout=5).text
    cluster = f'cluster="{observed.cluster_label}"'
    everything = [rule["expr"] for rule in alerts() + recordings()] + dashboard.queries()
    used = {m for e in everything for m in _referenced(e) if m.startswith("shortlink_postgres_")}
    assert used, "no rule uses a shortlink_postgres_ metric"
    for name in sorted(used - NOT_YET_EXPORTED):
        lines = [line for line in text.splitlines() if line.startswith(f"{name}{{")]
        assert any(cluster in line for line in lines), (name, lines)
        if "_member_" in name:
            members = {m for m in ("pg0", "pg1") if any(f'member="{m}"' in x for x in lines)}
            assert members == {"pg0", "pg1"}, (name, lines)
