# ruff: noqa: E501  (cases read best one a line)
"""The operator's pure decisions: spec validation, codes, ownership, status, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shortlink.domain.links import MISS, Destination, Link, ManagedRow, NewLink, short_url
from shortlink.domain.urls import UrlPolicy
from shortlink.operator.conditions import Condition, render_conditions, status_changes
from shortlink.operator.links.reconcile import (
    Desired,
    ImmutableCode,
    InvalidSpec,
    SecretRef,
    blocked,
    cache_is_current,
    choose_code,
    conflict_message,
    desired_link,
    owns,
    password_digest,
    plan_write,
    ready,
    retry_delay,
    retrying,
)

POLICY = UrlPolicy.build(["malware.test"], ["sho.rt"])
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_link(**changes: Any) -> Link:
    fields: dict[str, Any] = {
        "code": "promo",
        "target": "https://example.com/",
        "owner": None,
        "is_custom_alias": True,
        "password_hash": None,
        "expires_at": None,
        "redirect_type": 302,
        "is_active": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return Link(**fields)


NS_UID = "11111111-aaaa"  # the namespace "ns" as it is now
EARLIER_NS_UID = "00000000-ffff"  # an earlier namespace called "ns", deleted since


def row(
    managed_by: str | None = "ns/a",
    deleted: bool = False,
    namespace_uid: str | None = NS_UID,
    **changes: Any,
) -> ManagedRow:
    return ManagedRow(make_link(**changes), managed_by, deleted, namespace_uid)


WANTED = NewLink(target="https://example.com/", owner=None, code="promo")


# -- spec -------------------------------------------------------------------------------


def test_minimal_spec_gets_the_api_defaults() -> None:
    desired = desired_link({"target": "https://example.com/"}, POLICY)
    assert desired == Desired(
        code=None,
        target="https://example.com/",
        expires_at=None,
        redirect_type=302,
        active=True,
        password_ref=None,
    )


def test_full_spec() -> None:
    desired = desired_link(
        {
            "code": "promo-2030",
            "target": "https://例え.jp/パス",
            "expiresAt": "2031-01-01T00:00:00Z",
            "redirectType": 308,
            "active": False,
            "passwordSecretRef": {"name": "pw"},
        },
        POLICY,
    )
    assert desired.code == "promo-2030"
    assert desired.target.startswith("https://xn--")  # the same IDNA/percent form as the API
    assert desired.expires_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert (desired.redirect_type, desired.active) == (308, False)
    assert desired.password_ref == SecretRef("pw", "password")


def test_past_expiry_is_accepted_a_declared_link_may_have_expired() -> None:
    desired = desired_link({"target": "https://e.com", "expiresAt": "2001-01-01T00:00:00Z"}, POLICY)
    assert desired.expires_at == datetime(2001, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "spec.target: is required"),
        ({"target": "ftp://e.com"}, "spec.target: Only http and https"),
        ({"target": "https://cdn.malware.test/x"}, "spec.target: The domain"),
        ({"target": "https://sho.rt/abc"}, "spec.target: URLs on this shortener's own domain"),
        ({"target": "https://bank.com@evil.example/"}, "spec.target: URLs with embedded"),
        ({"target": "https://e.com", "code": "ab"}, "spec.code: Alias must be 3-20"),
        ({"target": "https://e.com", "code": "a/b"}, "spec.code: Alias may contain only"),
        ({"target": "https://e.com", "code": "healthz"}, "spec.code: Alias 'healthz' is reserved"),
        ({"target": "https://e.com", "code": 12345}, "spec.code: must be a string"),
        ({"target": "https://e.com", "redirectType": 303}, "spec.redirectType: redirect_type"),
        ({"target": "https://e.com", "redirectType": True}, "spec.redirectType"),
        ({"target": "https://e.com", "expiresAt": "soon"}, "spec.expiresAt: expires_at must be"),
        ({"target": "https://e.com", "active": "yes"}, "spec.active: must be true or false"),
        ({"target": "https://e.com", "passwordSecretRef": {}}, "spec.passwordSecretRef.name"),
        (
            {"target": "https://e.com", "passwordSecretRef": {"name": "pw", "key": ""}},
            "spec.passwordSecretRef.key",
        ),
        ({"target": "https://e.com", "passwordSecretRef": "pw"}, "spec.passwordSecretRef: must"),
    ],
)
def test_invalid_specs_name_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSpec) as raised:
        desired_link(spec, POLICY)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    "target",
    ["https://malware.test\u3002/x", "https://sho\uff0ert./abc1234", "https://MALWARE.test./"],
)
def test_blocked_and_own_hosts_hold_against_unicode_and_trailing_dots(target: str) -> None:
    with pytest.raises(InvalidSpec, match=r"^spec\.target: "):
        desired_link({"target": target}, POLICY)


def test_new_link_carries_the_hash_and_its_namespaces_workspace() -> None:
    desired = desired_link({"target": "https://e.com", "code": "promo"}, POLICY)
    new = desired.new_link("$2b$10$hash", None)
    assert (new.owner, new.code, new.password_hash) == (None, "promo", "$2b$10$hash")
    assert desired.new_link(None, "team-a").owner == "team-a"


# -- codes and ownership -------------------------------------------------------------


def test_spec_code_wins_and_revives_its_own_deleted_code() -> None:
    assert choose_code("promo", None) == "promo"
    assert choose_code("promo", ("promo", True)) == "promo"
    assert choose_code("promo", ("old-one", False)) == "promo"  # a re-created resource


def test_spec_code_cannot_move_a_live_link() -> None:
    with pytest.raises(ImmutableCode, match="already serves the code 'abc1234'"):
        choose_code("promo", ("abc1234", True))


def test_without_spec_code_the_owned_then_remembered_code_is_kept() -> None:
    assert choose_code(None, ("abc1234", False), "zzz9999") == "abc1234"
    assert choose_code(None, None, "zzz9999") == "zzz9999"  # its row vanished
    assert choose_code(None, None, "") is None
    assert choose_code(None, None) is None  # generate one


def test_plan_write() -> None:
    assert plan_write(None, "ns/a", NS_UID, WANTED, True) == "insert"
    assert plan_write(row(), "ns/a", NS_UID, WANTED, True) == "unchanged"
    assert plan_write(row(deleted=True), "ns/a", NS_UID, WANTED, True) == "update"
    assert plan_write(row(target="https://other/"), "ns/a", NS_UID, WANTED, True) == "update"
    assert plan_write(row(redirect_type=301), "ns/a", NS_UID, WANTED, True) == "update"
    assert plan_write(row(password_hash="h"), "ns/a", NS_UID, WANTED, True) == "update"
    assert plan_write(row(expires_at=NOW), "ns/a", NS_UID, WANTED, True) == "update"
    assert plan_write(row(), "ns/a", NS_UID, WANTED, False) == "update"
    # The namespace's workspace label changed (or came, or went): the row moves.
    assert plan_write(row(owner="team-a"), "ns/a", NS_UID, WANTED, True) == "update"


@pytest.mark.parametrize(
    "holder",
    [
        row(managed_by=None),
        row(managed_by=None, deleted=True),
        row(managed_by="ns/b"),
        # The same namespace/name, in an earlier namespace of that name (issue 13, 9):
        row(namespace_uid=EARLIER_NS_UID),
        row(namespace_uid=EARLIER_NS_UID, deleted=True),
    ],
)
def test_a_code_held_by_anyone_else_is_a_conflict(holder: ManagedRow) -> None:
    assert not owns(holder, "ns/a", NS_UID)
    assert plan_write(holder, "ns/a", NS_UID, WANTED, True) == "conflict"


def test_a_deleted_row_of_this_namespace_is_reclaimed() -> None:
    # Delete + re-apply of a ShortLink in the same namespace keeps its code.
    assert owns(row(deleted=True), "ns/a", NS_UID)
    assert plan_write(row(deleted=True), "ns/a", NS_UID, WANTED, True) == "update"


def test_a_row_without_a_namespace_uid_is_adopted_by_its_namespace_name() -> None:
    legacy = row(namespace_uid=None)  # written before migration 0006
    assert owns(legacy, "ns/a", NS_UID)
    # Rewritten even when unchanged, which records the UID: from then on it is bound.
    assert plan_write(legacy, "ns/a", NS_UID, WANTED, True) == "update"
    assert plan_write(row(namespace_uid=None, deleted=True), "ns/a", NS_UID, WANTED, True) == (
        "update"
    )
    assert not owns(legacy, "ns/b", NS_UID)
    assert not owns(row(managed_by=None, namespace_uid=None), "ns/a", NS_UID)


@pytest.mark.parametrize(
    "holder",
    [
        row(managed_by="other-team/secret-project"),
        row(managed_by="other-team/secret-project", deleted=True),
        row(namespace_uid=EARLIER_NS_UID, managed_by="ns/a"),
    ],
)
def test_conflict_messages_never_name_the_holder(holder: ManagedRow) -> None:
    message = conflict_message("promo", holder)
    assert "another ShortLink" in message
    assert "other-team" not in message and "secret-project" not in message
    assert "ns/a" not in message and EARLIER_NS_UID not in message


def test_conflict_messages_say_what_kind_of_holder() -> None:
    assert "created through the API" in conflict_message("promo", row(managed_by=None))
    assert "never reused" in conflict_message("promo", row(managed_by=None, deleted=True))


def test_cache_is_current() -> None:
    link = make_link()
    destination = Destination("https://example.com/", 302, None, None)
    assert cache_is_current(link, destination)
    assert not cache_is_current(link, MISS)  # re-warm a vanished entry
    assert not cache_is_current(link, None)  # a negative entry hides a live link
    assert not cache_is_current(link, Destination("https://evil/", 302, None, None))
    inactive = make_link(is_active=False)
    assert cache_is_current(inactive, MISS)
    assert cache_is_current(inactive, None)
    assert not cache_is_current(inactive, destination)


def test_password_digest_is_stable_and_distinct() -> None:
    assert password_digest("a") == password_digest("a") != password_digest("b")


# -- status ------------------------------------------------------------------------------


def test_ready_conditions() -> None:
    conditions = ready("https://sho.rt/promo", NOW, "created")
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Ready", "True", "Synced"),
        ("Synced", "True", "Synced"),
    ]
    assert conditions[0].message == "Served at https://sho.rt/promo until 2030-01-02T03:04:05Z"


def test_render_keeps_transition_time_while_status_holds() -> None:
    first = render_conditions(blocked("CodeConflict", "taken"), [], 1, NOW)
    assert first[0] == {
        "type": "Ready",
        "status": "False",
        "reason": "CodeConflict",
        "message": "taken",
        "observedGeneration": 1,
        "lastTransitionTime": "2030-01-02T03:04:05Z",
    }
    later = NOW + timedelta(minutes=5)
    same = render_conditions(blocked("InvalidSpec", "bad"), first, 2, later)
    assert same[0]["lastTransitionTime"] == "2030-01-02T03:04:05Z"
    assert same[0]["observedGeneration"] == 2
    flipped = render_conditions(ready("u", None, "created"), same, 2, later)
    assert flipped[0]["lastTransitionTime"] == "2030-01-02T03:09:05Z"


def test_transient_failure_keeps_ready_only_for_the_same_generation() -> None:
    served = render_conditions(ready("u", None, "created"), [], 3, NOW)
    kept = retrying("DatabaseUnavailable", "down", served, 3)
    assert kept[0] == Condition("Ready", "True", "Synced", "Served at u")
    assert kept[1] == Condition("Synced", "False", "DatabaseUnavailable", "down")
    newer = retrying("DatabaseUnavailable", "down", served, 4)
    assert newer[0] == Condition("Ready", "False", "DatabaseUnavailable", "down")
    assert retrying("CacheUnavailable", "x", [], 1)[0].status == "False"


def test_status_changes_writes_only_differences() -> None:
    current = {"code": "promo", "shortUrl": "https://sho.rt/promo", "observedGeneration": 1}
    assert status_changes(current, dict(current)) == {}
    assert status_changes(current, {**current, "observedGeneration": 2}) == {
        "observedGeneration": 2
    }


def test_short_url() -> None:
    assert short_url("https://sho.rt", "promo") == "https://sho.rt/promo"
    assert short_url("https://sho.rt/", "promo") == "https://sho.rt/promo"


def test_retry_delay_backs_off_exponentially_to_a_cap() -> None:
    assert [retry_delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(0, base=5, cap=60) == 5
    assert retry_delay(10_000) == 60


def test_link_options_in_camel_case_reach_the_domain() -> None:
    spec = {
        "target": "https://example.com/",
        "rules": [
            {
                "conditions": {"referrerHost": ["news.example"], "time": {"timeZone": "Europe/Berlin", "from": "2026-01-01T00:00:00Z"}},
                "action": {"target": "https://example.com/press", "redirectType": 307},
            }
        ],
        "maxClicks": 10,
        "fallbacks": {"notYet": "https://example.com/soon"},
        "validFrom": "2026-01-01T00:00:00Z",
        "queryParams": {"passQuery": "kept as written"},
        "passQuery": True,
    }  # fmt: skip
    options = desired_link(spec, POLICY).options
    assert options.rules[0].conditions.referrer_hosts == {"news.example"}
    assert options.rules[0].action.redirect_type == 307
    assert options.max_clicks == 10 and options.pass_query
    assert options.fallbacks.not_yet == "https://example.com/soon"
    assert options.query_params == (("passQuery", "kept as written"),)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rules": [{"conditions": {"time": {"timeZone": "Mars/Base", "from": "2026-01-01T00:00:00Z"}}, "action": {"target": "https://x.example/"}}]},
         "spec.rules[0].conditions.time.timeZone: 'Mars/Base' is not an IANA time zone"),
        ({"fallbacks": {"notYet": "https://malware.test/"}}, "spec.fallbacks.notYet: The domain"),
        ({"variants": [{"target": "https://a.example/", "weight": 1}]}, "spec.variants: must have at least 2"),
        # What the CRD's CEL rules leave to the operator (quadratic checks over the cost budget):
        ({"rules": [{"id": "x", "conditions": {"os": ["ios"]}, "action": {"target": "https://x.example/"}}] * 2},
         "spec.rules[1].id: 'x' is used by another rule"),
        ({"rules": [{"conditions": {"time": {"windows": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}}, "action": {"target": "https://x.example/"}}]},
         "spec.rules[0].conditions.time.windows[1]: overlaps"),
    ],
)  # fmt: skip
def test_invalid_link_options_name_the_spec_field(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        desired_link({"target": "https://example.com/", **options}, POLICY)
    assert str(caught.value).startswith(message), caught.value
