"""``lync-failover runs`` on an 80-column log: whole run ids, dry runs marked as such."""

from __future__ import annotations

import re

import redis

from tests.console.cli_helpers import lync_failover, write_failed_run

FAILOVER_ID = "21b5012b-4cda-4f4e-9d5a-0c3f2e1a7b66"
DRY_RUN_ID = "7e0c9a41-2b8d-4c55-a1f3-5d9e8b7c6a10"


def test_runs_shows_whole_ids_at_80_columns_and_marks_dry_runs(
    redis_client: redis.Redis, redis_url: str
) -> None:
    write_failed_run(redis_client, FAILOVER_ID)
    write_failed_run(redis_client, DRY_RUN_ID, dry_run=True)

    result = lync_failover("runs", env={"REDIS_URL": redis_url, "COLUMNS": "80"})

    assert result.returncode == 0, result.stderr
    rows = re.split(r"\n(?=\S*\s*│\s*[0-9a-f]{8}-)", result.stdout)  # a table row starts with a run id
    failover = next(row for row in rows if FAILOVER_ID in row)
    dry = next(row for row in rows if DRY_RUN_ID in row)
    assert "(dry run)" in dry and "dry run" not in failover
