"""Real `shortlink api` and `shortlink redirector` processes on the harness's backends.

Every API call made through ``ApiClient`` is checked against the OpenAPI document
the server itself serves: a response the spec doesn't describe fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import API_KEY, start_stack


class ApiClient:
    def __init__(self, base_url: str, spec: dict[str, Any]) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.spec = spec

    def call(
        self, method: str, template: str, key: str | None = API_KEY, **kwargs: Any
    ) -> httpx.Response:
        """``template`` is the spec's path, e.g. /v1/urls/{code}; ``path`` kwargs fill it."""
        path = template.format(**kwargs.pop("path", {}))
        headers = kwargs.pop("headers", {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        response = self.http.request(method, path, headers=headers, **kwargs)
        self.check(method, template, response)
        return response

    def check(self, method: str, template: str, response: httpx.Response) -> None:
        operation = self.spec["paths"][template][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {template}: {status} not in spec"
        content = operation["responses"][status].get("content", {}).get("application/json", {})
        if "schema" in content:
            schema = {**content["schema"], "components": self.spec["components"]}
            errors = list(Draft202012Validator(schema).iter_errors(response.json()))
            assert not errors, f"{method} {template} {status}: {errors[0].message}"


@pytest.fixture(scope="module")
def stack(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess, str]]:
    api, redirector, database_url = start_stack(
        postgres_server, redis_server, tmp_path_factory.mktemp("e2e-logs")
    )
    yield api, redirector, database_url
    redirector.stop()
    api.stop()


@pytest.fixture(scope="module")
def api(stack: tuple[ServiceProcess, ServiceProcess, str]) -> ApiClient:
    spec = httpx.get(f"{stack[0].base_url}/v1/openapi.json").json()
    validate_spec(spec)
    return ApiClient(stack[0].base_url, spec)


@pytest.fixture(scope="module")
def visitor(stack: tuple[ServiceProcess, ServiceProcess, str]) -> Iterator[httpx.Client]:
    """A public client of the redirector that does not follow redirects."""
    with httpx.Client(base_url=stack[1].base_url, timeout=10) as client:
        yield client
