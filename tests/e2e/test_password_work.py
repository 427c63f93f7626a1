"""Issue 19, finding 1 over HTTP: a burst of password creates is bounded (503 with
Retry-After once bcrypt's queue is full) and a public unlock is answered meanwhile,
not after the burst."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import ApiClient
from tests.harness.stack import API_KEY


def test_password_creates_are_bounded_and_never_hold_an_unlock(api: ApiClient) -> None:
    code = api.call(
        "POST", "/v1/urls", json={"original_url": "https://example.com/u1", "password": "right"}
    ).json()["short_code"]
    bulk = {
        "urls": [
            {"original_url": f"https://example.com/b{n}", "password": "pw"} for n in range(100)
        ]
    }
    headers = {"Authorization": f"Bearer {API_KEY}"}
    base = str(api.http.base_url).rstrip("/")

    def create_bulk() -> tuple[httpx.Response, float]:
        response = httpx.post(f"{base}/v1/urls/bulk", json=bulk, headers=headers, timeout=120)
        return response, time.monotonic()

    with ThreadPoolExecutor(4) as pool:
        bulks = [pool.submit(create_bulk) for _ in range(3)]
        time.sleep(0.5)  # the bulks are queued for bcrypt
        unlock = httpx.post(
            f"{base}/v1/urls/{code}/unlock", json={"password": "wrong"}, timeout=120
        )
        unlocked_at = time.monotonic()
        answers = [future.result() for future in bulks]

    assert unlock.status_code == 401
    statuses = sorted(response.status_code for response, _ in answers)
    assert statuses == [201, 201, 503], statuses
    [busy] = [response for response, _ in answers if response.status_code == 503]
    assert busy.json()["error"] == "PASSWORD_HASHING_BUSY"
    assert int(busy.headers["retry-after"]) >= 1
    created_at = [at for response, at in answers if response.status_code == 201]
    assert unlocked_at < min(created_at), "the unlock waited for the queued creates"
