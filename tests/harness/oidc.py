"""A real OpenID provider on loopback: npm's oidc-provider (9.x, OpenID-certified) run by
the Debian/NodeSource Node 20, installed once into .cache/oidc-provider by npm.

Its signing keys are ours (RSA, generated here), served from its JWKS endpoint;
``rotate_keys`` restarts it on the same port with a new key (a new ``kid``), the old
one gone, as a provider's key rotation looks to its clients."""

from __future__ import annotations

import html
import json
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.harness.ports import free_port
from tests.harness.processes import STARTUP_TIMEOUT, HarnessError, Managed, launch, stop_process

VERSION = "9.13.3"
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_DIR = REPO_ROOT / ".cache" / "oidc-provider" / VERSION
SCRIPT = Path(__file__).parent / "oidc" / "provider.mjs"
CLIENT_ID = "shortlink-ui"


def install() -> Path:
    """node_modules with oidc-provider, installed into the cache on first use."""
    stamp = INSTALL_DIR / ".installed"
    if not stamp.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise HarnessError("npm not found; install nodejs (20) and npm")
        INSTALL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", f"oidc-provider@{VERSION}"],
            cwd=INSTALL_DIR, check=True, timeout=600,
        )  # fmt: skip
        stamp.touch()
    return INSTALL_DIR / "node_modules"


def new_signing_key(kid: str) -> dict[str, Any]:
    """A private RSA JWK for RS256, as the provider's configuration takes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class OidcProvider(Managed):
    def __init__(
        self, base_dir: Path, redirect_uri: str, accounts: dict[str, dict[str, Any]],
        client_secret: str = "",  # a confidential client (client_secret_basic); "": public
    ) -> None:  # fmt: skip
        self.base_dir = base_dir.absolute()
        self.client_secret = client_secret
        self.port = free_port()
        self.redirect_uri = redirect_uri
        self.accounts = accounts
        self.signing_key = new_signing_key("key-1")
        self.process: subprocess.Popen[bytes] | None = None
        # How it misbehaves after the next start (see provider.mjs): clock offset,
        # ID token lifetime, the issuer it names.
        self.quirks: dict[str, str] = {}

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        node_modules = install()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        jwks_file = self.base_dir / "jwks.json"
        jwks_file.write_text(json.dumps({"keys": [self.signing_key]}))
        # The script is run from the cache, beside its node_modules (ESM resolves there).
        script = node_modules.parent / "provider.mjs"
        shutil.copyfile(SCRIPT, script)
        env = {
            "PATH": "/usr/bin:/bin",
            "ISSUER": self.issuer,
            "PORT": str(self.port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": self.client_secret,
            "REDIRECT_URI": self.redirect_uri,
            "JWKS_FILE": str(jwks_file),
            "ACCOUNTS": json.dumps(self.accounts),
            "NODE_ENV": "test",
            **self.quirks,
        }
        self.process = launch(
            ["node", str(script)],
            log_path=self.base_dir / "oidc-provider.log",
            ready=self.is_ready,
            what=f"oidc-provider on {self.issuer}",
            timeout=STARTUP_TIMEOUT,
            on_failure=self.stop,
            env=env,
        )

    def is_ready(self) -> bool:
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def restart(self, **quirks: str) -> None:
        """The same provider (port, keys) started again with ``quirks`` (none: as it was)."""
        self.stop()
        self.quirks = quirks
        self.start()

    def rotate_keys(self, kid: str) -> dict[str, Any]:
        """Restart with a new signing key (the old one no longer published); returns
        the old key, for a test to forge with."""
        old = self.signing_key
        self.stop()
        self.signing_key = new_signing_key(kid)
        self.start()
        return old

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, 10)
            self.process = None


def sign_in_at_provider(
    browser: httpx.Client, authorization_url: str, login: str, redirect_uri: str
) -> str:
    """What a person does in a browser at the provider's own login and consent pages
    (its development interactions): returns the URL the provider sends the browser back
    to (``redirect_uri`` with code and state), not followed. ``login`` "!abort" cancels."""
    url = authorization_url
    for _ in range(10):
        answer = browser.get(url)
        while answer.is_redirect:
            target = urljoin(str(answer.url), answer.headers["location"])
            if target.startswith(redirect_uri):
                return target
            answer = browser.get(target)
        if login == "!abort":
            abort = re.search(r'href="([^"]*/abort)"', answer.text)
            assert abort is not None, "no abort link on the provider's page"
            url = urljoin(str(answer.url), html.unescape(abort[1]))
            continue
        action = re.search(r'action="([^"]+)"', answer.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', answer.text)
        assert action is not None and prompt is not None, answer.text[:500]
        form = {"prompt": prompt[1], "login": login, "password": "any"}
        posted = browser.post(urljoin(str(answer.url), html.unescape(action[1])), data=form)
        url = urljoin(str(posted.url), posted.headers["location"])
        if url.startswith(redirect_uri):
            return url
    raise HarnessError("the provider never redirected back")
