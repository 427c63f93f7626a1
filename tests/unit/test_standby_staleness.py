"""Issue 24: how stale a standby's answer is, from the primary's WAL positions (pure)."""

from __future__ import annotations

import math

import pytest

from shortlink.config import ConfigError, Settings
from shortlink.domain.standby_staleness import WalSamples


def test_a_standby_is_as_fresh_as_the_newest_primary_position_it_has_replayed() -> None:
    samples = WalSamples(keep=10.0)
    for at, lsn in [(0.0, 100), (1.0, 200), (2.0, 300)]:
        samples.add(at, lsn)
    assert samples.staleness(300, now=2.5) == 0.5
    assert samples.staleness(250, now=2.5) == 1.5  # has 200 (asked at 1.0), not 300
    assert samples.staleness(100, now=2.5) == 2.5


def test_a_standby_behind_every_sample_kept_is_stale_beyond_any_bound() -> None:
    samples = WalSamples(keep=1.0)
    for at, lsn in [(0.0, 100), (1.0, 200), (2.0, 300)]:
        samples.add(at, lsn)
    assert samples.staleness(100, now=2.5) == math.inf  # the 0.0 sample aged out
    assert samples.staleness(None, now=2.5) == 0.0  # no replay position: it is a primary


def test_without_samples_nothing_can_be_vouched_for() -> None:
    assert WalSamples(keep=5.0).staleness(10**9, now=1.0) == math.inf


def test_old_samples_are_dropped_but_the_newest_is_kept() -> None:
    samples = WalSamples(keep=1.0)
    for at in range(100):
        samples.add(float(at), at)
    assert len(samples) <= 3
    assert samples.staleness(99, now=150.0) == 51.0


def test_the_bound_stays_below_the_cache_fence() -> None:
    assert Settings.from_env({}).read_max_lag == 5.0
    with pytest.raises(ConfigError, match="SHORTLINK_READ_MAX_LAG must be at most 10"):
        Settings.from_env({"SHORTLINK_READ_MAX_LAG": "12"})
