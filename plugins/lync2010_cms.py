"""Built-in plugin: move the Central Management store to Backup_Pool when it ran on Lync 2010 (seed step 6).

Bootstrapper runs as one step per remaining Front End (a linear chain, each step routed to its site and
journaled in order) rather than a fan-out inside one task: a few Front Ends, seconds each. A re-run after a
run that stopped past the move finds the CMS already on Backup_Pool and plans Bootstrapper again, on every
Front End there; each is skipped once the failed pool is failed over, which a run does only after them.
"""

from __future__ import annotations

from plugins import hookimpl
from plugins.cms_replication import cms_already_on_backup_pool, cms_service_command, validation_calls
from plugins.commands import send, send_acts
from plugins.model import (
    Context,
    PlannedCommand,
    PreconditionError,
    StepCall,
    StepResult,
    StepSpec,
    command,
    executable,
    step_call,
)
from plugins.pool import pool_failed_over, pool_state_command
from plugins.remote import is_true
from plugins.shell import Shell

VERSION = 5
#: The exports ``Move-CsManagementServer`` reads (made earlier by Export-CsConfiguration/-LisConfiguration).
CONFIGURATION_FILE = "c:\\CsConfigurationFile.zip"
LIS_CONFIGURATION_FILE = "c:\\CsLisConfigurationFile.zip"
#: Lync Server's deployment tool on a Front End, quoted for cmd.exe (the path has spaces).
BOOTSTRAPPER = '"C:\\Program Files\\Microsoft Lync Server 2013\\Deployment\\Bootstrapper.exe"'


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Pre-flight the exports; install the CMS database; move the CMS; run Bootstrapper on the rest."""
    return [
        StepSpec(name="cms2010.check_exports", phase="inspect", mutating=False, action=check_exports),
        StepSpec(
            name="cms2010.install_database",
            phase="cms",
            mutating=True,
            action=install_database,
            check=cms_already_on_backup_pool,
        ),
        StepSpec(
            name="cms2010.move_cms",
            phase="cms",
            mutating=True,
            action=move_cms,
            check=cms_already_on_backup_pool,
        ),
        StepSpec(
            name="cms2010.bootstrap",
            phase="cms",
            mutating=True,
            action=bootstrap,
            check=pool_already_failed_over,
            server_bound=True,
        ),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """inspect: export files; cms: install, move, validate, replicas, Bootstrapper on the other Front Ends.

    When the CMS is already on Backup_Pool (an earlier run moved it), cms: Bootstrapper on its Front Ends.
    """
    facts = context.facts
    pool = facts.cms_backup_pool
    if facts.cms_version != VERSION:
        return []
    if not context.cms_must_fail_over():
        # Backup_Pool of a Lync 2010 CMS is the failover target (discovery.find_cms_backup_pool).
        moved_to = facts.backup_pool
        if phase != "cms" or moved_to is None or facts.cms_pool != moved_to:
            return []
        return bootstrap_calls(context, context.topology.pool(moved_to).servers)
    if pool is None:
        return []
    front_ends = context.topology.pool(pool).servers
    if phase == "inspect":
        exports = [command("Test-Path", Path=path) for path in (CONFIGURATION_FILE, LIS_CONFIGURATION_FILE)]
        return [step_call("cms2010.check_exports", phase, front_ends[0], commands=exports)]
    if phase != "cms":
        return []
    backend = facts.cms_backend
    if backend is None:
        raise PreconditionError(
            "Backup_Pool's SQL servers are unknown: discovery.find_backup_sql must run first"
        )
    # The Front End whose export files were checked moves the CMS (another one if the first was down).
    chosen = next(iter(facts.export_files), front_ends[0])
    install = command(
        "Install-CsDatabase",
        "act",
        CentralManagementDatabase=True,
        Clean=True,
        SqlServerFqdn=backend.primary_server,
        SqlInstanceName=backend.primary_instance,
    )
    move = command(
        "Move-CsManagementServer",
        "act",
        ConfigurationFileName=CONFIGURATION_FILE,
        LisConfigurationFileName=LIS_CONFIGURATION_FILE,
        Force=True,
    )
    return [
        step_call(
            "cms2010.install_database",
            phase,
            chosen,
            commands=[cms_service_command("check"), install],
            description=f"install a clean CMS database on {backend.primary_server}",
        ),
        step_call(
            "cms2010.move_cms",
            phase,
            chosen,
            commands=[cms_service_command("check"), move],
            description=f"Move-CsManagementServer to {pool}",
        ),
        *validation_calls(context, chosen),
        *bootstrap_calls(context, [server for server in front_ends if server != chosen]),
    ]


def bootstrap_calls(context: Context, servers: list[str]) -> list[StepCall]:
    """``Bootstrapper /Setup`` on each server, skipped once the failed pool is failed over."""
    commands: list[PlannedCommand] = [
        pool_state_command(context.failed_pool, "check"),
        executable(BOOTSTRAPPER, "/Setup"),
    ]
    return [
        step_call(
            "cms2010.bootstrap",
            "cms",
            server,
            commands=commands,
            description="install the CMS service on this Front End",
        )
        for server in servers
    ]


def check_exports(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Pre-flight: both export files exist on the Front End that will run Move-CsManagementServer."""
    found = {
        str(planned.parameters["Path"]): is_true(send(shell, call, planned))
        for planned in call.commands_for("read")
    }
    missing = [path for path, exists in found.items() if not exists]
    if missing:
        raise PreconditionError(
            f"{', '.join(missing)} not found on {call.server}: export the configuration there first "
            "(Export-CsConfiguration / Export-CsLisConfiguration from a backup) and run again"
        )
    return StepResult(
        summary=f"export files present on {call.server}", facts={"export_files": {call.server: found}}
    )


def install_database(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Install-CsDatabase -CentralManagementDatabase -Clean`` on Backup_Pool's Back End."""
    (install,) = call.commands_for("act")
    send_acts(shell, call)
    return StepResult(summary=f"CMS database installed on {install.parameters['SqlServerFqdn']}")


def move_cms(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Move-CsManagementServer ... -Force`` on one Front End of Backup_Pool."""
    send_acts(shell, call)
    pool = context.facts.cms_backup_pool
    return StepResult(summary=f"the CMS moved to {pool}", facts={"cms_pool": pool, "cms_active": True})


def pool_already_failed_over(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip once the failed pool is failed over: a run does that only after Bootstrapper ran everywhere.

    No read cmdlet tells whether Bootstrapper ran on one server (the replicas are up to date without it),
    so the pool's PoolState marks the CMS phase as done.
    """
    if pool_failed_over(shell, context, call) is None:
        return None
    return f"{context.failed_pool} is already failed over: Bootstrapper ran before that"


def bootstrap(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Bootstrapper /Setup``: install the CMS service on this Front End (setup is idempotent)."""
    send_acts(shell, call)
    return StepResult(summary=f"Bootstrapper /Setup completed on {call.server}")
