"""Metrics every component exports, whatever its job: what build runs, which
dependencies answer, and how many requests were refused because one did not."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from prometheus_client import Counter, Gauge

from shortlink.version import VERSION

DEPENDENCIES = ("postgres", "redis", "bus", "clickhouse", "kubernetes")

BUILD_INFO = Gauge(
    "shortlink_build_info", "Always 1; labels name the component and its version",
    ["component", "version"],
)  # fmt: skip
DEPENDENCY_UP = Gauge(
    "shortlink_dependency_up",
    "1 while the dependency passed its last readiness check, 0 while it failed "
    "(refreshed in the background, probed or not)",
    ["dependency"],
)
UNAVAILABLE_RESPONSES = Counter(
    "shortlink_unavailable_responses_total",
    "Requests answered 503 because a dependency was down",
    ["dependency"],
)


def package_version() -> str:
    try:
        return version("shortlink")
    except PackageNotFoundError:  # run from a source tree
        return VERSION


def announce_build(component: str) -> None:
    BUILD_INFO.labels(component, package_version()).set(1)


def dependency_up(name: str, up: bool) -> None:
    DEPENDENCY_UP.labels(name).set(int(up))


def count_unavailable(dependency: str) -> None:
    UNAVAILABLE_RESPONSES.labels(dependency).inc()
