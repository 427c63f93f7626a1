"""Workspace rules and the audit log's query, without I/O."""

from __future__ import annotations

import pytest

from shortlink.domain.audit import parse_audit_filter
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.workspaces import (
    Role,
    validate_retention,
    validate_slug,
    validate_subject,
)


def test_roles_are_ordered_and_parse_by_label() -> None:
    assert Role.VIEWER < Role.EDITOR < Role.ADMIN < Role.OWNER
    assert Role.parse("Editor") is Role.EDITOR
    with pytest.raises(InvalidRequest, match="viewer, editor, admin, owner"):
        Role.parse("root")


@pytest.mark.parametrize("slug", ["a", "team-a", "0", "a" * 63])
def test_new_slugs_are_dns_labels(slug: str) -> None:
    assert validate_slug(slug) == slug


@pytest.mark.parametrize("slug", ["", "-a", "a-", "A", "a_b", "a" * 64, "a.b", 7])
def test_other_slugs_are_refused(slug: object) -> None:
    with pytest.raises(InvalidRequest):
        validate_slug(slug)


def test_members_are_e_mail_addresses_compared_in_lower_case() -> None:
    assert validate_subject("Alice@Example.COM") == "alice@example.com"
    for bad in ("alice", "a@b@c", "a b@c", "a/b@c", "@c", "a@", "a\x01@b"):
        with pytest.raises(InvalidRequest):
            validate_subject(bad)


def test_retention_is_whole_days_in_range() -> None:
    assert validate_retention(30) == 30 and validate_retention(30.0) == 30
    for bad in (0, 3651, 1.5, True, "30"):
        with pytest.raises(InvalidRequest):
            validate_retention(bad)


def test_audit_filter_reads_a_links_history_and_a_cursor() -> None:
    query = parse_audit_filter(
        {"link": ["promo"], "from": ["2026-01-02"], "cursor": ["41"], "limit": ["10"]}
    )
    assert (query.target_type, query.target, query.before_id, query.limit) == (
        "link", "promo", 41, 10,
    )  # fmt: skip
    assert query.since is not None and query.since.isoformat() == "2026-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    "args",
    [
        {"limit": ["0"]},
        {"limit": ["201"]},
        {"cursor": ["-1"]},
        {"cursor": ["01"]},
        {"from": ["yesterday"]},
        {"from": ["2026-02-30"]},
        {"target_type": ["rule"]},
        {"actor": [""]},
        {"colour": ["red"]},
    ],
)
def test_a_malformed_audit_query_is_refused(args: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidRequest):
        parse_audit_filter(args)
