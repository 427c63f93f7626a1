"""A property of the redirector's paths: whatever the path (percent-encodings, NUL,
overlong, unicode, //host), never a 5xx, and never a redirect anywhere but the
link's own target."""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import ApiClient
from tests.harness import ServiceProcess

TARGET = "https://example.com/property/target"

_pieces = st.one_of(
    st.text(max_size=30).map(lambda t: quote(t, safe="")),  # unicode, NUL, controls: encoded
    st.binary(max_size=12).map(lambda b: "".join(f"%{x:02X}" for x in b)),  # any bytes
    st.sampled_from(["/", "//", "//evil.example", "%2F%2Fevil.example", "..", "%00", "%ED%A0%80",
                     "?unlock_token=x", "#", "%", "%zz", "\\", "@evil.example"]),
    st.integers(min_value=1, max_value=6000).map(lambda n: "a" * n),  # overlong
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=_pieces, suffix=_pieces, with_code=st.booleans())
def test_any_path_is_answered_without_5xx_or_a_foreign_redirect(
    stack: tuple[ServiceProcess, ServiceProcess, str],
    api: ApiClient,
    prefix: str,
    suffix: str,
    with_code: bool,
) -> None:
    code = _link_code(api)
    path = "/" + (prefix + code + suffix if with_code else prefix + suffix)
    address = urlsplit(stack[1].base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.putrequest("GET", path.replace(" ", "%20"), skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status < 500, (path, response.status)
    if 300 <= response.status < 400:
        assert response.getheader("Location") == TARGET, (path, response.getheader("Location"))


_codes: dict[str, str] = {}


def _link_code(api: ApiClient) -> str:
    if "code" not in _codes:
        created = api.call("POST", "/v1/urls", json={"original_url": TARGET})
        assert created.status_code == 201
        _codes["code"] = created.json()["short_code"]
    return _codes["code"]
