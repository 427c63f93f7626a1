"""The clustered variant of the ClickHouse schema (CLICKHOUSE_CLUSTER): each migration
statement rewritten for a cluster of shards and replicas.

- a table ``t`` becomes ``t_local`` ON CLUSTER, its engine the Replicated one
  (``/clickhouse/tables/{shard}/{database}/t_local``, ``{replica}``: the servers'
  macros), plus ``t`` itself as a Distributed table over ``t_local``: the names the
  code reads and writes stay the same. Clicks are sharded by ``cityHash64(code)``, so a
  link's clicks (and a replayed click) land on one shard and deduplicate there;
- materialized views read and write the ``_local`` tables (each shard aggregates what
  it stores);
- ``ALTER TABLE t`` alters ``t_local`` and ``t`` ON CLUSTER; ``MODIFY SETTING`` only
  ``t_local`` (storage settings mean nothing to a Distributed table);
- ``DROP VIEW`` drops the view ON CLUSTER.

Only parsing (EXPLAIN AST in chDB) and a local rehearsal of the non-replicated
shape are tested here: no ClickHouse server or Keeper can be had on this machine.
"""

from __future__ import annotations

import re

_TABLE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<name>\w+)(?P<body>.*?)"
    r"ENGINE = (?P<kind>\w*)MergeTree(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$",
    re.S,
)
_VIEW = re.compile(
    r"^CREATE MATERIALIZED VIEW IF NOT EXISTS (?P<name>\w+) TO (?P<target>\w+) AS(?P<select>.*)$",
    re.S,
)
_FROM = re.compile(r"\bFROM (\w+)")
_ALTER = re.compile(r"^ALTER TABLE (?P<name>\w+) (?P<rest>.*)$", re.S)
_DROP_VIEW = re.compile(r"^DROP VIEW IF EXISTS (?P<name>\w+)$")
# Which rows of a Distributed table go to which shard, when written through it.
SHARDING_KEYS = {"clicks": "cityHash64(code)"}


class UnclusterableStatement(ValueError):
    """A migration statement of a shape this rewrite doesn't know."""


def clustered(statement: str, cluster: str) -> list[str]:
    """``statement`` for a cluster named ``cluster`` (e.g. ``{cluster}``, a macro)."""
    on = f"ON CLUSTER '{cluster}'"
    if table := _TABLE.match(statement):
        name, kind, args = table["name"], table["kind"], table["args"]
        path = f"'/clickhouse/tables/{{shard}}/{{database}}/{name}_local', '{{replica}}'"
        engine = f"Replicated{kind}MergeTree({path}{', ' + args if args else ''})"
        key = SHARDING_KEYS.get(name, "rand()")
        return [
            f"CREATE TABLE IF NOT EXISTS {name}_local {on}{table['body']}"
            f"ENGINE = {engine}{table['rest']}",
            f"CREATE TABLE IF NOT EXISTS {name} {on} AS {name}_local"
            f" ENGINE = Distributed('{cluster}', currentDatabase(), '{name}_local', {key})",
        ]
    if view := _VIEW.match(statement):
        select = _FROM.sub(lambda m: f"FROM {m[1]}_local", view["select"])
        return [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view['name']} {on}"
            f" TO {view['target']}_local AS{select}"
        ]
    if alter := _ALTER.match(statement):
        name, rest = alter["name"], alter["rest"]
        local = f"ALTER TABLE {name}_local {on} {rest}"
        if rest.startswith("MODIFY SETTING"):
            return [local]
        return [local, f"ALTER TABLE {name} {on} {rest}"]
    if drop := _DROP_VIEW.match(statement):
        return [f"DROP VIEW IF EXISTS {drop['name']} {on}"]
    raise UnclusterableStatement(f"no clustered form for: {statement[:80]}")
