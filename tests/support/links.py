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


class LinkStack(MakesLinks):
    """An API and the redirectors serving its links, to edit and look through."""

    redirectors: list[ServiceProcess]

    def edit(self, code: str, target: str) -> int:
        return httpx.patch(
            f"{self.api.base_url}/v1/urls/{code}",
            json={"original_url": target},
            headers=AUTH,
            timeout=10,
        ).status_code

    def served(self, code: str) -> list[str]:
        """Where each redirector sends ``code`` now."""
        return [
            httpx.get(f"{r.base_url}/{code}", timeout=10).headers.get("location", "")
            for r in self.redirectors
        ]

    def readyz(self, process: ServiceProcess) -> dict[str, object]:
        return dict(httpx.get(f"{process.ops_url}/readyz", timeout=5).json())
