"""The web UI's static serving: fingerprinted references and content negotiation."""

from __future__ import annotations

import gzip

import brotli
import pytest

from shortlink.api.ui.serving import build_assets, choose_encoding, compress, load_assets

FILES = {
    "index.html": b'<link href="/ui/app.css"><script type="module" src="/ui/app.js"></script>',
    "app.js": b'import { a } from "./shell.js";\nconst later = () => import("./stats.js");',
    "shell.js": b'export const a = "/ui/vendor/data.json";',
    "stats.js": b'export const b = 1; // mentions ./nothing.js and "./missing.js"',
    "app.css": b"body { color: red }",
    "vendor/data.json": b'{"x": 1}',
}


def test_references_name_the_fingerprinted_assets() -> None:
    assets = build_assets(FILES)
    app, shell = assets.by_name["app.js"], assets.by_name["shell.js"]
    data = assets.by_name["vendor/data.json"]
    assert f'from "./{shell.fingerprinted}"' in app.body.decode()
    assert f'import("./{assets.by_name["stats.js"].fingerprinted}")' in app.body.decode()
    assert f'"/ui/{data.fingerprinted}"' in shell.body.decode()
    assert data.fingerprinted.startswith("vendor/data.") and data.fingerprinted.endswith(".json")
    page = assets.by_name["index.html"].body.decode()
    assert f'src="/ui/{app.fingerprinted}"' in page
    assert f'href="/ui/{assets.by_name["app.css"].fingerprinted}"' in page
    # Unknown names are left as they are.
    assert '"./missing.js"' in assets.by_name["stats.js"].body.decode()


def test_a_change_renames_everything_that_leads_to_it() -> None:
    before = build_assets(FILES)
    after = build_assets({**FILES, "vendor/data.json": b'{"x": 2}'})
    for name in ("vendor/data.json", "shell.js", "app.js"):
        assert before.by_name[name].fingerprinted != after.by_name[name].fingerprinted, name
    for name in ("stats.js", "app.css"):
        assert before.by_name[name].fingerprinted == after.by_name[name].fingerprinted, name


def test_found_by_plain_and_fingerprinted_name() -> None:
    assets = build_assets(FILES)
    shell = assets.by_name["shell.js"]
    assert assets.find("shell.js") == (shell, False)
    assert assets.find(shell.fingerprinted) == (shell, True)
    assert assets.find("shell.0123456789.js") is None


def test_a_reference_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match=r"a\.js -> b\.js -> a\.js"):
        build_assets({"a.js": b'import "./b.js";', "b.js": b'import "./a.js";'})


def test_the_packaged_ui_has_no_cycle_and_every_module_is_fingerprinted() -> None:
    assets = load_assets()
    page = assets.by_name["index.html"].body.decode()
    assert f"/ui/{assets.by_name['app.js'].fingerprinted}" in page


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0, gzip;q=0", None),
        ("*", "br"),
        ("*;q=0.1, br;q=0", "gzip"),
        ("GZIP;Q=1", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_encoding_follows_accept_encoding(header: str | None, expected: str | None) -> None:
    assert choose_encoding(header) == expected


def test_compressed_bodies_decompress_to_the_original() -> None:
    body = b"const x = 1;\n" * 200
    assert brotli.decompress(compress(body, "br")) == body
    assert gzip.decompress(compress(body, "gzip")) == body
    assert len(compress(body, "br")) < len(body) // 10
