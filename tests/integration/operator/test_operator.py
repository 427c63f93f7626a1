"""`shortlink operator` as a real process against a real kube-apiserver, PostgreSQL and
Redis, with the real redirector and API serving what it writes."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

import httpx
import pytest
import redis
from kubernetes.client.exceptions import ApiException

from tests.harness import PostgresServer, RedisServer, free_port
from tests.harness.shortlinks import Cluster, condition
from tests.integration.operator.conftest import OperatorFactory, Stack, role
from tests.support.waiting import wait_for

FINALIZER = "shortlink.io/finalizer"


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def sql(postgres: PostgresServer, stack: Stack, statement: str) -> str:
    return postgres.execute(statement, database=stack.database_url.rsplit("/", 1)[1])


def location(visitor: httpx.Client, code: str) -> str | None:
    found: str | None = visitor.get(f"/{code}").headers.get("location")
    return found


def reasons(cluster: Cluster, name: str) -> list[str]:
    return [reason for _, reason, _ in cluster.events(name)]


def test_apply_makes_links_ready_and_served(
    cluster: Cluster, start_operator: OperatorFactory, visitor: httpx.Client, stack: Stack
) -> None:
    operator = start_operator()
    code = unique("ok-")
    cluster.create("named", {"target": "https://example.com/named", "code": code})
    cluster.create("generated", {"target": "https://example.com/gen", "redirectType": 308})

    named = cluster.wait_ready("named")
    assert named["status"]["code"] == code
    assert named["status"]["shortUrl"] == f"{stack.base_url}/{code}"
    assert named["status"]["observedGeneration"] == 1
    synced = condition(named, "Synced")
    assert synced is not None and (synced["status"], synced["reason"]) == ("True", "Synced")
    response = visitor.get(f"/{code}")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/named"

    generated = cluster.wait_ready("generated")
    generated_code = generated["status"]["code"]
    assert re.fullmatch(r"[0-9A-Za-z]{7}", generated_code)
    assert visitor.get(f"/{generated_code}").status_code == 308

    # kopf's bookkeeping is kept (not pruned) in its own corner of the status.
    assert FINALIZER in named["metadata"]["finalizers"]
    assert "last-handled-configuration" in named["status"]["kopf"]
    assert set(named["status"]) == {"code", "shortUrl", "conditions", "observedGeneration", "kopf"}
    wait_for("a Created event", lambda: "Created" in reasons(cluster, "named"))

    metrics = httpx.get(f"{operator.base_url}/metrics").text
    assert 'shortlink_operator_reconciles_total{outcome="created"} 2.0' in metrics
    assert "shortlink_operator_links_managed 2.0" in metrics
    assert "shortlink_operator_reconcile_duration_seconds_count" in metrics


def test_update_changes_the_redirect(
    cluster: Cluster, start_operator: OperatorFactory, visitor: httpx.Client
) -> None:
    start_operator()
    code = unique("up-")
    cluster.create("link", {"target": "https://example.com/before", "code": code})
    cluster.wait_ready("link")
    assert location(visitor, code) == "https://example.com/before"  # now in the redirector's L1

    cluster.patch_spec("link", {"target": "https://example.com/after"})
    updated = cluster.wait_ready("link", generation=2)
    assert updated["status"]["observedGeneration"] == 2
    wait_for("the new target", lambda: location(visitor, code) == "https://example.com/after", 5)
    assert "Updated" in reasons(cluster, "link")

    cluster.patch_spec("link", {"active": False})
    inactive = cluster.wait_ready("link", generation=3)
    ready = condition(inactive, "Ready")
    assert ready is not None and ready["reason"] == "Inactive"
    wait_for("a 404", lambda: visitor.get(f"/{code}").status_code == 404, 5)


def test_delete_removes_the_link_then_the_finalizer(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    start_operator()
    code = unique("del-")
    cluster.create("doomed", {"target": "https://example.com/doomed", "code": code})
    cluster.wait_ready("doomed")
    assert visitor.get(f"/{code}").status_code == 302

    cluster.delete("doomed")
    wait_for("the object to go", lambda: cluster.get("doomed") is None)
    wait_for("a 404", lambda: visitor.get(f"/{code}").status_code == 404, 5)
    assert (
        sql(
            postgres_server,
            stack,
            f"SELECT deleted_at IS NOT NULL FROM links WHERE code = '{code}'",
        )
        == "t"
    )
    assert "Deleted" in reasons(cluster, "doomed")


def test_code_conflict_with_an_api_link_never_overwrites_it(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    api: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    start_operator()
    code = unique("api-")
    created = api.post(
        "/v1/urls", json={"original_url": "https://api.example/owned", "custom_alias": code}
    )
    assert created.status_code == 201, created.text

    cluster.create("thief", {"target": "https://example.com/mine", "code": code})
    obj = cluster.wait_condition("thief", "Ready", "False", "CodeConflict")
    synced = condition(obj, "Synced")
    assert synced is not None and (synced["status"], synced["reason"]) == ("False", "CodeConflict")
    assert "created through the API" in synced["message"]
    assert "code" not in obj["status"]
    assert location(visitor, code) == "https://api.example/owned"
    row = sql(postgres_server, stack, f"SELECT target, managed_by FROM links WHERE code = '{code}'")
    assert row == "https://api.example/owned|"

    # Permanent: no retries, so no hot loop of events.
    wait_for("a CodeConflict event", lambda: "CodeConflict" in reasons(cluster, "thief"))
    time.sleep(3)
    assert reasons(cluster, "thief").count("CodeConflict") == 1

    # And the API can't take a ShortLink's code either, nor touch its link.
    own = unique("cr-")
    cluster.create("owned", {"target": "https://example.com/owned", "code": own})
    cluster.wait_ready("owned")
    taken = api.post("/v1/urls", json={"original_url": "https://x.example", "custom_alias": own})
    assert taken.status_code == 409 and taken.json()["error"] == "ALIAS_TAKEN"
    assert api.delete(f"/v1/urls/{own}").status_code == 404
    assert location(visitor, own) == "https://example.com/owned"


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"target": "ftp://example.com"}, "spec.target"),
        ({"target": "https://example.com/a b"}, "spec.target"),
        ({"target": "https://example.com", "code": "ab"}, "spec.code"),
        ({"target": "https://example.com", "code": "a/b"}, "spec.code"),
        ({"target": "https://example.com", "redirectType": 303}, "spec.redirectType"),
        ({"target": "https://example.com", "expiresAt": "tomorrow"}, "spec.expiresAt"),
        ({"code": "missing-target"}, "spec.target"),
    ],
)
def test_schema_rejects_invalid_specs_at_apply(
    cluster: Cluster, spec: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ApiException) as rejected:
        cluster.create("invalid", spec)
    assert rejected.value.status == 422
    assert complaint in str(rejected.value.body)


def test_cel_keeps_the_code_immutable(cluster: Cluster) -> None:
    cluster.create("fixed", {"target": "https://example.com", "code": unique("cel-")})
    with pytest.raises(ApiException) as rejected:
        cluster.patch_spec("fixed", {"code": "another-code"})
    assert rejected.value.status == 422 and "immutable" in str(rejected.value.body)
    cluster.patch_spec("fixed", {"target": "https://example.com/other"})  # the rest may change

    # A generated code (status.code, written by the operator) may be spelled out in the
    # spec later, but no other code.
    cluster.create("generated", {"target": "https://example.com"})
    cluster.objects.patch_namespaced_custom_object_status(
        "shortlink.io",
        "v1alpha1",
        cluster.namespace,
        "shortlinks",
        "generated",
        {"status": {"code": "Gen1234"}},
    )
    with pytest.raises(ApiException) as rejected:
        cluster.patch_spec("generated", {"code": "Other12"})
    assert rejected.value.status == 422 and "status.code" in str(rejected.value.body)
    assert cluster.patch_spec("generated", {"code": "Gen1234"})["spec"]["code"] == "Gen1234"


def test_domain_rules_fail_permanently_until_the_spec_changes(
    cluster: Cluster, start_operator: OperatorFactory, visitor: httpx.Client, stack: Stack
) -> None:
    start_operator(SHORTLINK_BLOCKED_DOMAINS="malware.test")
    cluster.create("blocked", {"target": "https://cdn.malware.test/x"})
    cluster.create("own", {"target": f"{stack.base_url}/loop"})
    cluster.create("reserved", {"target": "https://example.com", "code": "healthz"})
    for name, words in (
        ("blocked", "is blocked"),
        ("own", "own domain"),
        ("reserved", "reserved"),
    ):
        obj = cluster.wait_condition(name, "Ready", "False", "InvalidSpec")
        ready = condition(obj, "Ready")
        assert ready is not None and words in ready["message"]
    time.sleep(3)
    assert reasons(cluster, "blocked").count("InvalidSpec") == 1  # no hot loop

    cluster.patch_spec("blocked", {"target": "https://example.com/fixed"})
    fixed = cluster.wait_ready("blocked", generation=2)
    assert location(visitor, fixed["status"]["code"]) == "https://example.com/fixed"


def test_drift_check_repairs_rows_and_cache_entries(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    start_operator(SHORTLINK_OPERATOR_DRIFT_INTERVAL="1")
    code = unique("drift-")
    target = "https://example.com/drift"
    cluster.create("drifty", {"target": target, "code": code})
    cluster.wait_ready("drifty")
    select = f"SELECT target, deleted_at IS NULL FROM links WHERE code = '{code}'"

    sql(postgres_server, stack, f"DELETE FROM links WHERE code = '{code}'")
    wait_for("the row back", lambda: sql(postgres_server, stack, select) == f"{target}|t", 20)

    sql(
        postgres_server,
        stack,
        f"UPDATE links SET target = 'https://evil.example' WHERE code = '{code}'",
    )
    wait_for("the row repaired", lambda: sql(postgres_server, stack, select) == f"{target}|t", 20)

    sql(postgres_server, stack, f"UPDATE links SET deleted_at = now() WHERE code = '{code}'")
    wait_for("the row undeleted", lambda: sql(postgres_server, stack, select) == f"{target}|t", 20)

    cache = redis.Redis.from_url(stack.redis_url)
    try:
        cache.set(f"short:{code}", b'["https://evil.example",302,null,null]')
        cache.publish("shortlink:invalidate", code)
        wait_for("the cache repaired", lambda: location(visitor, code) == target, 20)
        raw = cache.get(f"short:{code}")
        assert raw is not None and target.encode() in raw
    finally:
        cache.close()
    assert reasons(cluster, "drifty").count("Repaired") >= 4


def test_restart_resyncs_everything(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    first = start_operator("first", SHORTLINK_OPERATOR_DRIFT_INTERVAL="0")
    edited = unique("edit-")
    cluster.create("gone", {"target": "https://example.com/gone"})
    cluster.create("edited", {"target": "https://example.com/v1", "code": edited})
    generated = cluster.wait_ready("gone")["status"]["code"]
    cluster.wait_ready("edited")
    first.stop()

    # While no operator runs: a row vanishes, a spec changes.
    sql(postgres_server, stack, f"DELETE FROM links WHERE code = '{generated}'")
    cluster.patch_spec("edited", {"target": "https://example.com/v2"})

    start_operator("second", SHORTLINK_OPERATOR_DRIFT_INTERVAL="0")
    cluster.wait_ready("edited", generation=2)
    wait_for("the edit served", lambda: location(visitor, edited) == "https://example.com/v2", 10)
    wait_for(
        "the generated code back",
        lambda: (
            sql(postgres_server, stack, f"SELECT count(*) FROM links WHERE code = '{generated}'")
            == "1"
        ),
        20,
    )
    assert cluster.get("gone")["status"]["code"] == generated  # type: ignore[index]
    assert location(visitor, generated) == "https://example.com/gone"


def test_password_from_a_secret(
    cluster: Cluster, start_operator: OperatorFactory, visitor: httpx.Client, api: httpx.Client
) -> None:
    start_operator(SHORTLINK_OPERATOR_DRIFT_INTERVAL="1")
    code = unique("pw-")
    cluster.create(
        "locked",
        {"target": "https://example.com/secret", "code": code, "passwordSecretRef": {"name": "pw"}},
    )
    cluster.wait_condition("locked", "Synced", "False", "SecretNotFound")
    # A Secret that did not opt in is never read as a password (issue 13, finding 9).
    cluster.put_secret("pw", {"password": "first-pass"}, opted_in=False)
    refused = condition(
        cluster.wait_condition("locked", "Synced", "False", "SecretNotAllowed"), "Synced"
    )
    assert refused is not None and "shortlink.io/password" in refused["message"]
    assert visitor.get(f"/{code}").status_code == 404  # never served without its password
    cluster.put_secret("pw", {"password": "first-pass"})
    cluster.wait_ready("locked")

    blocked = visitor.get(f"/{code}")
    assert blocked.status_code == 403 and blocked.json()["error"] == "PASSWORD_REQUIRED"

    def unlock(password: str) -> httpx.Response:
        return api.post(f"/v1/urls/{code}/unlock", json={"password": password})

    first = unlock("first-pass")
    assert first.status_code == 200, first.text
    token = first.json()["unlock_token"]
    allowed = visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={token}"})
    assert allowed.status_code == 302
    assert allowed.headers["location"] == "https://example.com/secret"

    # A changed Secret is picked up by the drift check; old tokens stop working.
    cluster.put_secret("pw", {"password": "second-pass"})
    # (Guessing until it works would trip the unlock lockout: wait for the repair instead.)
    wait_for(
        "the Secret change picked up",
        lambda: any("password Secret changed" in m for _, _, m in cluster.events("locked")),
        20,
    )
    assert unlock("first-pass").status_code == 401
    assert unlock("second-pass").status_code == 200
    assert visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={token}"}).status_code == 403


def test_redis_outage_is_retried_with_the_reason_in_status(
    cluster: Cluster, start_operator: OperatorFactory, visitor: httpx.Client, tmp_path: Path
) -> None:
    port = free_port()
    start_operator(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    code = unique("outage-")
    cluster.create("patient", {"target": "https://example.com/patient", "code": code})
    obj = cluster.wait_condition("patient", "Synced", "False", "CacheUnavailable")
    ready = condition(obj, "Ready")
    assert ready is not None and ready["status"] == "False"
    assert "Redis" in ready["message"] and "retrying in" in ready["message"]
    # No backend error text for every tenant of the namespace to read (finding 9).
    synced = condition(obj, "Synced")
    for message in (ready["message"], synced["message"] if synced else ""):
        assert "Error" not in message and str(port) not in message, message
    assert all("Error" not in m and str(port) not in m for _, _, m in cluster.events("patient"))

    with RedisServer(tmp_path / "late-redis", port=port):
        cluster.wait_ready("patient", timeout=45)
    assert "CacheUnavailable" in reasons(cluster, "patient")
    assert location(visitor, code) == "https://example.com/patient"


def test_one_leader_at_a_time(
    cluster: Cluster, start_operator: OperatorFactory, visitor: httpx.Client
) -> None:
    first = start_operator("a")
    second = start_operator("b", leader=False)
    time.sleep(2)
    assert (role(first), role(second)) == ("leader", "standby")
    cluster.create("one", {"target": "https://example.com/one"})
    cluster.wait_ready("one")

    first.stop()  # releases the Lease on the way out
    wait_for("b to lead", lambda: role(second) == "leader", 15)
    cluster.create("two", {"target": "https://example.com/two"})
    code = cluster.wait_ready("two")["status"]["code"]
    assert location(visitor, code) == "https://example.com/two"


# -- codes are bound to the namespace's UID, not only to "namespace/name" (issue 13, 9) --


def namespace_uid(cluster: Cluster) -> str:
    metadata = cluster.core.read_namespace(cluster.namespace).metadata
    assert metadata is not None and metadata.uid
    return str(metadata.uid)


def managed_row(postgres: PostgresServer, stack: Stack, code: str) -> str:
    """target|deleted|managed_by|managed_uid|managed_namespace_uid of ``code``'s row."""
    return sql(
        postgres,
        stack,
        "SELECT target, deleted_at IS NOT NULL, managed_by, managed_uid, managed_namespace_uid"
        f" FROM links WHERE code = '{code}'",
    )


def put_managed_row(
    postgres: PostgresServer,
    stack: Stack,
    code: str,
    managed_by: str,
    namespace_uid: str | None,
    *,
    deleted: bool,
    target: str = "https://prior.example/",
) -> None:
    """A row as an earlier operator wrote it for ``managed_by``: in the namespace of UID
    ``namespace_uid`` (None: before migration 0006 recorded it)."""
    uid = "NULL" if namespace_uid is None else f"'{namespace_uid}'"
    sql(
        postgres,
        stack,
        "INSERT INTO links (code, target, is_custom_alias, redirect_type, is_active,"
        " managed_by, managed_uid, managed_namespace_uid, deleted_at) VALUES"
        f" ('{code}', '{target}', true, 302, true, '{managed_by}', 'earlier-shortlink-uid',"
        f" {uid}, {'now()' if deleted else 'NULL'})",
    )


def test_a_recreated_namespace_takes_over_none_of_its_predecessors_codes(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    """The namespace this test runs in stands for one re-created under the name of an
    earlier one (whose deletion this control plane, without a controller-manager, can't
    finish): the earlier namespace's rows carry its UID, which is not this one's."""
    start_operator()
    earlier = "0badc0de-0000-4000-8000-000000000000"
    assert namespace_uid(cluster) != earlier
    deleted, live, generated = unique("gone-"), unique("live-"), unique("gen")
    for code, name, is_deleted in (
        (deleted, "promo", True),  # its ShortLink deleted with the namespace
        (live, "left", False),  # its finalizer removed by hand: never deleted
        (generated, "gen", True),
    ):
        put_managed_row(
            postgres_server, stack, code, f"{cluster.namespace}/{name}", earlier, deleted=is_deleted
        )
    before = {
        code: managed_row(postgres_server, stack, code) for code in (deleted, live, generated)
    }

    cluster.create("promo", {"target": "https://example.com/mine", "code": deleted})
    cluster.create("left", {"target": "https://example.com/mine", "code": live})
    cluster.create("gen", {"target": "https://example.com/gen"})
    for name in ("promo", "left"):
        obj = cluster.wait_condition(name, "Ready", "False", "CodeConflict")
        assert "code" not in obj["status"]
        for message in [c["message"] for c in obj["status"]["conditions"]] + [
            m for _, reason, m in cluster.events(name) if reason == "CodeConflict"
        ]:
            assert "another ShortLink" in message, message
            assert cluster.namespace not in message and earlier not in message, message
    # Without spec.code: a fresh code (no conflict), the old one stays reserved.
    fresh = cluster.wait_ready("gen")["status"]["code"]
    assert fresh != generated
    assert location(visitor, fresh) == "https://example.com/gen"
    assert {code: managed_row(postgres_server, stack, code) for code in before} == before
    assert visitor.get(f"/{deleted}").status_code == 404
    assert location(visitor, live) == "https://prior.example/"

    # Deleting the namesakes leaves the earlier namespace's live row alone.
    cluster.delete("left")
    wait_for("left gone", lambda: cluster.get("left") is None)
    assert managed_row(postgres_server, stack, live) == before[live]


def test_rows_from_before_namespace_uids_are_adopted_by_their_namespace(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    legacy, kept = unique("leg"), unique("kept-")
    target = "https://example.com/legacy"
    put_managed_row(
        postgres_server, stack, legacy, f"{cluster.namespace}/legacy", None, deleted=True
    )
    put_managed_row(
        postgres_server,
        stack,
        kept,
        f"{cluster.namespace}/kept",
        None,
        deleted=False,
        target=target,
    )
    start_operator()
    uid = namespace_uid(cluster)

    # A deleted one is reclaimed by its ShortLink (no spec.code): bound from now on.
    cluster.create("legacy", {"target": target})
    reclaimed = cluster.wait_ready("legacy")
    assert reclaimed["status"]["code"] == legacy
    assert managed_row(postgres_server, stack, legacy).split("|") == [
        target,
        "f",
        f"{cluster.namespace}/legacy",
        reclaimed["metadata"]["uid"],
        uid,
    ]
    assert location(visitor, legacy) == target
    # A live one that already matches the spec: its UID recorded, nothing else changed.
    cluster.create("kept", {"target": target, "code": kept})
    cluster.wait_ready("kept")
    row = managed_row(postgres_server, stack, kept).split("|")
    assert (row[0], row[1], row[4]) == (target, "f", uid)
    assert location(visitor, kept) == target


def test_delete_and_reapply_in_the_same_namespace_keeps_the_code(
    cluster: Cluster,
    start_operator: OperatorFactory,
    visitor: httpx.Client,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    start_operator()
    uid = namespace_uid(cluster)
    cluster.create("again", {"target": "https://example.com/v1"})
    code = cluster.wait_ready("again")["status"]["code"]
    assert managed_row(postgres_server, stack, code).endswith(f"|{uid}")
    cluster.delete("again")
    wait_for("again gone", lambda: cluster.get("again") is None)
    assert managed_row(postgres_server, stack, code).split("|")[1] == "t"

    cluster.create("again", {"target": "https://example.com/v2"})
    assert cluster.wait_ready("again")["status"]["code"] == code
    wait_for("the new target", lambda: location(visitor, code) == "https://example.com/v2", 5)
    row = managed_row(postgres_server, stack, code).split("|")
    assert (row[1], row[4]) == ("f", uid)
