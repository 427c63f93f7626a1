"""The web UI: this package's files served at /ui/<path>, its index.html at / (same origin as /v1).

It is a client of the public /v1 API only. Every file is read once at start and
served with a strict Content-Security-Policy: scripts, styles, images and
connections from this origin only, no inline code, no framing.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, raw

from shortlink.domain.errors import NotFound
from shortlink.http.page_headers import content_security_policy, page_headers

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = page_headers(CONTENT_SECURITY_POLICY)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json",
          ".svg": "image/svg+xml", ".html": "text/html"}  # fmt: skip

_BINARY = "application/octet-stream"

web = Blueprint("web")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _is_code(name: str) -> bool:
    return PurePosixPath(name).suffix in {".py", ".pyc", ".typed"}


def load_assets() -> dict[str, Asset]:
    """Every asset in this package's folder (not its Python code), by its path there."""
    root = resources.files("shortlink.api.ui")
    assets: dict[str, Asset] = {}

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                if entry.name != "__pycache__":
                    walk(entry, name + "/")
            elif entry.is_file() and not entry.name.startswith(".") and not _is_code(entry.name):
                body = entry.read_bytes()
                suffix = PurePosixPath(name).suffix
                kind = (
                    _TYPES.get(suffix)
                    or mimetypes.guess_type(name)[0]
                    or "application/octet-stream"
                )
                charset = "; charset=utf-8" if kind.startswith("text/") or suffix == ".json" else ""
                digest = hashlib.sha256(body).hexdigest()[:16]
                assets[name] = Asset(body, kind + charset, f'"{digest}"')

    walk(root, "")
    if "vendor/uPlot.iife.min.js" not in assets:
        log.warning("web UI assets missing: run scripts/install-ui-assets before installing")
    return assets


def _serve(request: Request, name: str) -> HTTPResponse:
    asset = request.app.ctx.web_assets.get(name)
    if asset is None:
        raise NotFound(f"No such file: /{name}")
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return empty(status=304, headers=headers)
    return raw(asset.body, content_type=asset.content_type, headers=headers)


@web.get("/", name="ui_index")
async def index(request: Request) -> HTTPResponse:
    return _serve(request, "index.html")


@web.get("/ui/<name:path>", name="ui_asset")
async def asset(request: Request, name: str) -> HTTPResponse:
    if name == "index.html":
        raise NotFound("No such file: /ui/index.html")
    return _serve(request, name)
