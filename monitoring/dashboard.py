"""The Grafana dashboard, as code: ``python -m monitoring`` writes
``dashboards/shortlink.json``. Every query filters by the dashboard's namespace and
pod variables (``=~".*"`` also matches series without those labels, as a plain
scrape config gives them), and the e2e test evaluates each against a real Prometheus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from monitoring.slos import SLOS

SEL = 'namespace=~"$namespace", pod=~"$pod"'
RATE = "$__rate_interval"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
JOBS = 'job=~"(.*-)?shortlink-.*"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False
    heatmap: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"  # timeseries | stat | table | heatmap | bargauge
    unit: str = "short"
    width: int = 8
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def per_second(metric: str, by: str = "", function: str = "rate", selector: str = SEL) -> str:
    grouping = f" by ({by})" if by else ""
    matchers = f"{{{selector}}}" if selector else ""
    return f"sum{grouping} ({function}({metric}{matchers}[{RATE}]))"


def q(expr: str, legend: str = "", **kwargs: Any) -> Query:
    return Query(expr, legend, **kwargs)


def _burn(window: str) -> Query:
    return q(
        f'shortlink:slo_errors:ratio_rate{window}{{namespace=~"$namespace"}}'
        " / on(slo) group_left() (1 - shortlink:slo_objective:ratio)",
        f"{{{{slo}}}} {window}",
    )


def _quantiles(bucket: str, by: str = "") -> tuple[Query, ...]:
    group = f"le{', ' + by if by else ''}"
    return tuple(
        q(
            f"histogram_quantile({quantile}, sum by ({group}) (rate({bucket}{{{SEL}}}[{RATE}])))",
            f"p{round(quantile * 100)}{' {{' + by + '}}' if by else ''}",
        )
        for quantile in (0.5, 0.95, 0.99)
    )


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    (
        "Service levels",
        (
            Panel(
                "Firing alerts",
                (q('ALERTS{alertstate="firing", alertname=~"Shortlink.*"}', instant=True),),
                kind="table",
                width=24,
            ),
            Panel(
                "SLI over 30 days",
                (
                    q(
                        '1 - shortlink:slo_errors:ratio_rate30d{namespace=~"$namespace"}',
                        "{{slo}}",
                        instant=True,
                    ),
                ),
                kind="stat",
                unit="percentunit",
                description="Objectives: "
                + ", ".join(f"{s.name} {s.objective * 100:g} %" for s in SLOS),
            ),
            Panel(
                "Error budget left (30 days)",
                (
                    q(
                        '1 - shortlink:slo_errors:ratio_rate30d{namespace=~"$namespace"}'
                        " / on(slo) group_left() (1 - shortlink:slo_objective:ratio)",
                        "{{slo}}",
                        instant=True,
                    ),
                ),
                kind="bargauge",
                unit="percentunit",
            ),
            Panel(
                "Burn rate (1 = budget lasts exactly 30 days)",
                (_burn("5m"), _burn("1h"), _burn("6h")),
                description="Pages at 14.4x over 1h+5m or 6x over 6h+30m; tickets at 3x over"
                " 1d+2h or 1x over 3d+6h.",
            ),
        ),
    ),
    (
        "Redirects",
        (
            Panel(
                "Redirects/s by outcome",
                (
                    q(
                        per_second("shortlink_redirects_total", "outcome"),
                        "{{outcome}}",
                    ),
                ),
                unit="reqps",
            ),
            Panel(
                "Redirects/s by answering tier",
                (
                    q(
                        per_second("shortlink_redirects_total", "source"),
                        "{{source}}",
                    ),
                ),
                unit="reqps",
                description="local: in-process cache; redis; db: PostgreSQL",
            ),
            Panel(
                "Redirect latency",
                _quantiles("shortlink_redirect_duration_seconds_bucket"),
                unit="s",
                description="SLO: 99 % within 25 ms",
            ),
            Panel(
                "Redirect latency heatmap",
                (
                    q(
                        per_second("shortlink_redirect_duration_seconds_bucket", "le", "increase"),
                        "{{le}}",
                        heatmap=True,
                    ),
                ),
                kind="heatmap",
                width=16,
            ),
            Panel(
                "L1 cache",
                (
                    q(f"sum(shortlink_local_cache_entries{{{SEL}}})", "entries"),
                    q(f"min(shortlink_local_cache_enabled{{{SEL}}})", "enabled (min)"),
                ),
            ),
        ),
    ),
    (
        "API",
        (
            Panel(
                "API requests/s by route and status",
                (
                    q(
                        per_second("shortlink_api_requests_total", "route, status"),
                        "{{route}} {{status}}",
                    ),
                ),
                unit="reqps",
                width=12,
            ),
            Panel(
                "API latency p99 by route",
                (
                    q(
                        "histogram_quantile(0.99, sum by (le, route) "
                        f"(rate(shortlink_api_request_duration_seconds_bucket{{{SEL}}}[{RATE}])))",
                        "{{route}}",
                    ),
                ),
                unit="s",
                width=12,
            ),
            Panel(
                "Links created/s and rate-limited/s",
                (
                    q(
                        per_second("shortlink_links_created_total", "kind"),
                        "created {{kind}}",
                    ),
                    q(per_second("shortlink_rate_limited_total"), "rate-limited"),
                ),
                unit="reqps",
                width=12,
            ),
            Panel(
                "Answered 503 because a dependency was down",
                (
                    q(
                        per_second("shortlink_unavailable_responses_total", "job, dependency"),
                        "{{job}} {{dependency}}",
                    ),
                ),
                unit="reqps",
                width=12,
            ),
        ),
    ),
    (
        "Click pipeline",
        (
            Panel(
                "Events/s: emitted, delivered, dropped",
                (
                    q(
                        per_second("shortlink_events_total", "result"),
                        "{{result}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Event buffer fill",
                (
                    q(
                        f"max by (instance) (shortlink_event_buffer_events{{{SEL}}}"
                        f" / shortlink_event_buffer_capacity_events{{{SEL}}})",
                        "{{instance}}",
                    ),
                ),
                unit="percentunit",
            ),
            Panel(
                "Bus delivery failures/s and connection",
                (
                    q(
                        per_second("shortlink_event_send_failures_total", "instance"),
                        "failures {{instance}}",
                    ),
                    q(
                        f"min by (instance) (shortlink_event_bus_connected{{{SEL}}})",
                        "connected {{instance}}",
                    ),
                ),
            ),
            Panel(
                "Ingest throughput",
                (
                    q(
                        per_second("shortlink_analytics_records_total"),
                        "records/s",
                    ),
                    q(per_second("shortlink_analytics_events_total"), "events/s"),
                    q(per_second("shortlink_analytics_stored_total"), "stored/s"),
                    q(
                        per_second("shortlink_analytics_duplicates_total"),
                        "duplicates/s",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Ingest lag (click to storage)",
                (
                    *_quantiles("shortlink_analytics_batch_lag_seconds_bucket")[1:],
                    q(f"max(shortlink_analytics_lag_seconds{{{SEL}}})", "newest click, last batch"),
                ),
                unit="s",
            ),
            Panel(
                "Ingest problems/s",
                (
                    q(
                        per_second("shortlink_analytics_poison_records_total"),
                        "poison records",
                    ),
                    q(
                        per_second("shortlink_analytics_malformed_events_total"),
                        "malformed events",
                    ),
                    q(
                        per_second("shortlink_analytics_store_failures_total"),
                        "store failures",
                    ),
                ),
                unit="ops",
            ),
        ),
    ),
    (
        "Operator",
        (
            Panel(
                "Reconciles/s by outcome",
                (
                    q(
                        per_second("shortlink_operator_reconciles_total", "outcome"),
                        "{{outcome}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Reconcile errors/s by reason",
                (
                    q(
                        per_second("shortlink_operator_errors_total", "reason"),
                        "{{reason}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "ShortLinks managed, not Ready; leader",
                (
                    q(f"sum(shortlink_operator_links_managed{{{SEL}}})", "managed"),
                    q(f"sum(shortlink_operator_links_not_ready{{{SEL}}})", "not Ready"),
                    q(f"sum(shortlink_operator_leader{{{SEL}}})", "leaders"),
                ),
            ),
        ),
    ),
    (
        "PostgreSQL",
        (
            Panel(
                "Primary",
                (
                    q(
                        "max by (cluster, member) (shortlink_postgres_member_primary) == 1",
                        "{{cluster}} {{member}}",
                        instant=True,
                    ),
                ),
                kind="table",
            ),
            Panel(
                "Members: up, primary, fenced",
                (
                    q("max by (cluster, member) (shortlink_postgres_member_up)", "up {{member}}"),
                    q(
                        "max by (cluster, member) (shortlink_postgres_member_primary)",
                        "primary {{member}}",
                    ),
                    q(
                        "max by (cluster, member) (shortlink_postgres_member_fenced)",
                        "fenced {{member}}",
                    ),
                ),
            ),
            Panel(
                "Replication lag",
                (
                    q(
                        "max by (cluster, member) (shortlink_postgres_member_lag_bytes)",
                        "{{member}}",
                    ),
                ),
                unit="bytes",
            ),
            Panel(
                "Failovers and switchovers",
                (
                    q(
                        per_second(
                            "shortlink_postgres_failovers_total", "cluster", "increase", selector=""
                        ),
                        "failovers {{cluster}}",
                    ),
                    q(
                        per_second(
                            "shortlink_postgres_switchovers_total",
                            "cluster",
                            "increase",
                            selector="",
                        ),
                        "switchovers {{cluster}}",
                    ),
                    q(
                        "max by (cluster) (shortlink_postgres_last_failover_duration_seconds)",
                        "last failover s {{cluster}}",
                    ),
                ),
            ),
            Panel(
                "Phase and synchronous standbys",
                (
                    q(
                        "max by (cluster, phase) (shortlink_postgres_cluster_phase) == 1",
                        "{{phase}}",
                    ),
                    q(
                        "max by (cluster) (shortlink_postgres_synchronous_standbys)",
                        "sync standbys",
                    ),
                ),
            ),
            Panel(
                "Dependencies up",
                (
                    q(
                        f"min by (job, dependency) (shortlink_dependency_up{{{SEL}}})",
                        "{{job}} {{dependency}}",
                    ),
                ),
            ),
        ),
    ),
    (
        "Processes",
        (
            Panel(
                "CPU",
                (
                    q(
                        per_second(
                            "process_cpu_seconds_total", "job, instance", selector=f"{JOBS}, {SEL}"
                        ),
                        "{{job}} {{instance}}",
                    ),
                ),
                unit="percentunit",
                width=8,
            ),
            Panel(
                "Resident memory",
                (
                    q(
                        f"sum by (job, instance) (process_resident_memory_bytes{{{JOBS}, {SEL}}})",
                        "{{job}} {{instance}}",
                    ),
                ),
                unit="bytes",
                width=8,
            ),
            Panel(
                "Build versions",
                (
                    q(
                        "count by (component, version) (shortlink_build_info)",
                        "{{component}} {{version}}",
                        instant=True,
                    ),
                ),
                kind="table",
                width=8,
            ),
        ),
    ),
)


def queries() -> list[str]:
    """Every PromQL expression of the dashboard (for the e2e test)."""
    return [query.expr for _, panels in ROWS for panel in panels for query in panel.queries]


def _target(query: Query, ref: str) -> dict[str, Any]:
    target: dict[str, Any] = {
        "datasource": DATASOURCE,
        "expr": query.expr,
        "legendFormat": query.legend,
        "refId": ref,
    }
    if query.instant:
        target |= {"instant": True, "range": False, "format": "table"}
    if query.heatmap:
        target |= {"format": "heatmap"}
    return target


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "targets": [_target(query, chr(ord("A") + i)) for i, query in enumerate(panel.queries)],
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": panel.options,
    }
    if panel.description:
        rendered["description"] = panel.description
    if panel.kind == "heatmap":
        rendered["options"] = {"calculate": False, "yAxis": {"unit": "s"}}
    return rendered


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for title, row in ROWS:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        x = 0
        for panel in row:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(_panel(panel, next_id, x, y))
            next_id += 1
            x += panel.width
        y += 8
    return {
        "uid": "shortlink",
        "title": "Shortlink",
        "tags": ["shortlink"],
        "timezone": "utc",
        "editable": True,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                },
                _variable("namespace", "Namespace", f"label_values(up{{{JOBS}}}, namespace)"),
                _variable(
                    "pod", "Pod", f'label_values(up{{{JOBS}, namespace=~"$namespace"}}, pod)'
                ),
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"
