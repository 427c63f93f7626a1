"""The system with single sign-on: the harness's real OpenID provider and the API
and redirector processes configured for it, for end-to-end tests of people."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.oidc import CLIENT_ID, OidcProvider
from tests.harness.ports import free_port
from tests.harness.stack import start_stack


@contextmanager
def sso_system(
    postgres: PostgresServer,
    redis: RedisServer,
    base_dir: Path,
    accounts: dict[str, dict[str, Any]],
    **env: str,
) -> Iterator[tuple[ServiceProcess, OidcProvider]]:
    """The provider with ``accounts`` and the API it signs people in to (its callback
    registered there); ``env`` adds to the API's settings. Stopped on exit."""
    api_port = free_port()
    callback = f"http://127.0.0.1:{api_port}/v1/oidc/callback"
    (base_dir / "provider").mkdir(parents=True)
    (base_dir / "logs").mkdir()
    with OidcProvider(base_dir / "provider", callback, accounts) as provider:
        api, redirector, _ = start_stack(
            postgres, redis, base_dir / "logs",
            api_port=api_port,
            SHORTLINK_OIDC_ISSUER=provider.issuer,
            SHORTLINK_OIDC_CLIENT_ID=CLIENT_ID,
            SHORTLINK_OIDC_REDIRECT_URI=callback,
            **env,
        )  # fmt: skip
        try:
            yield api, provider
        finally:
            redirector.stop()
            api.stop()
