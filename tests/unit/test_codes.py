import string

import pytest

from shortlink.domain.codes import ALPHABET, CODE_LENGTH, generate_code, generate_codes


def test_alphabet_is_exactly_base62():
    assert len(ALPHABET) == 62
    assert set(ALPHABET) == set(string.digits + string.ascii_letters)


def test_generated_code_is_seven_base62_characters():
    for _ in range(200):
        code = generate_code()
        assert len(code) == CODE_LENGTH == 7
        assert set(code) <= set(ALPHABET)


@pytest.mark.parametrize("length", [1, 4, 12])
def test_generate_code_honours_length(length):
    assert len(generate_code(length)) == length


@pytest.mark.parametrize("count", [0, 1, 50])
def test_generate_codes_returns_exactly_count_distinct_codes(count):
    codes = generate_codes(count)
    assert len(codes) == count
    assert len(set(codes)) == count


def test_generate_codes_terminates_when_space_is_tiny():
    # Length 1 has only 62 possible codes: asking for all of them must still work.
    codes = generate_codes(62, length=1)
    assert sorted(codes) == sorted(ALPHABET)


def test_ten_thousand_codes_are_distinct_and_use_the_whole_alphabet():
    codes = [generate_code() for _ in range(10_000)]
    assert len(set(codes)) == 10_000
    assert set("".join(codes)) == set(ALPHABET)


def test_character_distribution_is_roughly_uniform():
    chars = "".join(generate_code() for _ in range(10_000))  # 70k characters
    expected = len(chars) / 62  # ~1129 each; a 6-sigma band keeps this non-flaky
    counts = {c: chars.count(c) for c in ALPHABET}
    assert all(expected * 0.8 < n < expected * 1.2 for n in counts.values()), counts


def test_generate_codes_avoids_excluded_codes():
    # Length-1 codes have 62 possibilities: excluding 61 leaves exactly one.
    excluded = set(ALPHABET[:61])
    assert generate_codes(1, exclude=excluded, length=1) == [ALPHABET[61]]
