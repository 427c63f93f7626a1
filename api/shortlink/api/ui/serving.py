"""The web UI: this package's files served at /ui/<path>, its index.html at / (same origin as /v1).

It is a client of the public /v1 API only. Every file is read once at start and
served with a strict Content-Security-Policy: scripts, styles, images and
connections from this origin only, no inline code, no framing.

Fingerprints: at start every reference to another asset (``"./api.js"`` in a module,
``"/ui/app.css"`` in the page or a script) is rewritten to a name carrying the content
hash of what it names (``./api.1f2e3d4c5b.js``), dependencies first, so a change
anywhere changes the names of everything that leads to it. Fingerprinted names are
cached for a year (``immutable``); the page and the plain names are revalidated
(``no-cache`` + ETag). Text assets go out brotli- or gzip-compressed when the client
accepts it (``Vary: Accept-Encoding``), each compressed once, on first request.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath

import brotli
from sanic import Blueprint
from sanic.response import HTTPResponse, empty, raw

from shortlink.api.context import ApiRequest
from shortlink.domain.errors import NotFound
from shortlink.http.page_headers import content_security_policy, page_headers

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = page_headers(CONTENT_SECURITY_POLICY)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json",
          ".svg": "image/svg+xml", ".html": "text/html"}  # fmt: skip
_BINARY = "application/octet-stream"
_PAGE = "index.html"
# Assets whose references to other assets are rewritten to fingerprinted names.
_REFERRING = {".js", ".html", ".css"}
# A quoted reference to an asset: relative to the referrer's folder, or from /ui/.
_REFERENCE = re.compile(r"""(?P<q>["'])(?P<base>\./|/ui/)(?P<path>[A-Za-z0-9_./-]+)(?P=q)""")
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
_COMPRESS_MIN = 512  # bytes: below this the encoding headers cost about what they save
_ENCODINGS = ("br", "gzip")  # in order of preference when the client takes both

web = Blueprint("web")


@dataclass(frozen=True, slots=True)
class Asset:
    name: str  # path in this package's folder
    body: bytes  # with references rewritten to fingerprinted names
    content_type: str
    fingerprinted: str  # the name that carries the body's hash
    digest: str  # of the body, for its ETag

    @property
    def compressible(self) -> bool:
        kind = self.content_type.split(";")[0]
        textual = kind.startswith("text/") or kind in {"application/json", "image/svg+xml"}
        return textual and len(self.body) >= _COMPRESS_MIN


@dataclass(slots=True)
class WebAssets:
    """The UI's files by name (plain and fingerprinted), and their compressed bodies."""

    by_name: dict[str, Asset]
    by_fingerprint: dict[str, Asset] = field(init=False)
    _encoded: dict[tuple[str, str], asyncio.Future[bytes]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.by_fingerprint = {a.fingerprinted: a for a in self.by_name.values()}

    def find(self, name: str) -> tuple[Asset, bool] | None:
        """The asset named ``name`` and whether that name is its fingerprinted one."""
        if (asset := self.by_fingerprint.get(name)) is not None:
            return asset, True
        if (asset := self.by_name.get(name)) is not None:
            return asset, False
        return None

    async def encoded(self, asset: Asset, encoding: str) -> bytes:
        """The body compressed, once per process: in a worker thread (brotli's best
        quality takes ~0.6 s for the world atlas; both codecs release the GIL), shared
        by the requests that come while it runs."""
        key = (asset.name, encoding)
        if key not in self._encoded:
            work = asyncio.to_thread(compress, asset.body, encoding)
            self._encoded[key] = asyncio.ensure_future(work)
        return await self._encoded[key]


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=11))
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=9, mtime=0)
    raise ValueError(f"unknown content encoding {encoding!r}")


def choose_encoding(accept_encoding: str | None) -> str | None:
    """The best of brotli or gzip that ``Accept-Encoding`` allows (RFC 9110 §12.5.3),
    or None for the body as it is."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            weights[coding.strip().lower()] = quality
    wildcard = weights.get("*", 0.0)
    ranked = [(weights.get(coding, wildcard), -i, coding) for i, coding in enumerate(_ENCODINGS)]
    quality, _, best = max(ranked)
    return best if quality > 0 else None


def _is_code(name: str) -> bool:
    return PurePosixPath(name).suffix in {".py", ".pyc", ".typed"}


def _content_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or _BINARY
    charset = "; charset=utf-8" if kind.startswith("text/") or suffix == ".json" else ""
    return kind + charset


def _fingerprinted(name: str, digest: str) -> str:
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest[:10]}{path.suffix}"))


def build_assets(files: Mapping[str, bytes]) -> WebAssets:
    """Rewrite references to fingerprinted names, each file after everything it refers
    to. A reference cycle has no fingerprint (the names would depend on themselves):
    ValueError, as the web UI's module graph must have none."""
    done: dict[str, Asset] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Asset:
        if name in done:
            return done[name]
        if name in chain:
            raise ValueError(f"web UI assets refer to each other: {' -> '.join((*chain, name))}")
        body = files[name]
        if PurePosixPath(name).suffix in _REFERRING:
            body = _rewrite(name, body, lambda target: resolve(target, (*chain, name)))
        digest = hashlib.sha256(body).hexdigest()
        asset = Asset(name, body, _content_type(name), _fingerprinted(name, digest), digest[:16])
        done[name] = asset
        return asset

    def _rewrite(name: str, body: bytes, target_of: Callable[[str], Asset]) -> bytes:
        folder = PurePosixPath(name).parent

        def replace(match: re.Match[str]) -> str:
            base, path = match["base"], match["path"]
            target = path if base == "/ui/" else str(folder / path)
            if target not in files or target == _PAGE:
                return match[0]
            new_name = PurePosixPath(target_of(target).fingerprinted).name
            return f"{match['q']}{base}{PurePosixPath(path).with_name(new_name)}{match['q']}"

        return _REFERENCE.sub(replace, body.decode()).encode()

    for name in sorted(files):
        resolve(name, ())
    return WebAssets(done)


def load_assets() -> WebAssets:
    """Every asset in this package's folder (not its Python code), by its path there."""
    root = resources.files("shortlink.api.ui")
    files: dict[str, bytes] = {}

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                if entry.name != "__pycache__":
                    walk(entry, name + "/")
            elif entry.is_file() and not entry.name.startswith(".") and not _is_code(entry.name):
                files[name] = entry.read_bytes()

    walk(root, "")
    if "vendor/uPlot.iife.min.js" not in files:
        log.warning("web UI assets missing: run scripts/install-ui-assets before installing")
    return build_assets(files)


async def _serve(request: ApiRequest, name: str, *, page: bool = False) -> HTTPResponse:
    assets: WebAssets = request.app.ctx.web_assets
    found = assets.find(name)
    if found is None or (found[0].name == _PAGE) != page:  # the page is served at / only
        raise NotFound(f"No such file: /ui/{name}")
    asset, fingerprinted = found
    headers = {**SECURITY_HEADERS, "Cache-Control": IMMUTABLE if fingerprinted else REVALIDATE}
    encoding = None
    if asset.compressible:
        headers["Vary"] = "Accept-Encoding"
        encoding = choose_encoding(request.headers.get("accept-encoding"))
    etag = f'"{asset.digest}-{encoding}"' if encoding else f'"{asset.digest}"'
    headers["ETag"] = etag
    if etag in _etags(request.headers.get("if-none-match")):
        return empty(status=304, headers=headers)
    body = asset.body
    if encoding is not None:
        body = await assets.encoded(asset, encoding)
        headers["Content-Encoding"] = encoding
    return raw(body, content_type=asset.content_type, headers=headers)


def _etags(if_none_match: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}


@web.get("/", name="ui_index")
async def index(request: ApiRequest) -> HTTPResponse:
    return await _serve(request, _PAGE, page=True)


@web.get("/ui/<name:path>", name="ui_asset")
async def asset(request: ApiRequest, name: str) -> HTTPResponse:
    return await _serve(request, name)
