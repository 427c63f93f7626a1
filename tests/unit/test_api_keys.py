import hashlib

from shortlink.domain.api_keys import (
    KEY_PREFIX,
    display_prefix,
    generate_api_key,
    hash_api_key,
)


def test_generated_key_has_prefix_and_enough_entropy():
    key = generate_api_key()
    assert key.startswith("sl_") and KEY_PREFIX == "sl_"
    assert len(key) == 3 + 43  # 32 random bytes, base64url without padding
    assert set(key[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_generated_keys_are_distinct():
    keys = {generate_api_key() for _ in range(1000)}
    assert len(keys) == 1000


def test_hash_is_deterministic_32_byte_sha256():
    digest = hash_api_key("sl_abc")
    assert digest == hash_api_key("sl_abc")
    assert isinstance(digest, bytes) and len(digest) == 32
    assert digest == hashlib.sha256(b"sl_abc").digest()
    assert digest != hash_api_key("sl_abd")


def test_display_prefix_shows_prefix_and_six_characters():
    assert display_prefix("sl_ABCDEFGHIJ") == "sl_ABCDEF"
    key = generate_api_key()
    assert display_prefix(key) == key[:9]
    assert display_prefix("sl_ab") == "sl_ab"
