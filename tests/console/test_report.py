"""The audit report of a run, read from its record in the real Redis, in every text format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from tests.console.cli_helpers import FAILED_POOL, FAILURE, FE2, lync_failover, write_failed_run


@pytest.fixture
def failed_run(redis_client: redis.Redis, redis_url: str) -> dict[str, str]:
    """The environment of a CLI whose Redis holds the failed run ``run-0001``."""
    write_failed_run(redis_client)
    return {"REDIS_URL": redis_url}


EVERY_COMMAND = [
    (FE2, "Get-CsService -CentralManagement", "ok"),
    (FE2, "Invoke-CsManagementServerFailover -BackupSqlServerFqdn sql02.pool2.contoso.com", "error"),
    (FE2, "Invoke-CsManagementServerFailover -BackupSqlServerFqdn sql02.pool2.contoso.com", "ok"),
    (FE2, "Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com", "ok"),
    (FE2, f"Invoke-CsPoolFailover -PoolFqdn {FAILED_POOL} -DisasterMode -Verbose", "error"),
]


def test_the_text_report_lists_every_command_with_server_parameters_and_outcome(
    failed_run: dict[str, str],
) -> None:
    result = lync_failover("report", "run-0001", env=failed_run)

    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("\nCOMMANDS\n")[1].split("\nTIMELINE\n")[0].splitlines()[1:]
    assert len(commands) == len(EVERY_COMMAND)
    for line, (server, command, outcome) in zip(commands, EVERY_COMMAND, strict=True):
        assert server in line and command in line and f" {outcome} " in line, line
    assert "-BackupSqlInstanceName rtc -Force" in result.stdout
    assert f"error     run run-0001 stopped at step pool.fail_over on {FE2}: {FAILURE}" in result.stdout
    assert "CMS database principal            mirror: sql02.pool2.contoso.com\\rtc" in result.stdout
    assert "pool.verify_users_serviced@fe01.pool2.contoso.com" in result.stdout.split("\nPLAN\n")[1]


def test_the_markdown_report_has_a_table_per_section_and_the_failed_steps_error(
    failed_run: dict[str, str],
) -> None:
    result = lync_failover("report", "run-0001", "--format", "markdown", env=failed_run)

    assert result.returncode == 0, result.stderr
    for heading in ("## Run", "## Request and facts", "## Plan", "## Steps", "## Commands", "## Timeline"):
        assert f"\n{heading}\n" in result.stdout
    step_row = next(line for line in result.stdout.splitlines() if line.startswith("| pool.fail_over@"))
    assert "| failed |" in step_row and FAILURE in step_row
    command_rows = [
        line for line in result.stdout.split("## Commands")[1].split("## Timeline")[0].splitlines()
    ]
    for server, command, outcome in EVERY_COMMAND:
        assert any(server in row and command in row and f"| {outcome} |" in row for row in command_rows), (
            command
        )


def test_the_json_report_carries_the_journal_facts_and_timeline(failed_run: dict[str, str]) -> None:
    result = lync_failover("report", "run-0001", "--format", "json", env=failed_run)

    assert result.returncode == 0, result.stderr
    audit = json.loads(result.stdout)
    assert audit["state"] == "failed" and FAILURE in audit["error"]
    assert [(c["server"], c["command"], c["outcome"]) for c in audit["commands"]] == [
        (server, command.split()[0], outcome) for server, command, outcome in EVERY_COMMAND
    ]
    assert audit["commands"][4]["parameters"] == {
        "PoolFqdn": FAILED_POOL,
        "DisasterMode": True,
        "Verbose": True,
    }
    assert audit["facts"]["cms_pool"] == FAILED_POOL
    assert [step["id"] for step in audit["plan"]["steps"]][-1] == "pool.verify_users_serviced@" + FE2
    outcomes = {bar["step_id"].split("@")[0]: bar["outcome"] for bar in audit["timeline"]}
    assert outcomes == {
        "discovery.locate_cms": "succeeded",
        "cms2013.fail_over_cms": "retried",
        "edge.move_next_hop": "skipped",
        "pool.fail_over": "failed",
    }


def test_a_report_goes_to_a_file_when_asked(failed_run: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "audit.md"

    result = lync_failover(
        "report", "run-0001", "--format", "markdown", "--output", str(target), env=failed_run
    )

    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith("# lync-failover run `run-0001`")


def test_an_unknown_run_id_names_the_id_and_how_to_find_runs(failed_run: dict[str, str]) -> None:
    for command in ("report", "watch"):
        result = lync_failover(command, "no-such-run", env=failed_run)

        assert result.returncode == 2
        assert "no run no-such-run in Redis" in result.stderr and "lync-failover runs" in result.stderr
        assert "Traceback" not in result.stderr


def test_runs_lists_the_run_with_its_state_pool_and_duration(failed_run: dict[str, str]) -> None:
    result = lync_failover("runs", env=failed_run)

    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "run-0001" in line)
    assert FAILED_POOL in row and "failed" in row and "s" in row.split("failed")[1]
