"""An OpenID provider, as the API (a relying party) talks to it: discovery, the authorization
URL, the code exchange (with the PKCE verifier) and ID-token verification against the
provider's JWKS, refetched when a token names a key not seen yet (key rotation)."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
import jwt

from shortlink.domain.errors import IdentityProviderUnavailable, InvalidIdToken
from shortlink.domain.oidc import LoginAttempt

__all__ = ["InvalidIdToken", "OidcClient", "ProviderMetadata"]

# A token naming an unknown key (the provider rotated its keys) fetches the JWKS again,
# waiting if need be so that fetches are at least this far apart: a burst of sign-ins
# right after a rotation makes one request to the provider, and none is refused.
JWKS_REFETCH_SECONDS = 1.0
CLOCK_SKEW_SECONDS = 30
_ALGORITHMS = ["RS256", "ES256", "PS256"]
# Sign-ins are rare: a fresh connection each time, so a restarted provider (a rotation,
# a deploy) never meets a pooled connection it closed ("server disconnected").
_FRESH = {"Connection": "close"}
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class OidcClient:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        redirect_uri: str,
        http: aiohttp.ClientSession,
        jwks_refetch_seconds: float = JWKS_REFETCH_SECONDS,
        client_secret: str = "",  # "": a public client (PKCE alone)
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._client_secret = client_secret
        self._refetch_seconds = jwks_refetch_seconds
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._http = http
        self._metadata: ProviderMetadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._fetching = asyncio.Lock()

    async def close(self) -> None:
        await self._http.close()

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            document = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if document.get("issuer") != self.issuer:  # OpenID Discovery 1.0, 4.3
                raise IdentityProviderUnavailable(
                    f"The provider names itself {document.get('issuer')!r}, not {self.issuer!r}"
                )
            endpoints = [document.get(name) for name in _ENDPOINTS]
            if not all(isinstance(url, str) for url in endpoints):
                raise IdentityProviderUnavailable("The provider's discovery document is incomplete")
            self._metadata = ProviderMetadata(self.issuer, *map(str, endpoints))
        return self._metadata

    async def authorization_url(self, attempt: LoginAttempt, scope: str) -> str:
        endpoint = (await self.metadata()).authorization_endpoint
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.challenge,
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def exchange(self, code: str, attempt: LoginAttempt) -> dict[str, Any]:
        """The verified claims of the ID token the provider gives for ``code``."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": attempt.verifier,
        }
        headers = dict(_FRESH)
        if self._client_secret:  # client_secret_basic, each part form-encoded (RFC 6749 2.3.1)
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self._client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self.client_id
        endpoint = (await self.metadata()).token_endpoint
        try:
            async with self._http.post(endpoint, data=form, headers=headers) as answer:
                body = await answer.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            raise IdentityProviderUnavailable() from None
        if not isinstance(body, dict):
            raise IdentityProviderUnavailable()
        if answer.status != 200 or not isinstance(body.get("id_token"), str):
            raise InvalidIdToken(f"The provider refused the code: {body.get('error')}")
        return await self.verify(body["id_token"], attempt.nonce)

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Signature (by a key of the provider's JWKS), issuer, audience, expiry and
        nonce; InvalidIdToken (401) for anything else."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise InvalidIdToken("The ID token is malformed") from None
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=_ALGORITHMS,
                audience=self.client_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(f"The ID token was refused: {exc}") from None
        if claims.get("nonce") != nonce:
            raise InvalidIdToken("The ID token is not for this sign-in (nonce)")
        return claims

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            async with self._fetching:  # one fetch at a time; the others then see its keys
                if kid not in self._keys:
                    pause = self._fetched_at + self._refetch_seconds - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                    await self._fetch_keys()
        if kid not in self._keys:
            raise InvalidIdToken("The ID token is signed by a key the provider does not publish")
        return self._keys[kid]

    async def _fetch_keys(self) -> None:
        document = await self._get((await self.metadata()).jwks_uri)
        self._fetched_at = time.monotonic()
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("use", "sig") == "sig" and "kid" in jwk:
                try:
                    keys[jwk["kid"]] = jwt.PyJWK(jwk)
                except jwt.PyJWTError:
                    continue  # a key type we can't use: not one our tokens are signed with
        self._keys = keys  # the old keys go: a rotated-out key no longer verifies

    async def _get(self, url: str) -> dict[str, Any]:
        """A JSON document of the provider's; IdentityProviderUnavailable (503) if it
        does not answer with one."""
        try:
            async with self._http.get(url, headers=_FRESH) as answer:
                answer.raise_for_status()
                document = await answer.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            raise IdentityProviderUnavailable() from None
        if not isinstance(document, dict):
            raise IdentityProviderUnavailable()
        return document
