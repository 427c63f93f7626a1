"""A real OpenID provider on loopback: npm's oidc-provider (9.x, OpenID-certified) run by
the Debian/NodeSource Node 20, installed once into .cache/oidc-provider by npm.

Its signing keys are ours (RSA, generated here), served from its JWKS endpoint;
``rotate_keys`` restarts it on the same port with a new key (a new ``kid``), the old
one gone, as a provider's key rotation looks to its clients."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

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
        self, base_dir: Path, redirect_uri: str, accounts: dict[str, dict[str, Any]]
    ) -> None:
        self.base_dir = base_dir.absolute()
        self.port = free_port()
        self.redirect_uri = redirect_uri
        self.accounts = accounts
        self.signing_key = new_signing_key("key-1")
        self.process: subprocess.Popen[bytes] | None = None

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
            "REDIRECT_URI": self.redirect_uri,
            "JWKS_FILE": str(jwks_file),
            "ACCOUNTS": json.dumps(self.accounts),
            "NODE_ENV": "test",
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
