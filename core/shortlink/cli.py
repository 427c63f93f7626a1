"""The ``shortlink`` command: production processes (configured by environment) and ``dev``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# Only the standard library at import time: `scripts/dev --help` parses arguments
# on a fresh clone, before anything is installed.
if TYPE_CHECKING:
    from shortlink.config import Settings


def _api(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.api.app import create_app
    from shortlink.http.server import serve

    serve(create_app, settings, settings.api_port)


def _redirector(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.http.server import serve
    from shortlink.redirector.app import create_app

    serve(create_app, settings, settings.redirector_port)


def _analytics(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.analytics.worker import run_worker

    settings.require_analytics_salt()  # keys the visitor-id hashes
    asyncio.run(run_worker(settings))


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.adapters.migrations import apply_migrations

    applied = asyncio.run(apply_migrations(settings.database_url))
    print("applied: " + ", ".join(applied) if applied else "database is up to date")


def _create_api_key(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.adapters.postgres import ApiKeyRepository
    from shortlink.domain.api_keys import display_prefix, generate_api_key, hash_api_key

    async def create() -> str:
        import asyncpg

        conn = await asyncpg.connect(settings.database_url)
        try:
            key = generate_api_key()
            await ApiKeyRepository(conn).create(
                hash_api_key(key), display_prefix(key), args.name, args.owner, args.admin
            )
            return key
        finally:
            await conn.close()

    print(asyncio.run(create()))


def _operator(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.operator.main import run
    from shortlink.operator.settings import OperatorSettings

    config = OperatorSettings.from_env().with_namespaces(args.namespace, args.all_namespaces)
    run(settings, config)


def _postgres_rejoin(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.operator.postgres.rejoin import main

    main(args)


def _dev(settings: Settings, args: argparse.Namespace) -> None:
    from shortlink.dev import run_dev

    # Flags win over SHORTLINK_*_PORT, which Settings has already parsed and checked.
    run_dev(
        args.data_dir,
        args.api_port or settings.api_port,
        args.redirector_port or settings.redirector_port,
        args.api_ops_port or settings.api_ops_port,
        args.redirector_ops_port or settings.redirector_ops_port,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shortlink", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("api", help="serve the REST API").set_defaults(run=_api)
    commands.add_parser("redirector", help="serve short links").set_defaults(run=_redirector)
    commands.add_parser(
        "analytics", help="drain click events into ClickHouse (the analytics worker)"
    ).set_defaults(run=_analytics)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)
    key = commands.add_parser("create-api-key", help="mint an API key and print it")
    key.add_argument("--name", required=True)
    key.add_argument("--owner", required=True, help="links created with the key belong to it")
    key.add_argument("--admin", action="store_true")
    key.set_defaults(run=_create_api_key)
    operator = commands.add_parser(
        "operator", help="reconcile ShortLink resources into PostgreSQL and Redis (kopf)"
    )
    operator.add_argument(
        "--namespace",
        action="append",
        default=[],
        help="watch this namespace (repeatable); default: $SHORTLINK_OPERATOR_NAMESPACES or all",
    )
    operator.add_argument("--all-namespaces", action="store_true", help="watch every namespace")
    operator.set_defaults(run=_operator)
    rejoin = commands.add_parser(
        "postgres-rejoin",
        help="make a stopped old primary a standby of the new one (pg_rewind, else "
        "pg_basebackup); run on the member's node, as its data directory's owner",
    )
    rejoin.add_argument("--data-dir", required=True, type=Path, help="the member's PGDATA")
    rejoin.add_argument("--member", required=True, help="this member's name (slot, app name)")
    rejoin.add_argument("--primary-host", required=True, help="the current primary")
    rejoin.add_argument("--primary-port", type=int, default=5432)
    rejoin.add_argument(
        "--user",
        default=os.environ.get("PGUSER", "postgres"),
        help="a superuser on the primary (pg_rewind) allowed to replicate; default $PGUSER "
        "or postgres; its password is read from $PGPASSWORD",
    )
    rejoin.add_argument("--bin-dir", type=Path, default=None, help="PostgreSQL's bin directory")
    rejoin.set_defaults(run=_postgres_rejoin)
    dev = commands.add_parser(
        "dev", help="run API + redirector on embedded PostgreSQL and Redis (nothing to install)"
    )
    dev.add_argument(
        "--data-dir", default=None, help="default: $SHORTLINK_DATA_DIR or ./.shortlink"
    )
    dev.add_argument("--api-port", type=int, default=None, help="default 8080")
    dev.add_argument("--redirector-port", type=int, default=None, help="default 8081")
    dev.add_argument("--api-ops-port", type=int, default=None, help="default 9080")
    dev.add_argument("--redirector-ops-port", type=int, default=None, help="default 9081")
    dev.set_defaults(run=_dev)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from shortlink.config import ConfigError, Settings
    from shortlink.logs import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        args.run(settings, args)
    except ConfigError as exc:
        print(f"shortlink: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
