"""redirector.metrics.RedirectTally: plain counters, exported as Prometheus would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from shortlink.redirector.metrics import RedirectTally


def scraped(tally: RedirectTally) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(tally)
    return registry


def test_counts_by_outcome_and_source_from_zero() -> None:
    tally = RedirectTally()
    registry = scraped(tally)
    labels = {"outcome": "redirect", "source": "local"}
    assert registry.get_sample_value("shortlink_redirects_total", labels) == 0
    tally.redirect("redirect", "local", 0.0002)
    tally.redirect("redirect", "local", 0.0002)
    tally.redirect("not_found", "db", 0.003)
    tally.failure(500)
    tally.failure(503)
    tally.failure(404)  # an answer, not a failure
    assert registry.get_sample_value("shortlink_redirects_total", labels) == 2
    assert (
        registry.get_sample_value(
            "shortlink_redirects_total", {"outcome": "not_found", "source": "db"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "shortlink_redirects_total", {"outcome": "error", "source": "none"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "shortlink_redirects_total", {"outcome": "unavailable", "source": "db"}
        )
        == 1
    )
    assert registry.get_sample_value("shortlink_redirect_duration_seconds_count") == 3


def test_durations_are_a_cumulative_histogram_with_le_inclusive() -> None:
    tally = RedirectTally(buckets=(0.001, 0.01))
    registry = scraped(tally)
    for seconds in (0.0005, 0.001, 0.005, 2.0):
        tally.redirect("redirect", "local", seconds)
    bucket = "shortlink_redirect_duration_seconds_bucket"
    assert registry.get_sample_value(bucket, {"le": "0.001"}) == 2  # 0.001 itself is in it
    assert registry.get_sample_value(bucket, {"le": "0.01"}) == 3
    assert registry.get_sample_value(bucket, {"le": "+Inf"}) == 4
    assert registry.get_sample_value("shortlink_redirect_duration_seconds_count") == 4
    assert registry.get_sample_value("shortlink_redirect_duration_seconds_sum") == 2.0065
    # The default buckets are labelled as prometheus_client labels them (rules use le="0.025").
    text = generate_latest(scraped(RedirectTally())).decode()
    assert 'shortlink_redirect_duration_seconds_bucket{le="0.025"} 0.0' in text
    assert 'shortlink_redirect_duration_seconds_bucket{le="1.0"} 0.0' in text
