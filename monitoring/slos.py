"""The three SLOs, and the recording and multi-window multi-burn-rate alerting rules
derived from them (the Google SRE workbook's recipe, as Sloth and Pyrra generate it).

Each SLI is an error ratio, recorded per namespace and window as
``shortlink:slo_errors:ratio_rate<window>{slo}``; errors are 1 - good/total, so the
ratio is 0 (not absent) as soon as there is traffic. An alert compares the burn rate
(error ratio / error budget) over a long and a short window: the long one says the
budget is really going, the short one that it still is (so it resolves quickly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitoring.rule_files import runbook_url


@dataclass(frozen=True)
class Slo:
    name: str  # the `slo` label, e.g. redirect-availability
    alert_prefix: str  # e.g. ShortlinkRedirectAvailability
    objective: float
    what: str  # what is counted, for humans
    good: str  # PromQL of good events per second over [WINDOW]
    total: str  # PromQL of all events per second over [WINDOW]


@dataclass(frozen=True)
class BurnWindow:
    long: str
    short: str
    factor: float


@dataclass(frozen=True)
class Severity:
    suffix: str  # FastBurn | SlowBurn
    severity: str
    windows: tuple[BurnWindow, ...]
    for_: str
    horizon: str  # how soon the budget is gone at the lowest factor, for humans


_ANSWERS = 'outcome=~"redirect|not_found|expired|password_required"'
_API = 'route!~"healthz|readyz|metrics"'

SLOS = (
    Slo(
        "redirect-availability",
        "ShortlinkRedirectAvailability",
        0.999,
        "redirects answered rather than 5xx (404, 410 and 403 are answers)",
        f"sum by (namespace) (rate(shortlink_redirects_total{{{_ANSWERS}}}[WINDOW]))",
        "sum by (namespace) (rate(shortlink_redirects_total[WINDOW]))",
    ),
    Slo(
        "redirect-latency",
        "ShortlinkRedirectLatency",
        0.99,
        "redirects served within 25 ms",
        'sum by (namespace) (rate(shortlink_redirect_duration_seconds_bucket{le="0.025"}[WINDOW]))',
        "sum by (namespace) (rate(shortlink_redirect_duration_seconds_count[WINDOW]))",
    ),
    Slo(
        "api-availability",
        "ShortlinkApiAvailability",
        0.995,
        "API requests not answered with a 5xx status",
        f'sum by (namespace) (rate(shortlink_api_requests_total{{{_API},status!~"5.."}}[WINDOW]))',
        f"sum by (namespace) (rate(shortlink_api_requests_total{{{_API}}}[WINDOW]))",
    ),
)

SEVERITIES = (
    Severity(
        "FastBurn",
        "critical",
        (BurnWindow("1h", "5m", 14.4), BurnWindow("6h", "30m", 6)),
        "2m",
        "2 % of the 30-day budget per hour at 14.4x, all of it in 5 days at 6x",
    ),
    Severity(
        "SlowBurn",
        "warning",
        (BurnWindow("1d", "2h", 3), BurnWindow("3d", "6h", 1)),
        "15m",
        "all of the 30-day budget in 10 days at 3x, by the end of the window at 1x",
    ),
)

# Every window an alert reads, plus 30 days for the dashboard's budget left.
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")


def recorded(window: str) -> str:
    return f"shortlink:slo_errors:ratio_rate{window}"


def _percent(value: float) -> str:
    return f"{value * 100:g} %"


def recording_rules() -> dict[str, Any]:
    objectives = [
        {"record": "shortlink:slo_objective:ratio", "expr": f"vector({slo.objective:g})"}
        | {"labels": {"slo": slo.name}}
        for slo in SLOS
    ]
    groups: list[dict[str, Any]] = [{"name": "shortlink-slo-objectives", "rules": objectives}]
    for slo in SLOS:
        rules = [
            {
                "record": recorded(window),
                "labels": {"slo": slo.name},
                "expr": (
                    f"1 - (\n  {slo.good.replace('WINDOW', window)}\n"
                    f"  /\n  {slo.total.replace('WINDOW', window)}\n)"
                ),
            }
            for window in WINDOWS
        ]
        groups.append({"name": f"shortlink-slo-{slo.name}", "rules": rules})
    return {"groups": groups}


def alert_name(slo: Slo, severity: Severity) -> str:
    return f"{slo.alert_prefix}{severity.suffix}"


def _burn_condition(slo: Slo, window: BurnWindow) -> str:
    budget = 1 - slo.objective
    selector = f'{{slo="{slo.name}"}}'
    return (
        f"(\n  {recorded(window.long)}{selector} / {budget:.4g} > {window.factor:g}\n"
        f"  and\n  {recorded(window.short)}{selector} / {budget:.4g} > {window.factor:g}\n)"
    )


def alerting_rules() -> dict[str, Any]:
    rules = []
    for slo in SLOS:
        for severity in SEVERITIES:
            name = alert_name(slo, severity)
            thresholds = ", or ".join(
                f"{w.factor:g}x over {w.long} and {w.short}" for w in severity.windows
            )
            rules.append(
                {
                    "alert": name,
                    "expr": "\nor\n".join(_burn_condition(slo, w) for w in severity.windows),
                    "for": severity.for_,
                    "labels": {"severity": severity.severity, "slo": slo.name},
                    "annotations": {
                        "summary": (
                            f"{slo.name} SLO ({_percent(slo.objective)}) is burning its "
                            "error budget too fast"
                        ),
                        "description": (
                            "{{ $labels.namespace }}: the "
                            f"{slo.name} error budget ({_percent(1 - slo.objective)} of {slo.what})"
                            ' is burning {{ printf "%.1f" $value }}x faster than sustainable over'
                            f" the long window (threshold: {thresholds}; {severity.horizon})."
                        ),
                        "runbook_url": runbook_url(name),
                    },
                }
            )
    return {"groups": [{"name": "shortlink-slo-alerts", "rules": rules}]}
