"""Argo CD's health checks for our kinds (gitops/argocd/<group>/<kind>/health.lua), run as
Argo CD runs them: the object as the global `obj`, the chunk returning `hs`. Lua 5.1 is
what Argo CD embeds (gopher-lua); here it is Debian's `lua5.1` interpreter."""

from __future__ import annotations

import math
import shutil
import subprocess
from typing import Any

from tests.harness.kube.binaries import REPO_ROOT
from tests.harness.processes import HarnessError

HEALTH_CHECKS = REPO_ROOT / "gitops" / "argocd"
GROUP = "shortlink.io"
LUA = "lua5.1"
# Prints the result as two lines: status, message.
RUNNER = 'local hs = dofile(HEALTH); print(hs.status); print(hs.message or "")'


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) that Argo CD would show for `obj`, a `kind` of ours."""
    lua = shutil.which(LUA)
    if lua is None:
        raise HarnessError("lua5.1 not found: apt-get install lua5.1")
    script = HEALTH_CHECKS / GROUP / kind / "health.lua"
    prelude = f"obj = {to_lua(obj)}\nHEALTH = {to_lua(str(script))}\n"
    result = subprocess.run(
        [lua, "-e", prelude + RUNNER], capture_output=True, text=True, check=False, timeout=30
    )
    if result.returncode != 0:
        raise HarnessError(f"{script} failed under {LUA}: {result.stderr}")
    status, message = [*result.stdout.split("\n", 1), ""][:2]
    return status, message.rstrip("\n")


def to_lua(value: Any) -> str:
    """A Lua 5.1 literal for a JSON value (tables for objects and arrays, as Argo CD's
    JSON-to-Lua conversion gives them; null becomes nil)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise HarnessError(f"no Lua literal for {value}")
        return repr(value)
    if isinstance(value, str):
        return _lua_string(value)
    if isinstance(value, list):
        return "{" + ", ".join(to_lua(item) for item in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{to_lua(str(k))}] = {to_lua(v)}" for k, v in value.items()) + "}"
    raise HarnessError(f"no Lua literal for {type(value).__name__}")


def _lua_string(text: str) -> str:
    """Byte-exact: printable ASCII as is, the rest as Lua 5.1's decimal escapes."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


__all__ = ["HEALTH_CHECKS", "health", "to_lua"]
