"""What the README's first steps promise (issue 20): commands that work with
``--data-dir`` too, and every reserved alias named."""

from __future__ import annotations

import re
from pathlib import Path

from shortlink.domain.aliases import RESERVED

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_try_it_reads_the_key_from_the_data_dir_in_use() -> None:
    try_it = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
    assert "cat .shortlink/api_key" not in try_it  # breaks with scripts/dev --data-dir
    assert "SHORTLINK_DATA_DIR" in try_it and "bot" in try_it


def test_every_reserved_alias_is_named() -> None:
    line = next(p for p in README.split("\n\n") if "Reserved aliases" in p)
    named = set(re.findall(r"`([^`]+)`", line))
    assert not RESERVED - named, sorted(RESERVED - named)
