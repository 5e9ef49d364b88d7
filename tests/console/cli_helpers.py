"""CLI test helpers: run ``lync-failover`` as the operator does; write a run record as the runner does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import redis

from plugins.kit.model import Facts, Plan, SqlBackEnd, StepCall, step_call
from plugins.kit.requests import Request
from plugins.kit.shell import ParameterValue
from tasks.record import RunRecord
from tasks.run import JournalEntry, StepState

CLI = str(Path(sys.executable).with_name("lync-failover"))
REPO = Path(__file__).resolve().parents[2]
FAILED_POOL = "pool1.contoso.com"
BACKUP_POOL = "pool2.contoso.com"
FE2 = "fe01.pool2.contoso.com"
FAILURE = "the Central Management store is not available: the backup pool's SQL Server did not answer"


def lync_failover(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``lync-failover ARGS`` with ``env`` over a clean environment (no inventory or Redis inherited)."""
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LYNC_FAILOVER_INVENTORY")}
    return subprocess.run(
        [CLI, *args],
        env={**base, "COLUMNS": "200", **env},
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_failed_run(client: redis.Redis, run_id: str = "run-0001", dry_run: bool = False) -> list[StepCall]:
    """A run of pool1 as the runner records it: discovery, a CMS failover that needed a retry, a skipped
    Edge move, a pool failover that failed, and a verification never reached. Returns the step calls."""
    record = RunRecord(run_id, client)
    record.create(Request(pool=FAILED_POOL, dry_run=dry_run))
    start = datetime.fromisoformat(str(client.hget(record.key, "started")))  # the steps follow it
    facts = Facts(
        backup_pool=BACKUP_POOL,
        cms_pool=FAILED_POOL,
        cms_version=6,
        cms_active=False,
        cms_backup_pool=BACKUP_POOL,
        cms_backend=SqlBackEnd(
            primary_server="sql01.pool2.contoso.com",
            primary_instance="rtc",
            mirror_server="sql02.pool2.contoso.com",
            mirror_instance="rtc",
            principal="mirror",
        ),
    )
    record.set_facts(facts)
    locate = step_call("discovery.locate_cms", "locate", FE2)
    cms = step_call(
        "cms2013.fail_over_cms",
        "cms",
        FE2,
        params={
            "BackupSqlServerFqdn": "sql02.pool2.contoso.com",
            "BackupSqlInstanceName": "rtc",
            "Force": True,
        },
    )
    edge = step_call(
        "edge.move_next_hop",
        "edge",
        FE2,
        key="edge1.contoso.com",
        params={"Identity": "EdgeServer:edge1.contoso.com", "Registrar": f"Registrar:{BACKUP_POOL}"},
    )
    pool = step_call(
        "pool.fail_over", "pool", FE2, params={"PoolFqdn": FAILED_POOL, "DisasterMode": True, "Verbose": True}
    )
    verify = step_call("pool.verify_users_serviced", "verify", FE2)
    calls = [
        c.model_copy(update={"queue": "lync.site.datacenter2"}) for c in (locate, cms, edge, pool, verify)
    ]
    record.queue_steps(calls[:1])
    record.set_plan(Plan(steps=calls[1:], facts=facts))

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    def step(
        call: StepCall, state: StepState, begin: float, end: float, attempts: int = 1, **fields: str
    ) -> None:
        entry = record.step(call.id)
        assert entry is not None
        record.put_step(
            entry.model_copy(
                update={
                    "state": state,
                    "attempts": attempts,
                    "first_started": at(begin),
                    "started": at(begin),
                    "ended": at(end),
                    "worker": "lync.site.datacenter2@worker2",
                    **fields,
                }
            )
        )

    def command(
        call: StepCall,
        cmdlet: str,
        params: dict[str, ParameterValue],
        begin: float,
        outcome: str,
        output: str,
    ) -> None:
        record.append_journal(
            JournalEntry(
                step=call.id,
                server=call.server,
                command=cmdlet,
                parameters=params,
                started=at(begin),
                ended=at(begin + 0.8),
                outcome=outcome,
                output=output,
            )
        )

    step(locate, "succeeded", 0.5, 2.0, summary=f"the CMS is on {FAILED_POOL}")
    command(
        locate, "Get-CsService", {"CentralManagement": True}, 0.6, "ok", '{"PoolFqdn": "pool1.contoso.com"}'
    )
    step(cms, "succeeded", 3.0, 21.0, attempts=2, summary=f"the CMS failed over to {BACKUP_POOL}")
    command(cms, "Invoke-CsManagementServerFailover", dict(cms.params), 3.1, "error", "SQL timeout")
    command(cms, "Invoke-CsManagementServerFailover", dict(cms.params), 18.0, "ok", "")
    step(edge, "skipped", 22.0, 23.5, summary="edge1.contoso.com already uses pool2.contoso.com as next hop")
    command(edge, "Get-CsService", {"EdgeServer": True, "PoolFqdn": "edge1.contoso.com"}, 22.1, "ok", "")
    step(pool, "failed", 24.0, 40.0, error=FAILURE)
    command(pool, "Invoke-CsPoolFailover", dict(pool.params), 24.2, "error", FAILURE)
    record.finish("failed", error=f"run {run_id} stopped at step pool.fail_over on {FE2}: {FAILURE}")
    client.hset(record.key, "ended", at(41.0).isoformat())  # the run took 41 s, as its steps say
    return calls
