"""The Redis adapters' errors reach services as RedisFailure, cause attached."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError, ResponseError

from shortlink.adapters.redis_failures import RedisFailure, translated


@translated
async def fails(error: Exception) -> int:
    raise error


@translated
async def answers(value: int) -> int:
    return value


@pytest.mark.parametrize("error", [ConnectionError("refused"), ResponseError("NOSCRIPT")])
async def test_redis_errors_become_redis_failures(error: Exception) -> None:
    with pytest.raises(RedisFailure) as caught:
        await fails(error)
    assert caught.value.__cause__ is error


async def test_other_errors_and_answers_pass_through() -> None:
    with pytest.raises(OSError):
        await fails(OSError("socket"))  # the callers' own (RedisFailure, OSError) catch it
    assert await answers(7) == 7
