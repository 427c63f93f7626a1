from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shortlink.domain.unlock_tokens import (
    LINK,
    LINK_TOKEN_TTL,
    UNLOCK_TOKEN_TTL,
    issue_unlock_token,
    unlock_token_valid,
)

SECRET = "unit-test-secret-that-is-32-bytes!"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # in the past: PyJWT checks iat on wall time
CODE, FP = "abc1234", "0123456789abcdef"


@pytest.fixture
def token():
    return issue_unlock_token(CODE, FP, SECRET, NOW)


def test_round_trip_is_valid(token):
    assert unlock_token_valid(token, CODE, FP, SECRET, NOW) is True


def test_token_carries_expected_claims(token):
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == CODE
    assert claims["typ"] == "unlock"
    assert claims["pwf"] == FP
    assert claims["exp"] - claims["iat"] == UNLOCK_TOKEN_TTL.total_seconds() == 3600


@pytest.mark.parametrize(
    ("code", "fingerprint", "secret", "now"),
    [
        ("other12", FP, SECRET, NOW),
        (CODE, "fedcba9876543210", SECRET, NOW),  # password changed since issue
        (CODE, FP, "another-secret-that-is-32-bytes-!!", NOW),
        (CODE, FP, SECRET, NOW + timedelta(hours=2)),
        (CODE, FP, SECRET, NOW + UNLOCK_TOKEN_TTL),  # exactly at exp
    ],
    ids=["other-code", "other-fingerprint", "wrong-secret", "expired", "at-exp"],
)
def test_rejected_when_anything_differs(token, code, fingerprint, secret, now):
    assert unlock_token_valid(token, code, fingerprint, secret, now) is False


def test_still_valid_just_before_expiry(token):
    just_before = NOW + UNLOCK_TOKEN_TTL - timedelta(seconds=1)
    assert unlock_token_valid(token, CODE, FP, SECRET, just_before) is True


def test_link_tokens_last_a_minute_and_only_stand_for_themselves():
    """Issue 13, finding 10: the kind that goes into URLs is short-lived, and
    neither kind is accepted where the other is expected."""
    link = issue_unlock_token(CODE, FP, SECRET, NOW, kind=LINK)
    session = issue_unlock_token(CODE, FP, SECRET, NOW)
    assert timedelta(seconds=60) == LINK_TOKEN_TTL
    assert unlock_token_valid(link, CODE, FP, SECRET, NOW + timedelta(seconds=59), kind=LINK)
    assert not unlock_token_valid(link, CODE, FP, SECRET, NOW + timedelta(seconds=60), kind=LINK)
    assert not unlock_token_valid(link, CODE, FP, SECRET, NOW)  # not as a session token
    assert not unlock_token_valid(session, CODE, FP, SECRET, NOW, kind=LINK)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."])
def test_garbage_tokens_are_rejected(garbage):
    assert unlock_token_valid(garbage, CODE, FP, SECRET, NOW) is False


def _craft(claims, algorithm="HS256", key=SECRET):
    return jwt.encode(claims, key, algorithm=algorithm)


def test_token_of_another_type_is_rejected():
    exp = NOW + timedelta(hours=1)
    crafted = _craft({"sub": CODE, "typ": "session", "pwf": FP, "iat": NOW, "exp": exp})
    assert unlock_token_valid(crafted, CODE, FP, SECRET, NOW) is False
    # Same claims with the right type are accepted, so "typ" is what made the difference.
    ok = _craft({"sub": CODE, "typ": "unlock", "pwf": FP, "iat": NOW, "exp": exp})
    assert unlock_token_valid(ok, CODE, FP, SECRET, NOW) is True


@pytest.mark.parametrize("missing", ["sub", "typ", "pwf", "exp"])
def test_token_missing_a_required_claim_is_rejected(missing):
    claims = {"sub": CODE, "typ": "unlock", "pwf": FP, "exp": NOW + timedelta(hours=1)}
    del claims[missing]
    assert unlock_token_valid(_craft(claims), CODE, FP, SECRET, NOW) is False


def test_unsigned_alg_none_token_is_rejected():
    claims = {"sub": CODE, "typ": "unlock", "pwf": FP, "exp": NOW + timedelta(hours=1)}
    crafted = jwt.encode(claims, None, algorithm="none")
    assert unlock_token_valid(crafted, CODE, FP, SECRET, NOW) is False


def test_validity_depends_only_on_the_injected_clock():
    future = datetime(2100, 1, 1, tzinfo=UTC)
    token = issue_unlock_token(CODE, FP, SECRET, future)
    assert unlock_token_valid(token, CODE, FP, SECRET, future) is True
