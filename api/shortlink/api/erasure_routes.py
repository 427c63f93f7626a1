"""DELETE /v1/urls/{code}/clicks and /v1/workspace/clicks (issue 23, privacy): erase
stored clicks, all of them or whole UTC days (``from``/``to``), of one link or of every
link of the caller's workspace. Admins and owners only (the endpoint table); each
erasure is an audit entry (``clicks.erase``), a refused attempt one too (the guard)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sanic import Blueprint
from sanic.response import HTTPResponse, empty

from shortlink.adapters.audit import audit_context
from shortlink.adapters.clickhouse_erasure import erase_clicks
from shortlink.api.auth import principal_of
from shortlink.api.context import ApiRequest
from shortlink.domain.click_erasure import ErasureRange, parse_erasure_range
from shortlink.domain.errors import AnalyticsUnavailable

log = logging.getLogger(__name__)

erasure = Blueprint("erasure", url_prefix="/v1")


@erasure.delete("/urls/<code:str>/clicks", name="erase_url_clicks")
async def erase_url_clicks(request: ApiRequest, code: str) -> HTTPResponse:
    key = principal_of(request)
    span = _range(request)
    link = await request.app.ctx.links.get(key.workspace, code)  # 404 unless the caller's
    await _erase(request, key.workspace, [link.code], span, "link", link.code)
    return empty(status=204)


@erasure.delete("/workspace/clicks", name="erase_workspace_clicks")
async def erase_workspace_clicks(request: ApiRequest) -> HTTPResponse:
    key = principal_of(request)
    span = _range(request)
    codes = await request.app.ctx.links.codes(key.workspace)
    await _erase(request, key.workspace, codes, span, "workspace", key.workspace)
    return empty(status=204)


def _range(request: ApiRequest) -> ErasureRange:
    given = request.get_args(keep_blank_values=True)  # "?to=" is a bad bound, not none
    return parse_erasure_range(
        {name: str(given.get(name) or "") for name in ("from", "to") if name in given}
    )


async def _erase(
    request: ApiRequest,
    workspace: str,
    codes: Sequence[str],
    span: ErasureRange,
    target_type: str,
    target: str,
) -> None:
    store = request.app.ctx.clicks
    if store is None:
        raise AnalyticsUnavailable("Click analytics is not configured or not reachable yet")
    try:
        await erase_clicks(store, codes, span)
    except Exception as exc:
        log.error("click erasure failed", extra={"target": target, "error": repr(exc)})
        raise AnalyticsUnavailable("ClickHouse did not erase the clicks; try again") from None
    await request.app.ctx.backends.audit.record(
        workspace,
        audit_context.get(),
        "clicks.erase",
        target_type,
        target,
        {"from": request.args.get("from"), "to": request.args.get("to"),
         "links": len(codes)},
    )  # fmt: skip
