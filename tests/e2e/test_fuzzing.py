"""schemathesis against the API's served OpenAPI document, every check: a request
the document calls valid is accepted, one it calls invalid is refused, no 5xx,
every answer as documented. Time-bounded: SHORTLINK_FUZZ_SECONDS (default 60;
e.g. 900 for a long run), from a fixed seed so a CI failure can be replayed
(SHORTLINK_FUZZ_SEED picks another). What longer runs found is kept as seeds that every
run checks in test_contract_seeds.py. Rules relating two fields, which a schema can't
state, are kept out of generated requests by fuzz_hooks.py (and tested on their own).
The stack has a click store (chDB, the one ClickHouse engine to be had here), so the
stats operations answer instead of 503."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.harness import PostgresServer, RedisServer
from tests.harness.stack import API_KEY, embedded_analytics, start_stack

REPO_ROOT = Path(__file__).resolve().parents[2]

# A 414 or 431 refuses a request as surely as a 400 (schemathesis' default list lacks them).
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415",
                     "422", "428", "429", "431"]
# A valid body under an Idempotency-Key already used for another body is 422, as documented.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""


def test_the_api_keeps_its_documented_contract_under_fuzzing(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path: Path,
) -> None:
    seconds = int(os.environ.get("SHORTLINK_FUZZ_SECONDS", "60"))
    seed = os.environ.get("SHORTLINK_FUZZ_SEED", "20261206")
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path / "logs",
        SHORTLINK_RATE_LIMIT="100000000/minute",
        SHORTLINK_KEY_MINT_LIMIT="100000000/hour",
        **embedded_analytics(tmp_path / "chdb", "fuzz"),
    )
    try:
        # As an ordinary user: what an admin may send depends on who it is for, which
        # no schema can state (admins minting a non-admin key must name its owner).
        minted = httpx.post(
            f"{api.base_url}/v1/api-keys",
            json={"name": "fuzzer", "owner": "fuzzer"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert minted.status_code == 201, minted.text
        key = minted.json()["key"]
        (tmp_path / "schemathesis.toml").write_text(CONFIG)
        command = [
            str(Path(sys.executable).parent / "st"),
            "--config-file", str(tmp_path / "schemathesis.toml"),
            "run", f"{api.base_url}/v1/openapi.json",
            "--checks", "all",
            "--header", f"Authorization: Bearer {key}",
            "--max-time", str(seconds),
            "--seed", seed,
            "--continue-on-failure",
            "--no-color",
        ]  # fmt: skip
        hooks = {"SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks", "PYTHONPATH": str(REPO_ROOT)}
        run = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            env={**os.environ, **hooks},
        )
    finally:
        redirector.stop()
        api.stop()
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-2000:]


def test_the_hooks_leave_out_what_only_two_fields_together_refuse() -> None:
    """Cases the hooks must drop (the API refuses them for a rule no schema states),
    and ones they must keep: a fuzzer that skips too much proves nothing."""
    from tests.e2e.fuzz_hooks import _erasure_range_fine, _link_fine

    def variants(*ids: str | None) -> list[dict[str, object]]:
        given = [{"id": i} if i is not None else {} for i in ids]
        return [{**v, "target": "https://example.com/", "weight": 1} for v in given]

    # A given id taking the letter a variant without one gets (the third: 'c').
    clash = {"rules": [{"action": {"variants": variants(None, None, None, "c")}}]}
    assert not _link_fine(clash)
    assert not _link_fine({"variants": variants("b", None)})
    assert not _link_fine({"rules": [{"id": "rule-2"}, {}]})
    assert _link_fine({"rules": [{"action": {"variants": variants(None, None, "x")}}]})
    assert not _erasure_range_fine({"from": "2026-01-02", "to": "2026-01-01"})
    assert _erasure_range_fine({"to": "2026-01-01"})
