"""Strings PostgreSQL can't store are found wherever they hide in a document."""

from __future__ import annotations

import pytest

from shortlink.domain.errors import InvalidPassword, InvalidRequest, InvalidUrl
from shortlink.domain.passwords import check_password, hash_password, validate_password
from shortlink.domain.text import is_storable, require_storable, unstorable_field
from shortlink.domain.urls import UrlPolicy, validate_target_url

NUL, SURROGATE = "\x00", "\ud800"


@pytest.mark.parametrize("value", ["", "plain", "héllo wörld", "😀 (a pair: fine)", "\u2028"])
def test_storable(value: str) -> None:
    assert is_storable(value)
    assert require_storable(value, "name") == value


@pytest.mark.parametrize("value", [NUL, f"a{NUL}b", SURROGATE, f"x{SURROGATE}", "\udfff"])
def test_unstorable(value: str) -> None:
    assert not is_storable(value)
    with pytest.raises(InvalidRequest, match="name must not contain NUL") as error:
        require_storable(value, "name")
    assert error.value.details == {"field": "name"}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"name": "ok", "owner": "ok"}, None),
        ({"name": f"a{NUL}"}, "name"),
        ({"urls": [{"original_url": "ok"}, {"password": SURROGATE}]}, "urls.1.password"),
        ({f"k{NUL}": 1}, "body"),  # a key: named by where it sits, not by itself
        ({"a": {f"k{NUL}": 1}}, "a"),
        ([1, 2.5, None, True, NUL], "4"),
        (f"{NUL}", "body"),
    ],
)
def test_the_first_unstorable_field_is_named(document: object, field: str | None) -> None:
    assert unstorable_field(document) == field


def test_urls_and_passwords_refuse_them() -> None:
    for url in (f"https://example.com/{NUL}", f"https://example.com/{SURROGATE}"):
        with pytest.raises(InvalidUrl):
            validate_target_url(url, UrlPolicy())
    for password in (f"p{NUL}w", f"p{SURROGATE}w"):
        with pytest.raises(InvalidPassword, match="NUL"):
            validate_password(password)


def test_checking_a_nul_password_is_a_mismatch_not_an_error() -> None:
    stored = hash_password("pw", rounds=4)
    assert check_password("pw", stored)
    assert not check_password(f"pw{NUL}", stored)  # bcrypt itself would raise
    assert not check_password(SURROGATE, stored)
