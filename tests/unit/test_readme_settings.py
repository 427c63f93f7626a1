"""The READMEs' environment tables against the settings, both ways: every variable
Settings (and the operator's settings) read is a row, every row is a variable
something reads, and each documented default is the default (setting it changes
nothing)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from shortlink import dev
from shortlink.config import SECRET_VARIABLES, Settings
from shortlink.operator.settings import OperatorSettings

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
OPERATOR_README = REPO / "operator" / "README.md"
# Set by Kubernetes (the downward API) and named in the operator's defaults.
FROM_THE_POD = {"POD_NAMESPACE", "POD_NAME"}
# Rows for what `shortlink dev` reads before any Settings exist.
READ_BY_DEV = {"SHORTLINK_DATA_DIR"}
# Rows that stand for a family documented elsewhere.
FAMILIES = {"SHORTLINK_OPERATOR_*": OperatorSettings.from_env}


class Recording(Mapping[str, str]):
    """An environment that notes every variable asked for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked.add(name)
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def read_by(from_env: object) -> set[str]:
    env = Recording({})
    from_env(env)  # type: ignore[operator]
    return env.asked - {f"{name}_FILE" for name in SECRET_VARIABLES}  # _FILE: prose below


def table(readme: Path = README, heading: str = "## Configuration (environment)") -> dict[str, str]:
    """Variable → its default cell, from the section under ``heading``."""
    section = readme.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z_*]+)`", cells[0])
        defaults = cells[1].split(" / ") if len(names) > 1 else [cells[1]]
        assert len(defaults) == len(names), line
        for name, default in zip(names, defaults, strict=True):
            full = names[0].rsplit("_", 1)[0] + name if name.startswith("_") else name
            rows[full] = default
    return rows


def documented_default(cell: str) -> str | None:
    """The cell's value: its first `code` outside parentheses; None for 'none',
    '(required ...)', prose or another variable's value ($POD_NAME)."""
    plain = re.sub(r"\([^)]*\)", "", cell)
    found = re.search(r"`([^`$]+)`", plain)
    return found.group(1) if found and not plain.lstrip().startswith("`$") else None


def test_every_setting_is_in_the_table() -> None:
    assert sorted(read_by(Settings.from_env) - set(table())) == []


def test_every_row_is_a_setting() -> None:
    read = read_by(Settings.from_env)
    for name in table():
        if name in FAMILIES:
            prefix = name.removesuffix("*")
            assert any(n.startswith(prefix) for n in read_by(FAMILIES[name])), name
        elif name in READ_BY_DEV:
            assert f'os.environ.get("{name}")' in inspect.getsource(dev), name
        else:
            assert name in read, f"{name} is in the README but Settings never reads it"


@pytest.mark.parametrize("name", sorted(read_by(Settings.from_env)))
def test_each_documented_default_is_the_default(name: str) -> None:
    default = documented_default(table().get(name, ""))
    if name == "SHORTLINK_EVENTS":  # kafka if a broker is named, else off
        assert Settings.from_env({name: "off"}) == Settings.from_env({})
        brokers = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}
        assert Settings.from_env({**brokers, name: "kafka"}) == Settings.from_env(brokers)
    elif default is not None:
        assert Settings.from_env({name: default}) == Settings.from_env({}), default
    else:  # none, or required: unset is the default
        assert Settings.from_env({name: ""}) == Settings.from_env({})


def operator_table() -> dict[str, str]:
    return table(OPERATOR_README, "## Settings (environment)")


def test_the_operators_table_is_its_settings() -> None:
    read = read_by(OperatorSettings.from_env) - FROM_THE_POD
    assert sorted(read - set(operator_table())) == []
    assert sorted(set(operator_table()) - read) == []


@pytest.mark.parametrize("name", sorted(operator_table()))
def test_each_operator_default_is_the_default(name: str) -> None:
    default = documented_default(operator_table()[name])
    setting = OperatorSettings.from_env({name: default or ""})
    assert setting == OperatorSettings.from_env({}), default
