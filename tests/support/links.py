"""Creating links through a running API process, for end-to-end tests that break things."""

from __future__ import annotations

import httpx

from tests.harness import ServiceProcess
from tests.harness.stack import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}


class MakesLinks:
    """For a test's stack object holding its API process as ``api``."""

    api: ServiceProcess

    def create(self, target: str) -> httpx.Response:
        return httpx.post(
            f"{self.api.base_url}/v1/urls", json={"original_url": target}, headers=AUTH, timeout=10
        )

    def new_link(self, target: str) -> str:
        created = self.create(target)
        assert created.status_code == 201, created.text
        return str(created.json()["short_code"])
