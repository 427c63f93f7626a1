"""Kubernetes ServiceAccount tokens, reviewed by the API server that issued them
(authentication.k8s.io/v1 TokenReview) for this API's audience: the token's signature,
expiry, audience and whether its account (and pod) still exist are the API server's
call, never ours."""

from __future__ import annotations

import hashlib
import ssl
import time
from pathlib import Path

import aiohttp

from shortlink.domain.errors import KubernetesUnavailable

_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
# A token the API server accepted is taken for this long without asking again:
# automation calling in a loop costs one review per token per 10 s (as the API server's
# own webhook authenticator caches), and a deleted account's token works at most that
# much longer. Refusals are not kept: a fixed clock or a new account counts at once.
ACCEPTED_SECONDS = 10.0
_MAX_ACCEPTED = 10_000


class TokenReviewer:
    def __init__(
        self, url: str, token_file: str, ca_file: str, audience: str, http: aiohttp.ClientSession
    ) -> None:
        self._url = url + _PATH
        self._token_file = Path(token_file)
        self._ca_file = ca_file
        self._ssl: ssl.SSLContext | None = None
        self.audience = audience
        self._http = http
        self._accepted: dict[bytes, tuple[str, float]] = {}  # digest -> (username, until)

    async def close(self) -> None:
        await self._http.close()

    async def username(self, token: str) -> str | None:
        """Whose token it is (system:serviceaccount:<namespace>:<name>), or None if the
        API server does not accept it for our audience. KubernetesUnavailable (503) if
        it can't say."""
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        accepted = self._accepted.get(digest)
        if accepted is not None and accepted[1] > now:
            return accepted[0]
        username = await self._review(token)
        if username is not None:
            if len(self._accepted) >= _MAX_ACCEPTED:
                self._accepted = {d: a for d, a in self._accepted.items() if a[1] > now}
            self._accepted[digest] = (username, now + ACCEPTED_SECONDS)
        return username

    async def _review(self, token: str) -> str | None:
        review = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": [self.audience]},
        }
        try:
            # Read each time: kubelet replaces a projected token before it expires.
            own_token = self._token_file.read_text().strip()
            async with self._http.post(
                self._url, json=review, ssl=self._context(),
                headers={"Authorization": f"Bearer {own_token}"},
            ) as answer:  # fmt: skip
                body = await answer.json(content_type=None)
                status = answer.status
        except (OSError, TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise KubernetesUnavailable(reason=type(exc).__name__) from None
        if status not in (200, 201) or not isinstance(body, dict):
            # Our own credentials refused (401/403: no system:auth-delegator) or worse.
            raise KubernetesUnavailable(reason=f"TokenReview answered {status}")
        result = body.get("status") or {}
        user = result.get("user") or {}
        if result.get("authenticated") is not True or self.audience not in (
            result.get("audiences") or []
        ):
            return None
        username = user.get("username")
        return username if isinstance(username, str) else None

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=self._ca_file)
        return self._ssl
