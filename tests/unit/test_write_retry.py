"""Flow 8's retry: the backoff schedule, and a write retried across a failover (fake time)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shortlink.adapters.database import Database, DatabaseUrl, NoPrimaryAvailable
from shortlink.domain.errors import DatabaseUnavailable, InvalidUrl
from shortlink.domain.retries import backoff_delays
from shortlink.services.write_retry import WriteRetry


def test_three_doubling_pauses_span_the_window() -> None:
    delays = backoff_delays(14.0)
    assert delays == pytest.approx((2.0, 4.0, 8.0))
    assert sum(backoff_delays(15.0)) == pytest.approx(15.0)
    assert backoff_delays(15.0, retries=1) == pytest.approx((15.0,))
    assert backoff_delays(6.0, factor=1.0) == pytest.approx((2.0, 2.0, 2.0))
    assert backoff_delays(0.0) == ()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []
        self.resets = 0

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    async def reset(self) -> None:
        self.resets += 1


class FlakyWrite:
    """Fails its first `times` calls with `error`, then returns "row"; records when."""

    def __init__(self, times: int, error: Exception, clock: FakeTime) -> None:
        self.times, self.error, self.clock = times, error, clock
        self.calls: list[float] = []

    async def __call__(self) -> str:
        self.calls.append(self.clock.now)
        if len(self.calls) <= self.times:
            raise self.error
        return "row"


async def test_a_write_that_hits_the_crash_succeeds_on_a_retry() -> None:
    clock = FakeTime()
    retry = WriteRetry(clock.reset, 14.0, sleep=clock.sleep)
    write = FlakyWrite(2, ConnectionResetError("primary gone"), clock)
    assert await retry(write) == "row"
    assert write.calls == [0.0, 2.0, 6.0]
    assert clock.resets == 2  # the pool dropped its connections after each failure


async def test_after_the_window_the_answer_is_database_unavailable() -> None:
    clock = FakeTime()
    retry = WriteRetry(clock.reset, 14.0, sleep=clock.sleep)
    write = FlakyWrite(10, asyncpg.ReadOnlySQLTransactionError("standby"), clock)
    with pytest.raises(DatabaseUnavailable) as raised:
        await retry(write)
    assert write.calls == [0.0, 2.0, 6.0, 14.0]  # 1 + 3 retries
    assert raised.value.details["retry_after"] >= 1


async def test_errors_that_are_not_outages_are_not_retried() -> None:
    clock = FakeTime()
    retry = WriteRetry(clock.reset, 14.0, sleep=clock.sleep)
    write = FlakyWrite(1, InvalidUrl("bad"), clock)
    with pytest.raises(InvalidUrl):
        await retry(write)
    assert write.calls == [0.0] and clock.resets == 0


async def test_a_hung_try_is_cut_off_and_retried() -> None:
    clock = FakeTime()
    retry = WriteRetry(clock.reset, 1.0, retries=1, attempt_timeout=0.05, sleep=clock.sleep)
    tries = 0

    async def write() -> str:
        nonlocal tries
        tries += 1
        if tries == 1:
            await asyncio.sleep(10)  # a frozen primary
        return "row"

    assert await retry(write) == "row"
    assert tries == 2 and clock.pauses == [1.0]


class Primary:
    """A writable primary that is back from `back_at` (fake time); counts the asks."""

    def __init__(self, clock: FakeTime, back_at: float) -> None:
        self.clock, self.back_at, self.asked = clock, back_at, 0

    async def ready(self) -> bool:
        self.asked += 1
        return self.clock.now >= self.back_at


def polling_retry(clock: FakeTime, primary: Primary) -> WriteRetry:
    return WriteRetry(
        clock.reset,
        14.0,
        ready=primary.ready,
        poll=0.5,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )


async def test_a_retry_starts_as_soon_as_the_primary_is_back_not_at_the_pause_end() -> None:
    clock = FakeTime()
    primary = Primary(clock, back_at=5.0)  # promoted during the second pause (2 s to 6 s)
    write = FlakyWrite(2, ConnectionResetError("primary gone"), clock)
    assert await polling_retry(clock, primary)(write) == "row"
    assert write.calls == [0.0, 2.0, 5.0]  # not 6.0: the pause ended when it was back
    assert set(clock.pauses) == {0.5}


async def test_with_no_primary_back_the_pauses_and_the_503_stay_as_they_were() -> None:
    clock = FakeTime()
    primary = Primary(clock, back_at=1e9)
    write = FlakyWrite(10, ConnectionResetError("primary gone"), clock)
    with pytest.raises(DatabaseUnavailable):
        await polling_retry(clock, primary)(write)
    assert write.calls == [0.0, 2.0, 6.0, 14.0]
    assert primary.asked == 3 + 7 + 15  # every half second but at each pause's end


class FakePool:
    """Stands in for asyncpg's pool: acquiring fails until `up`; counts acquires."""

    def __init__(self) -> None:
        self.up = False
        self.acquires = 0

    def acquire(self) -> FakePool:
        self.acquires += 1
        return self

    async def __aenter__(self) -> None:
        await asyncio.sleep(0.01)  # a connect takes a moment: callers overlap
        if not self.up:
            raise NoPrimaryAvailable("no writable PostgreSQL primary")

    async def __aexit__(self, *exc: object) -> None:
        pass


async def test_concurrent_askers_share_one_probe_of_the_primary() -> None:
    pool = FakePool()
    database = Database(pool)  # type: ignore[arg-type]
    assert await asyncio.gather(*(database.writable() for _ in range(8))) == [False] * 8
    assert pool.acquires == 1
    pool.up = True
    assert await database.writable() is True
    assert pool.acquires == 2


def test_database_url_with_several_hosts() -> None:
    url = DatabaseUrl.parse(
        "postgresql://u:p%40ss@db-0:5433,db-1,[::1]:5434/links?target_session_attrs=read-write&sslmode=disable"
    )
    assert url.hosts == (("db-0", 5433), ("db-1", 5432), ("::1", 5434))
    assert url.writable_only
    assert url.dsn_for("db-1", 5432) == "postgresql://u:p%40ss@db-1:5432/links?sslmode=disable"
    assert url.dsn_for("::1", 5434).startswith("postgresql://u:p%40ss@[::1]:5434/links")


def test_one_host_is_taken_as_it_is_several_want_the_primary() -> None:
    assert not DatabaseUrl.parse("postgresql://u@h/db").writable_only
    assert DatabaseUrl.parse("postgresql://u@h1,h2/db").writable_only
    assert not DatabaseUrl.parse("postgresql://u@h1,h2/db?target_session_attrs=any").writable_only


def test_a_socket_url_is_connected_as_given() -> None:
    # `shortlink dev` hands out a Unix-socket URL: no TCP host to choose between.
    given = "postgresql://shortlink@/shortlink?host=/tmp/dev/postgres"
    url = DatabaseUrl.parse(given)
    assert url.hosts == ()
    assert url.given == given
