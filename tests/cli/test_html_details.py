"""The HTML report reads right: a dry run is titled as one."""

from __future__ import annotations

import re

import redis

from tests.cli.cli_helpers import FAILED_POOL, lync_failover, write_failed_run


def html_report(redis_url: str, run_id: str = "run-0001") -> str:
    result = lync_failover("report", run_id, "--format", "html", env={"REDIS_URL": redis_url})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_dry_run_s_report_is_titled_dry_run(redis_client: redis.Redis, redis_url: str) -> None:
    write_failed_run(redis_client, "dry-0001", dry_run=True)
    write_failed_run(redis_client, "run-0001")

    dry = re.search(r"<h1>(.*?)<span", html_report(redis_url, "dry-0001"), re.S)
    real = re.search(r"<h1>(.*?)<span", html_report(redis_url, "run-0001"), re.S)

    assert dry is not None and dry.group(1).strip() == f"Dry run of {FAILED_POOL}"
    assert real is not None and real.group(1).strip() == f"Failover of {FAILED_POOL}"
