"""A command that failed shows its error where the operator reads it: the live view and every report."""

from __future__ import annotations

import pytest
import redis

from tests.console.cli_helpers import FAILED_POOL, FAILURE, FE2, lync_failover, write_failed_run


@pytest.fixture
def failed_run(redis_client: redis.Redis, redis_url: str) -> dict[str, str]:
    """The environment of a CLI whose Redis holds the failed run ``run-0001``."""
    write_failed_run(redis_client)
    return {"REDIS_URL": redis_url}


def test_watch_shows_the_error_of_each_failed_command(failed_run: dict[str, str]) -> None:
    result = lync_failover("watch", "run-0001", env=failed_run)

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    cms = next(line for line in lines if "Invoke-CsManagementServerFailover" in line and " error" in line)
    assert cms.endswith("error: SQL timeout")
    pool = next(line for line in lines if f"Invoke-CsPoolFailover -PoolFqdn {FAILED_POOL}" in line)
    assert pool.endswith(f"error: {FAILURE}")
    located = next(line for line in lines if "Get-CsService -CentralManagement" in line)
    assert located.endswith(" ok"), "a command that succeeded shows no output"


def test_the_text_report_s_commands_table_carries_the_error(failed_run: dict[str, str]) -> None:
    result = lync_failover("report", "run-0001", env=failed_run)

    assert result.returncode == 0, result.stderr
    table = result.stdout.split("\nCOMMANDS\n")[1].split("\nTIMELINE\n")[0].splitlines()
    assert table[0].split()[:6] == ["#", "started", "server", "command", "outcome", "error"]
    pool = next(line for line in table if "Invoke-CsPoolFailover" in line)
    assert pool.split("  error  ")[1].lstrip().startswith(FAILURE)


def test_the_markdown_report_s_commands_table_carries_the_error(failed_run: dict[str, str]) -> None:
    result = lync_failover("report", "run-0001", "--format", "markdown", env=failed_run)

    assert result.returncode == 0, result.stderr
    rows = result.stdout.split("## Commands\n")[1].split("## Timeline")[0].splitlines()
    assert "| outcome | error |" in rows[1]
    cms = [row for row in rows if "Invoke-CsManagementServerFailover" in row]
    assert "| error | SQL timeout |" in cms[0] and "| ok |  |" in cms[1]
    assert any(FE2 in row and f"| error | {FAILURE} |" in row for row in rows)
