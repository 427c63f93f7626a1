"""Services wired to the harness's real PostgreSQL and Redis, fresh per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shortlink.config import Settings
from shortlink.services.bulk_links import BulkLinkService
from shortlink.services.links import LinkService
from shortlink.services.unlocks import UnlockService
from shortlink.wiring import Backends, link_service, open_backends, unlock_service

SECRET = "integration-test-secret-key-0123456789"


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SHORTLINK_SECRET_KEY": SECRET,
            "SHORTLINK_BASE_URL": "https://sho.rt",
            "SHORTLINK_BLOCKED_DOMAINS": "malware.test",
        }
    )


@pytest.fixture
async def backends(settings: Settings) -> AsyncIterator[Backends]:
    opened = await open_backends(settings)
    yield opened
    await opened.close()


@pytest.fixture
def links(backends: Backends, settings: Settings) -> LinkService:
    return link_service(backends, settings)


@pytest.fixture
def bulk_links(links: LinkService) -> BulkLinkService:
    return BulkLinkService(links)


@pytest.fixture
def unlocks(backends: Backends, settings: Settings) -> UnlockService:
    return unlock_service(backends, settings)
