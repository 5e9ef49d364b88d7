"""The operator's whole night against the lab: plan, run --yes, then the report lists what the servers got."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from tests.console.cli_helpers import lync_failover
from tests.fixtures_celery import StartWorkers
from tests.fixtures_lab import RunningLab

POOL = "pool1.contoso.com"
#: Sent by the executor when it opens a session, not by a step: the journal of a run does not list it.
SESSION_SETUP = {"Import-Module"}


def test_plan_then_run_fails_the_pool_over_and_the_report_lists_every_command(
    lab_factory: Callable[..., RunningLab], celery_workers: StartWorkers, redis_url: str
) -> None:
    lab = lab_factory("cms-2013-primary")
    lab.engine.set_faults({"replication_lag_seconds": 1})
    workers = celery_workers(lab.inventory_path, lab.queues, lab.password_env)
    env = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path), **lab.password_env}

    # A terminal wide enough for each planned command to stay on one line of the plan table.
    planned = lync_failover("plan", POOL, env={**env, "COLUMNS": "400"}, timeout=120)
    assert planned.returncode == 0, planned.stderr + workers.logs()[-4000:]
    for command in (
        "check: Get-CsService -CentralManagement",
        "act: Invoke-CsManagementServerFailover -BackupSqlServerFqdn sql03.contoso.com "
        "-BackupSqlInstanceName rtc -BackupMirrorSqlServerFqdn sql04.contoso.com "
        "-BackupMirrorSqlInstanceName rtc -Force",
        f"check: Get-CsRegistrarConfiguration -Identity Service:Registrar:{POOL}",
        f"act: Invoke-CsPoolFailover -PoolFqdn {POOL} -DisasterMode -Verbose",
    ):
        assert command in planned.stdout, planned.stdout

    ran = lync_failover("run", POOL, "--yes", env=env, timeout=180)
    assert ran.returncode == 0, ran.stdout + ran.stderr + workers.logs()[-4000:]
    assert lab.engine.verify() == {"ok": True, "differences": []}

    run_id = ran.stdout.split("Run ")[1].split()[0]
    reported = lync_failover("report", run_id, "--format", "json", env=env)
    assert reported.returncode == 0, reported.stderr
    audit = json.loads(reported.stdout)
    commands = [(c["server"], c["command"]) for c in audit["commands"]]
    # `run` shows the plan through a dry run of its own first: the real run's commands start with its record.
    started = datetime.fromisoformat(audit["started"])
    received = [
        (str(entry["server"]), str(entry["cmdlet"]))
        for entry in lab.engine.journal()
        if datetime.fromisoformat(str(entry["started"])) >= started and entry["cmdlet"] not in SESSION_SETUP
    ]
    missing = Counter(received) - Counter(commands)
    assert not missing and Counter(commands) == Counter(received), f"not in the report: {missing}"
    assert any(command == "Invoke-CsPoolFailover" for _, command in commands)
