import math
from datetime import UTC, datetime, timedelta

import pytest

from shortlink.domain.errors import InvalidRateLimit
from shortlink.domain.rate_limits import RateLimit, decide, parse_rate_limit, rate_limit_subject

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEN_PER_MINUTE = RateLimit(limit=10, window_seconds=60)


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("10/minute", 10, 60),
        ("100/hour", 100, 3600),
        ("5/10seconds", 5, 10),
        ("1/second", 1, 1),
        ("7/day", 7, 86400),
        ("10 / Minutes", 10, 60),
        ("  3/2HOURS ", 3, 7200),
        ("2/1minute", 2, 60),
    ],
)
def test_parses_valid_rate_limits(text, limit, window):
    assert parse_rate_limit(text) == RateLimit(limit=limit, window_seconds=window)


@pytest.mark.parametrize(
    "text",
    ["", "10", "10/", "/minute", "ten/minute", "10/fortnight", "-1/minute", "1.5/minute",
     "10/minute/extra", "10 per minute", "10/secondss", "10/min"],
)  # fmt: skip
def test_unparseable_rate_limits_are_rejected(text):
    with pytest.raises(InvalidRateLimit, match="Cannot parse") as exc:
        parse_rate_limit(text)
    assert exc.value.code == "INVALID_RATE_LIMIT"


@pytest.mark.parametrize("text", ["0/minute", "5/0seconds", "00/hour"])
def test_limits_allowing_nothing_are_rejected(text):
    with pytest.raises(InvalidRateLimit, match="at least one request") as exc:
        parse_rate_limit(text)
    assert exc.value.code == "INVALID_RATE_LIMIT"


@pytest.mark.parametrize(
    ("rule", "noun", "text"),
    [
        (TEN_PER_MINUTE, "URLs", "Max 10 URLs per minute"),
        (RateLimit(100, 3600), "URLs", "Max 100 URLs per hour"),
        (RateLimit(1, 1), "requests", "Max 1 requests per second"),
        (RateLimit(5, 10), "requests", "Max 5 requests per 10 seconds"),
    ],
)
def test_describe(rule, noun, text):
    assert rule.describe(noun) == text


def test_describe_defaults_to_requests():
    assert parse_rate_limit("3/day").describe() == "Max 3 requests per day"


@pytest.mark.parametrize("count", [1, 5, 10])
def test_allowed_up_to_and_including_the_limit(count):
    decision = decide(TEN_PER_MINUTE, count, 30_000, NOW)
    assert decision.allowed is True
    assert decision.remaining == 10 - count
    assert decision.retry_after == 0
    assert decision.limit == 10


@pytest.mark.parametrize("window_left_ms", [1, 999, 1000, 1001, 30_500, 60_000])
def test_refused_past_the_limit_with_retry_after(window_left_ms):
    decision = decide(TEN_PER_MINUTE, 11, window_left_ms, NOW)
    assert decision.allowed is False
    assert decision.remaining == 0
    assert decision.retry_after >= 1
    assert decision.retry_after == decision.reset_in == math.ceil(window_left_ms / 1000)
    assert decision.reset_at == NOW + timedelta(milliseconds=window_left_ms)


def test_remaining_never_goes_negative():
    assert decide(TEN_PER_MINUTE, 500, 10_000, NOW).remaining == 0


@pytest.mark.parametrize("window_left_ms", [0, -1, -2])  # Redis PTTL: -1 no TTL, -2 no key
def test_refused_with_no_window_left_still_says_retry_after_one(window_left_ms):
    decision = decide(TEN_PER_MINUTE, 11, window_left_ms, NOW)
    assert decision.reset_in == 0
    assert decision.retry_after == 1
    assert decision.reset_at == NOW


def test_window_left_is_clamped_to_the_window():
    decision = decide(TEN_PER_MINUTE, 11, 3_600_000, NOW)
    assert decision.reset_in == 60
    assert decision.retry_after == 60
    assert decision.reset_at == NOW + timedelta(seconds=60)


def test_headers_when_allowed_have_no_retry_after():
    headers = decide(TEN_PER_MINUTE, 3, 12_300, NOW).headers()
    assert headers == {"RateLimit-Limit": "10", "RateLimit-Remaining": "7", "RateLimit-Reset": "13"}


def test_headers_when_refused_include_retry_after():
    headers = decide(TEN_PER_MINUTE, 11, 12_300, NOW).headers()
    assert headers == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "13",
        "Retry-After": "13",
    }


def test_a_key_is_limited_as_its_owner_and_anonymous_clients_by_network() -> None:
    """Issue 19, findings 1 and 5: keys an owner minted share its budget; an IPv6
    client is its /64, an IPv4-mapped one its IPv4 address."""
    assert rate_limit_subject("alice", "203.0.113.9") == rate_limit_subject("alice", "::1")
    assert rate_limit_subject("alice", "x") != rate_limit_subject("bob", "x")
    assert rate_limit_subject(None, "2001:db8:1:2::1") == rate_limit_subject(
        None, "2001:db8:1:2::ff"
    )
    assert rate_limit_subject(None, "2001:db8:1:3::1") != rate_limit_subject(
        None, "2001:db8:1:2::1"
    )
    assert rate_limit_subject(None, "::ffff:203.0.113.9") == rate_limit_subject(None, "203.0.113.9")
    assert rate_limit_subject(None, "203.0.113.9") != rate_limit_subject(None, "203.0.113.10")
    # An owner can't name itself into a client's bucket.
    assert rate_limit_subject("ip:203.0.113.9", "x") != rate_limit_subject(None, "203.0.113.9")
