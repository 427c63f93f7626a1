"""``python -m monitoring``: regenerate the SLO rule files and the dashboard;
``python -m monitoring --check``: exit 1 if a committed file is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from monitoring import generated

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(__doc__, file=sys.stderr)
        return 2
    stale = []
    for relative, render in generated.FILES.items():
        path = HERE / relative
        text = render()
        if path.exists() and path.read_text() == text:
            continue
        if check:
            stale.append(relative)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote monitoring/{relative}")
    for relative in stale:
        print(f"monitoring/{relative} is out of date: run python -m monitoring", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
