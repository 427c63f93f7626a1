from types import SimpleNamespace

import pytest

from shortlink.adapters import local_cache
from shortlink.adapters.local_cache import LocalCache
from shortlink.domain.links import MISS, Destination

DEST = Destination("https://example.com/", 302, None, None)
OTHER = Destination("https://other.com/", 301, 1.0, "fp")


@pytest.fixture
def clock(monkeypatch):
    fake = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(local_cache, "time", SimpleNamespace(monotonic=lambda: fake.now))
    return fake


def _enabled(max_size=10, ttl=30.0):
    cache = LocalCache(max_size=max_size, ttl_seconds=ttl)
    cache.reset(enabled=True)
    return cache


def test_new_cache_is_disabled_and_empty():
    cache = LocalCache(max_size=10, ttl_seconds=30)
    assert cache.enabled is False
    assert cache.get("abc") is MISS
    assert len(cache) == 0


def test_put_is_ignored_while_disabled():
    cache = LocalCache(max_size=10, ttl_seconds=30)
    cache.put("abc", DEST, cache.generation)
    assert cache.get("abc") is MISS
    assert len(cache) == 0


def test_put_then_get_returns_the_destination():
    cache = _enabled()
    cache.put("abc", DEST, cache.generation)
    assert cache.get("abc") == DEST
    assert cache.get("other") is MISS


def test_negative_entry_is_none_not_miss():
    cache = _enabled()
    cache.put("gone", None, cache.generation)
    assert cache.get("gone") is None
    assert cache.get("never") is MISS


def test_put_is_discarded_when_an_invalidation_happened_since_the_read():
    cache = _enabled()
    generation = cache.generation
    cache.invalidate(["unrelated"])  # a write landed while we were reading
    cache.put("abc", DEST, generation)
    assert cache.get("abc") is MISS
    cache.put("abc", DEST, cache.generation)
    assert cache.get("abc") == DEST


def test_invalidate_removes_only_the_given_codes():
    cache = _enabled()
    for code in ("a", "b", "c"):
        cache.put(code, DEST, cache.generation)
    before = cache.generation
    cache.invalidate(["a", "c", "not-cached"])
    assert cache.generation == before + 1
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (MISS, DEST, MISS)


def test_reset_clears_and_toggles_enabled():
    cache = _enabled()
    cache.put("abc", DEST, cache.generation)
    generation = cache.generation
    cache.reset(enabled=False)
    assert cache.enabled is False
    assert len(cache) == 0
    assert cache.generation == generation + 1
    cache.reset(enabled=True)
    assert cache.enabled is True
    cache.put("abc", DEST, generation)  # a fill begun before the resets is stale
    assert cache.get("abc") is MISS


def test_fifo_eviction_at_max_size():
    cache = _enabled(max_size=2)
    cache.put("a", DEST, cache.generation)
    cache.put("b", OTHER, cache.generation)
    cache.put("c", None, cache.generation)
    assert len(cache) == 2
    assert cache.get("a") is MISS
    assert cache.get("b") == OTHER
    assert cache.get("c") is None


def test_zero_size_cache_stores_nothing():
    cache = _enabled(max_size=0)
    cache.put("a", DEST, cache.generation)
    assert cache.get("a") is MISS
    assert len(cache) == 0


def test_refreshing_an_existing_entry_in_a_full_cache_keeps_the_others():
    cache = _enabled(max_size=2)
    cache.put("a", DEST, cache.generation)
    cache.put("b", DEST, cache.generation)
    cache.put("b", OTHER, cache.generation)
    assert cache.get("a") == DEST
    assert cache.get("b") == OTHER


def test_entries_expire_after_ttl(clock):
    cache = _enabled(ttl=30.0)
    cache.put("abc", DEST, cache.generation)
    clock.now += 30.0
    assert cache.get("abc") == DEST  # still valid at exactly the deadline
    clock.now += 0.001
    assert cache.get("abc") is MISS
    assert len(cache) == 0  # the expired entry is dropped, not just hidden


def test_negative_entries_expire_too(clock):
    cache = _enabled(ttl=1.0)
    cache.put("gone", None, cache.generation)
    clock.now += 2
    assert cache.get("gone") is MISS
