"""Issue 19, finding 4: whoever can write to Redis must not become a signed-in user.
A session record is useless without the server's secret: forged, copied to another
id or edited, it signs no one in."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from redis import Redis

from tests.e2e.conftest import ApiClient
from tests.harness import RedisServer
from tests.harness.stack import API_KEY


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


def _browser(api: ApiClient, session_id: str | None = None) -> httpx.Client:
    origin = str(api.http.base_url).rstrip("/")
    cookies = {"shortlink_session": session_id} if session_id else None
    return httpx.Client(base_url=origin, timeout=10, cookies=cookies,
                        headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})  # fmt: skip


def _record_key(session_id: str) -> str:
    return "session:" + hashlib.sha256(session_id.encode()).hexdigest()


def _sign_in(api: ApiClient, key: str) -> tuple[str, str]:
    with _browser(api) as browser:
        signed_in = browser.post("/v1/sessions", json={"api_key": key})
        assert signed_in.status_code == 201
        return browser.cookies["shortlink_session"], signed_in.json()["csrf_token"]


def _mints_an_admin_key(api: ApiClient, session_id: str, csrf: str) -> int:
    with _browser(api, session_id) as browser:
        return browser.post(
            "/v1/api-keys",
            json={"name": "stolen", "owner": "mallory", "is_admin": True},
            headers={"X-CSRF-Token": csrf},
        ).status_code


def test_a_session_record_written_into_redis_signs_no_one_in(api: ApiClient, redis: Redis) -> None:
    forged = {
        "key_hash": hashlib.sha256(API_KEY.encode()).hexdigest(),  # from an admin's record
        "csrf": "c" * 43,
        "expires_at": time.time() + 3600,
    }
    redis.set(_record_key("chosen-by-mallory"), orjson.dumps(forged), ex=3600)
    assert _mints_an_admin_key(api, "chosen-by-mallory", "c" * 43) == 401
    with _browser(api, "chosen-by-mallory") as browser:
        assert browser.get("/v1/sessions").status_code == 401


def test_an_admin_record_copied_to_another_id_signs_no_one_in(api: ApiClient, redis: Redis) -> None:
    admin_session, csrf = _sign_in(api, API_KEY)
    record = redis.get(_record_key(admin_session))
    assert record is not None
    redis.set(_record_key("copied-by-mallory"), record, ex=3600)
    assert _mints_an_admin_key(api, "copied-by-mallory", csrf) == 401
    with _browser(api, admin_session) as browser:  # the real one still works
        assert browser.get("/v1/sessions").status_code == 200


def test_an_edited_record_ends_its_session(api: ApiClient, redis: Redis) -> None:
    minted = api.call("POST", "/v1/api-keys", json={"name": "m", "owner": "tenant-s"})
    session_id, _ = _sign_in(api, minted.json()["key"])
    record = orjson.loads(redis.get(_record_key(session_id)) or b"{}")
    record["key_hash"] = hashlib.sha256(API_KEY.encode()).hexdigest()
    redis.set(_record_key(session_id), orjson.dumps(record), ex=3600)
    with _browser(api, session_id) as browser:
        assert browser.get("/v1/sessions").status_code == 401


@pytest.mark.parametrize("garbage", [b"not json", b"[]", b'{"key_hash": 5}', b"{}"])
def test_a_malformed_record_is_no_session_and_no_error(
    api: ApiClient, redis: Redis, garbage: bytes
) -> None:
    redis.set(_record_key("garbage-id"), garbage, ex=60)
    with _browser(api, "garbage-id") as browser:
        assert browser.get("/v1/sessions").status_code == 401
