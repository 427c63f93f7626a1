"""An OpenID provider, as the API (a relying party) talks to it: discovery, the authorization
URL, the code exchange (with the PKCE verifier) and ID-token verification against the
provider's JWKS, refetched when a token names a key not seen yet (key rotation)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt

from shortlink.domain.errors import Unauthorized
from shortlink.domain.oidc import LoginAttempt

# A token naming an unknown key refetches the JWKS at most this often: a flood of
# forged kids can't turn into a flood of requests to the provider.
JWKS_REFETCH_SECONDS = 10.0
CLOCK_SKEW_SECONDS = 30
_ALGORITHMS = ["RS256", "ES256", "PS256"]
# Sign-ins are rare: a fresh connection each time, so a restarted provider (a rotation,
# a deploy) never meets a pooled connection it closed ("server disconnected").
_FRESH = {"Connection": "close"}


class InvalidIdToken(Unauthorized):
    code = "INVALID_ID_TOKEN"


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
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._refetch_seconds = jwks_refetch_seconds
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._http = http
        self._metadata: ProviderMetadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            document = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if document.get("issuer") != self.issuer:
                raise RuntimeError(f"the provider names itself {document.get('issuer')!r}")
            self._metadata = ProviderMetadata(
                document["issuer"], document["authorization_endpoint"],
                document["token_endpoint"], document["jwks_uri"],
            )  # fmt: skip
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
            "client_id": self.client_id,
            "code_verifier": attempt.verifier,
        }
        async with self._http.post(
            (await self.metadata()).token_endpoint, data=form, headers=_FRESH
        ) as answer:
            body = await answer.json(content_type=None)
            if answer.status != 200 or "id_token" not in body:
                raise InvalidIdToken(f"The provider refused the code: {body.get('error')}")
        return await self.verify(str(body["id_token"]), attempt.nonce)

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
        if kid not in self._keys and time.monotonic() - self._fetched_at >= self._refetch_seconds:
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
        async with self._http.get(url, headers=_FRESH) as answer:
            answer.raise_for_status()
            document: dict[str, Any] = await answer.json(content_type=None)
            return document
