"""The API's OpenID client against a real provider (npm oidc-provider 9.x on Node, started
by the harness): authorization code + PKCE, state and nonce, the ID token verified
against the provider's JWKS, through a key rotation at the provider; forged, expired,
wrong-audience and wrong-issuer tokens refused."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import jwt
import pytest

from shortlink.api.oidc_client import InvalidIdToken, OidcClient
from shortlink.domain.oidc import LoginAttempt, new_attempt, pkce_challenge
from tests.harness.oidc import CLIENT_ID, OidcProvider, new_signing_key, sign_in_at_provider

REDIRECT_URI = "http://127.0.0.1:9/v1/oidc/callback"  # never connected to: read from Location
ACCOUNTS = {"alice": {"email": "Alice@Example.com", "groups": ["team-a-editors"]}}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with OidcProvider(tmp_path_factory.mktemp("oidc"), REDIRECT_URI, ACCOUNTS) as running:
        yield running


@pytest.fixture
async def client(provider: OidcProvider) -> AsyncIterator[OidcClient]:
    async with aiohttp.ClientSession() as http:
        # No pause between JWKS fetches: the rotation test signs in right after one.
        yield OidcClient(provider.issuer, CLIENT_ID, REDIRECT_URI, http, jwks_refetch_seconds=0)


async def _sign_in(client: OidcClient, login: str = "alice") -> tuple[LoginAttempt, str]:
    attempt = new_attempt()
    with httpx.Client(timeout=10) as browser:
        url = await client.authorization_url(attempt, "openid email groups")
        back = parse_qs(urlsplit(sign_in_at_provider(browser, url, login, REDIRECT_URI)).query)
    assert back["state"] == [attempt.state]
    return attempt, back["code"][0]


def _forge(key: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    body = {"iat": now, "exp": now + 300, "sub": "alice", "nonce": "n", **claims}
    signing = jwt.PyJWK(key)
    return jwt.encode(body, signing.key, algorithm="RS256", headers={"kid": key["kid"]})


async def test_code_flow_with_pkce_yields_verified_claims(
    provider: OidcProvider, client: OidcClient
) -> None:
    attempt, code = await _sign_in(client)
    claims = await client.exchange(code, attempt)
    assert (claims["sub"], claims["email"], claims["groups"]) == (
        "alice", "Alice@Example.com", ["team-a-editors"],
    )  # fmt: skip
    assert claims["aud"] == CLIENT_ID and claims["iss"] == provider.issuer
    with pytest.raises(InvalidIdToken):  # a code is good once
        await client.exchange(code, attempt)


async def test_a_wrong_pkce_verifier_gets_no_token(client: OidcClient) -> None:
    attempt, code = await _sign_in(client)
    other = LoginAttempt(attempt.state, attempt.nonce, "x" * 64)
    assert other.challenge != attempt.challenge == pkce_challenge(attempt.verifier)
    with pytest.raises(InvalidIdToken, match="refused the code"):
        await client.exchange(code, other)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-client"}, "audience"),
        ({"iss": "http://127.0.0.1:1"}, "issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nonce": "replayed"}, "nonce"),
    ],
)
async def test_tokens_for_someone_else_or_too_old_are_refused(
    provider: OidcProvider, client: OidcClient, claims: dict[str, Any], reason: str
) -> None:
    token = _forge(provider.signing_key, **{"aud": CLIENT_ID, "iss": provider.issuer, **claims})
    with pytest.raises(InvalidIdToken, match=f"(?i){reason}"):
        await client.verify(token, "n")


async def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    provider: OidcProvider, client: OidcClient
) -> None:
    stranger = new_signing_key(provider.signing_key["kid"])  # same kid, another key
    with pytest.raises(InvalidIdToken, match="Signature"):
        await client.verify(_forge(stranger, aud=CLIENT_ID, iss=provider.issuer), "n")
    unknown = new_signing_key("nobody")
    with pytest.raises(InvalidIdToken, match="does not publish"):
        await client.verify(_forge(unknown, aud=CLIENT_ID, iss=provider.issuer), "n")


async def test_a_key_rotation_at_the_provider(provider: OidcProvider, client: OidcClient) -> None:
    attempt, code = await _sign_in(client)
    assert (await client.exchange(code, attempt))["sub"] == "alice"  # keys fetched: key-1

    old = provider.rotate_keys("key-2")
    attempt, code = await _sign_in(client)

    # The new kid is not among the keys fetched before: fetched again, and verified.
    assert (await client.exchange(code, attempt))["sub"] == "alice"
    with pytest.raises(InvalidIdToken, match="does not publish"):  # rotated out: refused
        await client.verify(_forge(old, aud=CLIENT_ID, iss=provider.issuer), "n")


SECRET = "s3cret with spaces & symbols:/"


@pytest.fixture(scope="module")
def confidential(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider whose client must authenticate at the token endpoint (as Google's or
    Entra's web-app clients must)."""
    with OidcProvider(
        tmp_path_factory.mktemp("oidc-secret"), REDIRECT_URI, ACCOUNTS, client_secret=SECRET
    ) as running:
        yield running


async def test_a_confidential_client_sends_its_secret(confidential: OidcProvider) -> None:
    async with aiohttp.ClientSession() as http:
        client = OidcClient(confidential.issuer, CLIENT_ID, REDIRECT_URI, http,
                            client_secret=SECRET)  # fmt: skip
        attempt, code = await _sign_in(client)
        assert (await client.exchange(code, attempt))["sub"] == "alice"

        for secret in ("not it", ""):  # a wrong secret, or none (as a public client)
            wrong = OidcClient(confidential.issuer, CLIENT_ID, REDIRECT_URI, http,
                               client_secret=secret)  # fmt: skip
            attempt, code = await _sign_in(wrong)
            with pytest.raises(InvalidIdToken, match="refused the code: invalid_client"):
                await wrong.exchange(code, attempt)
