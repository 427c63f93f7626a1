from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.links import (
    DEFAULT_REDIRECT_TYPE,
    Destination,
    Link,
    NewLink,
    decide,
    destination_of,
    redirect_cache_control,
    validate_redirect_type,
)
from shortlink.domain.passwords import password_fingerprint

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
LINK = Link(
    code="abc1234",
    target="https://example.com/",
    owner="alice",
    is_custom_alias=False,
    password_hash=None,
    expires_at=None,
    redirect_type=302,
    is_active=True,
    created_at=CREATED,
    updated_at=CREATED,
)


@pytest.mark.parametrize("value", [301, 302, 307, 308])
def test_valid_redirect_types(value):
    assert validate_redirect_type(value) == value


@pytest.mark.parametrize("value", [303, 300, 200, 0, True, False, "302", 302.0, None])
def test_invalid_redirect_types(value):
    with pytest.raises(InvalidRequest) as exc:
        validate_redirect_type(value)
    assert exc.value.code == "INVALID_REQUEST"
    assert exc.value.details == {"redirect_type": value}


def test_default_redirect_type_is_302():
    assert DEFAULT_REDIRECT_TYPE == 302
    assert NewLink(target="https://x.com", owner=None).redirect_type == 302


def _dest(expires_at=None, fingerprint=None):
    return Destination("https://example.com/", 302, expires_at, fingerprint)


@pytest.mark.parametrize(
    ("destination", "now", "unlocked", "outcome"),
    [
        (_dest(), 1000.0, False, "redirect"),
        (_dest(expires_at=1000.0), 999.999, False, "redirect"),
        (_dest(expires_at=1000.0), 1000.0, False, "expired"),
        (_dest(expires_at=1000.0), 5000.0, True, "expired"),
        (_dest(fingerprint="f"), 1000.0, False, "password_required"),
        (_dest(fingerprint="f"), 1000.0, True, "redirect"),
        (_dest(expires_at=1000.0, fingerprint="f"), 1000.0, True, "expired"),
        (_dest(expires_at=1000.0, fingerprint="f"), 1000.0, False, "expired"),
        (_dest(expires_at=2000.0, fingerprint="f"), 1000.0, False, "password_required"),
    ],
)
def test_decide(destination, now, unlocked, outcome):
    assert decide(destination, now, unlocked) == outcome


def test_inactive_link_has_no_destination():
    assert destination_of(replace(LINK, is_active=False)) is None


def test_plain_link_destination():
    assert destination_of(LINK) == Destination("https://example.com/", 302, None, None)


def test_destination_carries_fingerprint_only_with_password_and_epoch_expiry():
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    link = replace(LINK, password_hash="$2b$04$hash", expires_at=expires, redirect_type=308)
    dest = destination_of(link)
    assert dest == Destination(
        target="https://example.com/",
        redirect_type=308,
        expires_at=1893456000.0,
        password_fingerprint=password_fingerprint("$2b$04$hash"),
    )
    assert "$2b$" not in repr(dest)  # no secret material in the cacheable view


@pytest.mark.parametrize(
    ("redirect_type", "fingerprint", "expected"),
    [
        (302, None, "no-store"),
        (307, None, "no-store"),
        (301, None, "max-age=600"),
        (308, None, "max-age=600"),
        (301, "0123456789abcdef", "private, no-store"),  # unlocked for one visitor only
        (302, "0123456789abcdef", "private, no-store"),
    ],
)
def test_redirect_cache_control(redirect_type, fingerprint, expected):
    destination = Destination("https://example.com/", redirect_type, None, fingerprint)
    assert redirect_cache_control(destination, permanent_max_age=600) == expected
