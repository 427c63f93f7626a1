"""SHORTLINK_WORKERS > 1: Sanic spawns worker processes that rebuild the app from its loader."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer
from tests.harness.stack import API_KEY, start_stack


def test_components_serve_with_several_workers(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path_factory.mktemp("workers-logs"),
        SHORTLINK_WORKERS="2",
        REDIS_URL=redis_server.url.removesuffix("/0") + "/2",
    )
    try:
        created = httpx.post(
            f"{api.base_url}/v1/urls",
            json={"original_url": "https://example.com/workers"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert created.status_code == 201
        code = created.json()["short_code"]
        # Fresh connections, so requests spread over both workers.
        statuses = {httpx.get(f"{redirector.base_url}/{code}").status_code for _ in range(20)}
        assert statuses == {302}
    finally:
        redirector.stop()
        api.stop()
