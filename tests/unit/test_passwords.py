import bcrypt
import pytest

from shortlink.domain.errors import InvalidPassword
from shortlink.domain.passwords import (
    MAX_UNLOCK_ATTEMPTS,
    attempts_remaining,
    check_password,
    hash_password,
    password_fingerprint,
    unlock_client,
    validate_password,
)

FAST = 4  # bcrypt's minimum cost: keeps these tests quick


@pytest.mark.parametrize("password", ["x", "correct horse", "a" * 72, "é" * 72, "🔒" * 72])
def test_valid_passwords_up_to_72_characters(password):
    assert validate_password(password) is password


@pytest.mark.parametrize(
    "password", ["", None, 1234, b"bytes", ["pw"], "a" * 73, "é" * 73, "🔒" * 73]
)
def test_invalid_passwords(password):
    with pytest.raises(InvalidPassword) as exc:
        validate_password(password)
    assert exc.value.code == "INVALID_PASSWORD_FORMAT"


def test_the_limit_counts_characters_not_utf8_bytes():
    assert validate_password("a" * 71 + "é") == "a" * 71 + "é"  # 72 characters, 73 bytes
    with pytest.raises(InvalidPassword, match="72 characters"):
        validate_password("é" * 73)


def test_hash_uses_requested_cost_and_round_trips():
    hashed = hash_password("s3cret-é", rounds=FAST)
    assert hashed.startswith("$2b$04$")
    assert check_password("s3cret-é", hashed) is True


def test_default_cost_matches_seed_prefix():
    assert hash_password("pw").startswith("$2b$10$")


def test_wrong_password_is_false():
    hashed = hash_password("right", rounds=FAST)
    assert check_password("wrong", hashed) is False
    assert check_password("Right", hashed) is False
    assert check_password("", hashed) is False


def test_hashes_are_salted():
    assert hash_password("same", rounds=FAST) != hash_password("same", rounds=FAST)


def test_password_over_72_characters_never_matches_and_never_raises():
    hashed = hash_password("a" * 72, rounds=FAST)
    assert check_password("a" * 72, hashed) is True
    assert check_password("a" * 73, hashed) is False
    assert check_password("a" * 72 + "é", hashed) is False


def test_passwords_past_bcrypts_72_bytes_count_every_character():
    long = "🔒" * 72  # 288 bytes: bcrypt alone would see only the first 18 locks
    hashed = hash_password(long, rounds=FAST)
    assert check_password(long, hashed) is True
    assert check_password("🔒" * 71 + "🔑", hashed) is False  # the last one counts too
    assert check_password("🔒" * 18, hashed) is False


def test_passwords_that_fit_bcrypt_hash_as_before():
    # Hashes stored before long passwords were allowed keep verifying.
    legacy = bcrypt.hashpw("s3cret-é".encode(), bcrypt.gensalt(FAST)).decode()
    assert check_password("s3cret-é", legacy) is True


def test_fingerprint_is_stable_short_hex_and_differs_per_hash():
    first, second = hash_password("pw", rounds=FAST), hash_password("pw", rounds=FAST)
    fp = password_fingerprint(first)
    assert fp == password_fingerprint(first)
    assert len(fp) == 16
    assert int(fp, 16) >= 0
    assert fp != password_fingerprint(second)
    assert "pw" not in fp and fp not in first


@pytest.mark.parametrize(
    ("failures", "remaining"),
    [(0, MAX_UNLOCK_ATTEMPTS), (1, 4), (4, 1), (5, 0), (6, 0), (100, 0)],
)
def test_attempts_remaining_counts_down_to_zero(failures, remaining):
    assert MAX_UNLOCK_ATTEMPTS == 5
    assert attempts_remaining(failures) == remaining


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # same subscriber
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_unlock_failures_are_counted_per_ipv4_address_or_ipv6_64(address, client):
    assert unlock_client(address) == client
