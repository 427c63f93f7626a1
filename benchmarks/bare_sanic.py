"""The framework floor: a bare Sanic app with nothing but the work each endpoint must do.

Run as ``python -m benchmarks.bare_sanic PORT [CODES_FILE]``. It serves
``GET /<code>`` as a 302 from an in-memory dict (the cheapest possible
redirector), ``POST /v1/urls`` and ``POST /v1/urls/bulk`` as JSON parse plus
a 201 JSON answer of the same shape as the real API (the floor for create and
bulk), and ``GET /healthz``. One process, one worker, no access log: the same
shape as the services under test.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import orjson
from sanic import Sanic
from sanic.config import Config
from sanic.request import Request
from sanic.response import HTTPResponse, empty, raw, redirect

DEFAULT_CODES = ("floor",)


def load_targets(codes_file: Path | None) -> dict[str, str]:
    codes = codes_file.read_text().split() if codes_file else list(DEFAULT_CODES)
    return {code: f"https://example.com/{code}" for code in codes}


def build_app(targets: dict[str, str]) -> Sanic[Config, SimpleNamespace]:
    app: Sanic[Config, SimpleNamespace] = Sanic("bare_sanic_floor")
    app.config.ACCESS_LOG = False

    @app.get("/healthz")
    async def healthz(_: Request) -> HTTPResponse:
        return empty(200)

    @app.get("/<code:str>")
    async def follow(_: Request, code: str) -> HTTPResponse:
        target = targets.get(code)
        if target is None:
            return empty(404)
        return redirect(target, status=302)

    @app.post("/v1/urls")
    async def create(request: Request) -> HTTPResponse:
        original_url = orjson.loads(request.body)["original_url"]
        body = {
            "short_code": "floor",
            "short_url": "http://x/floor",
            "original_url": original_url,
        }
        return raw(orjson.dumps(body), status=201, content_type="application/json")

    @app.post("/v1/urls/bulk")
    async def create_bulk(request: Request) -> HTTPResponse:
        items = orjson.loads(request.body)["urls"]
        results = [
            {"short_code": f"f{index}", "original_url": item["original_url"]}
            for index, item in enumerate(items)
        ]
        body = {"created": len(results), "failed": 0, "results": results}
        return raw(orjson.dumps(body), status=201, content_type="application/json")

    return app


def main(argv: list[str]) -> None:
    port = int(argv[0])
    codes_file = Path(argv[1]) if len(argv) > 1 else None
    app = build_app(load_targets(codes_file))
    app.run(
        host="127.0.0.1",
        port=port,
        single_process=True,
        access_log=False,
        motd=False,
        debug=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
