import pytest

from shortlink.domain.errors import InvalidUrl
from shortlink.domain.urls import MAX_URL_LENGTH, UrlPolicy, validate_target_url

POLICY = UrlPolicy.build(blocked=["example.com", " Evil.ORG. ", ""], own=["sho.rt"])


def _rejected(url, policy=POLICY):
    with pytest.raises(InvalidUrl) as exc:
        validate_target_url(url, policy)
    assert exc.value.code == "INVALID_URL"
    return exc.value


def test_policy_build_normalises_case_dots_and_blanks():
    assert POLICY.blocked_domains == frozenset({"example.com", "evil.org"})
    assert POLICY.own_hosts == frozenset({"sho.rt"})


@pytest.mark.parametrize(
    "url",
    [
        "http://good.com",
        "https://good.com/path?q=1#frag",
        "HTTP://good.com/",
        "HtTpS://Good.Com/",
        "https://good.com:8443/x",
        "http://[::1]:8080/",
        "http://127.0.0.1/",
        "https://notexample.com/",  # lookalike of a blocked domain
        "https://example.com.evil-but-not-blocked.net/",
        "https://sho.rt.other.com/",
    ],
)
def test_accepts_http_and_https_urls(url):
    assert validate_target_url(url, POLICY) == url


def test_surrounding_whitespace_is_stripped():
    assert validate_target_url("  https://good.com/  ", POLICY) == "https://good.com/"


def test_exactly_max_length_is_accepted_and_one_more_is_not():
    base = "https://good.com/"
    exact = base + "a" * (MAX_URL_LENGTH - len(base))
    assert len(exact) == 2048
    assert validate_target_url(exact, POLICY) == exact
    assert "longer than 2048" in _rejected(exact + "a").message


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://good.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://good.com/file",
        "file:///etc/passwd",
        "good.com/no-scheme",
        "//good.com/scheme-relative",
    ],
)
def test_rejects_non_http_schemes(url):
    assert "Only http and https" in _rejected(url).message


@pytest.mark.parametrize("url", ["http://", "https:///path", "https:good.com", "http://:80/"])
def test_rejects_urls_without_host(url):
    assert "must have a host" in _rejected(url).message


@pytest.mark.parametrize(
    "url", ["http://example.com.", "http://x.example.com..", "http://sho.rt./"]
)
def test_trailing_dots_are_ignored_when_matching_hosts(url):
    assert "blocked" in _rejected(url).message or "own domain" in _rejected(url).message


def test_host_made_only_of_dots_has_no_host():
    assert "must have a host" in _rejected("http://../").message


@pytest.mark.parametrize(
    "url",
    [
        "http://good .com/",
        "http://good.com/a b",
        "http://good.com/\tx",
        "http://good.com/\nx",
        "http://good.com/\x00",
        "http://good.com/\x07",
        "http://good.com/\x7f",
        "http://good.com/\u00a0x",
        "http://good.com/\u2028x",
    ],
)
def test_rejects_whitespace_and_control_characters(url):
    assert "whitespace or control" in _rejected(url).message


def test_rejects_c1_control_characters():
    _rejected("http://good.com/\x9b")


@pytest.mark.parametrize("url", ["http://x:99999", "http://x:port/", "http://x:-1/"])
def test_rejects_malformed_ports(url):
    assert "malformed" in _rejected(url).message


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "https://EXAMPLE.com/x",
        "https://www.example.com/",
        "https://a.b.example.com:8080/",
        "https://user:pw@example.com/",
        "https://good.com@example.com/",
        "https://evil.org/",
    ],
)
def test_rejects_blocked_domains_and_subdomains(url):
    err = _rejected(url)
    assert "blocked" in err.message
    assert err.details["host"].endswith(("example.com", "evil.org"))


@pytest.mark.parametrize(
    "url", ["https://sho.rt/abc", "http://SHO.RT:8081/x", "https://www.sho.rt/"]
)
def test_rejects_own_short_host(url):
    assert "own domain" in _rejected(url).message


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com\\@good.com/",  # browsers read '\' as '/': host example.com
        "http://ex%61mple.com/",  # browsers percent-decode hosts
        "http://\uff45xample.com/",  # fullwidth 'e': IDNA maps it to example.com
    ],
)
def test_blocklist_cannot_be_bypassed_with_browser_equivalent_hosts(url):
    _rejected(url)


def test_empty_policy_accepts_anything_http():
    assert validate_target_url("http://example.com", UrlPolicy()) == "http://example.com"


@pytest.mark.parametrize("raw", [None, 42, b"http://good.com", ["http://good.com"], "", "   "])
def test_rejects_non_string_or_blank_input(raw):
    assert "non-empty string" in _rejected(raw).message


# Finding 1 of issue 13: the full stops a browser reads as "." and trailing dots.
_DOTS = ["\u3002", "\uff0e", "\uff61", "."]


@pytest.mark.parametrize("dot", _DOTS)
@pytest.mark.parametrize(
    "host", ["example.com", "www.example.com", "evil.org", "EXAMPLE.com", "\uff45xample.com"]
)
def test_blocklist_holds_against_unicode_full_stops_and_trailing_dots(host, dot):
    _rejected(f"https://{host.replace('.', dot)}/x")
    _rejected(f"https://{host}{dot}/x")
    _rejected(f"https://{host}{dot}{dot}/x")


@pytest.mark.parametrize("dot", _DOTS)
def test_own_host_guard_holds_against_unicode_full_stops_and_trailing_dots(dot):
    assert "own domain" in _rejected(f"https://sho{dot}rt{dot}/abc1234").message


def test_blocked_domains_given_in_unicode_are_idna_encoded():
    policy = UrlPolicy.build(blocked=["Bücher.DE", "\uff45\uff56\uff49\uff4c\u3002com"], own=[])
    assert policy.blocked_domains == frozenset({"xn--bcher-kva.de", "evil.com"})
    for url in ["https://bücher.de/", "https://xn--bcher-kva.de/", "https://www.evil.com./"]:
        with pytest.raises(InvalidUrl):
            validate_target_url(url, policy)


def test_non_transitional_mapping_as_browsers_do():
    # Browsers visit "straße.de" as xn--strae-oqa.de, not as strasse.de (IDNA 2003).
    policy = UrlPolicy.build(blocked=["straße.de"], own=[])
    with pytest.raises(InvalidUrl):
        validate_target_url("https://xn--strae-oqa.de/", policy)
    assert validate_target_url("https://strasse.de/", policy) == "https://strasse.de/"


def test_unicode_full_stops_are_stored_as_the_host_a_browser_visits():
    assert validate_target_url("https://good\u3002com\uff0e/x", POLICY) == "https://good.com/x"


@pytest.mark.parametrize("url", ["https://a..b.com/", "https://./", "https://\u3002/"])
def test_hosts_with_empty_labels_are_rejected(url):
    _rejected(url)


@pytest.mark.parametrize(
    "url", ["HtTp://a:4/0@%l+#.p", "https://a.io/%", "https://a.io/x?q=%4", "https://a.io/#%zz"]
)
def test_rejects_malformed_percent_escapes(url):
    # Not a URI (RFC 3986: '%' HEXDIG HEXDIG); the document promises format: uri back.
    with pytest.raises(InvalidUrl, match="percent"):
        validate_target_url(url, POLICY)


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://a.io/a b".replace(" ", "|"), "https://a.io/a%7Cb"),
        ('https://a.io/q?x="1"&y={2}', "https://a.io/q?x=%221%22&y=%7B2%7D"),
        ("https://a.io/p[1]?a[]=1#f#g", "https://a.io/p%5B1%5D?a%5B%5D=1#f%23g"),
        ("https://a.io/ok/%41?b=%2F#x", "https://a.io/ok/%41?b=%2F#x"),
        ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
    ],
)
def test_characters_a_uri_cannot_hold_are_percent_encoded(url, stored):
    assert validate_target_url(url, UrlPolicy()) == stored
