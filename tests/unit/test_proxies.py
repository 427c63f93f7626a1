"""Issue 13, finding 4: a proxy in front while SHORTLINK_PROXIES_COUNT=0 is noticed."""

import pytest

from shortlink.http.proxies import looks_proxied


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxied"),
    [
        ("10.0.3.4", "81.2.69.142", True),  # an ingress pod forwarding a visitor
        ("127.0.0.1", "81.2.69.142", True),
        ("fd00::1", "2001:db8::1", True),
        ("81.2.69.142", "10.0.0.1", False),  # a public client sending the header itself
        ("10.0.3.4", None, False),
        ("10.0.3.4", "", False),
        ("not-an-ip", "1.2.3.4", False),
    ],
)
def test_looks_proxied(peer, forwarded, proxied):
    assert looks_proxied(peer, forwarded) is proxied
