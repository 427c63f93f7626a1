"""Signing in with Redis unreachable (nothing listens on its port): a 503
SESSIONS_UNAVAILABLE with Retry-After for the client, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
import pytest

from shortlink.adapters.redis_connection import RedisClient, redis_client
from shortlink.adapters.redis_sessions import login_attempt_store, session_store
from shortlink.adapters.workspaces import WorkspaceRepository
from shortlink.domain.errors import SessionsUnavailable
from shortlink.domain.sessions import sealing_key
from shortlink.services.login_attempts import LoginAttempts
from shortlink.services.sessions import SessionService
from tests.harness.ports import free_port

KEY = sealing_key("k" * 32)


@pytest.fixture
async def unreachable() -> AsyncIterator[RedisClient]:
    client = redis_client(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    yield client
    await client.aclose()


async def test_sign_ins_under_way_need_redis(unreachable: RedisClient) -> None:
    attempts = LoginAttempts(login_attempt_store(unreachable), KEY, 60)
    with pytest.raises(SessionsUnavailable):
        await attempts.begin()
    with pytest.raises(SessionsUnavailable):
        await attempts.take("some-state")


async def test_sessions_need_redis(unreachable: RedisClient, database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await pool.execute("INSERT INTO workspaces (slug, name) VALUES ('team-a', 'A')")
        await pool.execute(
            "INSERT INTO workspace_members (workspace, subject, role) "
            "VALUES ('team-a', 'a@example.com', 'editor')"
        )
        sessions = SessionService(  # no API key is involved: no key service
            session_store(unreachable), cast(Any, None), WorkspaceRepository(pool), 60, KEY
        )
        with pytest.raises(SessionsUnavailable):
            await sessions.sign_in_person("a@example.com", {})
        with pytest.raises(SessionsUnavailable):
            await sessions.resolve("some-session")
        with pytest.raises(SessionsUnavailable):
            await sessions.sign_out("some-session")
    finally:
        await pool.close()
