"""Errors as a log or a pipe receives them: one message a line, the suggested command unbroken."""

from __future__ import annotations

import redis

from tests.console.cli_helpers import lync_failover


def test_an_error_is_not_wrapped_at_80_columns_when_stderr_is_not_a_terminal(
    redis_client: redis.Redis, redis_url: str
) -> None:
    result = lync_failover("report", "no-such-run", env={"REDIS_URL": redis_url, "COLUMNS": "80"})

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert len(lines[0]) > 80 and "check the id (`lync-failover runs` lists recent runs;" in lines[0]
