import pytest

from shortlink.adapters.postgres import COMMAND_TIMEOUT_SECONDS
from shortlink.adapters.redis_cache import FENCE_SECONDS, decode, encode
from shortlink.domain.links import Destination


@pytest.mark.parametrize(
    "destination",
    [
        Destination("https://example.com/", 302, None, None),
        Destination('https://exämple.com/ü?q="x"', 308, 1893456000.123456, "0123456789abcdef"),
        Destination("http://x.io", 301, 0.0, None),
    ],
)
def test_destination_round_trips(destination):
    raw = encode(destination)
    assert isinstance(raw, bytes)
    assert decode(raw) == destination


def test_negative_entry_round_trips_as_none():
    assert encode(None) == b"0"
    assert decode(encode(None)) is None


def test_encoding_is_compact_json_array():
    assert encode(Destination("https://a.b/", 302, None, None)) == b'["https://a.b/",302,null,null]'


def test_the_writer_fence_outlasts_the_slowest_database_read() -> None:
    # A reader's row can be as old as its query is long (up to the command timeout);
    # its fill must still land inside the fence of a change made meanwhile.
    assert FENCE_SECONDS > COMMAND_TIMEOUT_SECONDS + 2


def test_routed_destination_round_trips_with_its_options_and_tags():
    from shortlink.domain.link_option_parsing import parse_link_options
    from shortlink.domain.urls import UrlPolicy

    options = parse_link_options(
        {
            "rules": [
                {"conditions": {"country": ["DE"]}, "action": {"target": "https://de.example/"}}
            ],
            "max_clicks": 10,
            "utm": {"source": "x"},
            "tags": ["a"],
        },
        UrlPolicy(),
    )
    destination = Destination("https://a.b/?utm_source=x", 302, None, None, options, ("a",))
    assert decode(encode(destination)) == destination
    tagged_only = Destination("https://a.b/", 302, None, None, None, ("a", "b"))
    assert decode(encode(tagged_only)) == tagged_only
