"""QR codes of short URLs (segno): SVG or PNG, black on white so they scan in dark mode too."""

from __future__ import annotations

import io

import segno

from shortlink.domain.errors import InvalidRequest

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
MIN_SIZE, MAX_SIZE, DEFAULT_SIZE = 64, 2048, 320
_BORDER = 4  # modules of quiet zone, as the standard asks


def parse_qr_request(format_: str | None, size: str | None) -> tuple[str, int]:
    kind = format_ or "svg"
    if kind not in FORMATS:
        raise InvalidRequest("format must be 'svg' or 'png'")
    try:
        pixels = int(size) if size else DEFAULT_SIZE
    except ValueError:
        raise InvalidRequest(f"size must be an integer ({MIN_SIZE}-{MAX_SIZE})") from None
    if not MIN_SIZE <= pixels <= MAX_SIZE:
        raise InvalidRequest(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels")
    return kind, pixels


def render_qr(text: str, kind: str, size: int) -> bytes:
    """The largest whole-pixel module scale whose image fits in ``size`` pixels."""
    code = segno.make(text, error="m", micro=False)
    width, _ = code.symbol_size(scale=1, border=_BORDER)
    out = io.BytesIO()
    options = {"svgns": True, "xmldecl": False} if kind == "svg" else {}
    code.save(
        out, kind=kind, scale=max(1, size // width), border=_BORDER, dark="#000", light="#fff",
        **options,
    )  # fmt: skip
    return out.getvalue()
