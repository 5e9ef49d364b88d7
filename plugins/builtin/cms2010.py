"""Built-in plugin: move the Central Management store to Backup_Pool when it ran on Lync 2010 (seed step 6).

Bootstrapper runs as one step per remaining Front End (a linear chain, each step routed to its site and
journaled in order) rather than a fan-out inside one task: a few Front Ends, seconds each. Each is skipped
on a server where ``Get-CsWindowsService -Name RTCMASTER`` shows the CMS service (the Master Replicator
Agent). A re-run after a run that stopped past the move finds the CMS answering on Backup_Pool, so it needs
no CMS failover; it plans Bootstrapper on every Front End there again, and only those without the service
run it.

Install-CsDatabase leaves nothing the CMS service shows, so an install sent by a worker that then died is
seen with ``Test-CsDatabase -CentralManagementDatabase`` (Lync Server 2013 and later) on the same instance:
both CMS databases at the version expected, it completed; else it may still run, and the step waits.
"""

from __future__ import annotations

from plugins.kit.cms_store import (
    cms_already_on_backup_pool,
    cms_service_command,
    cms_status_command,
    move_under_way,
    validation_calls,
)
from plugins.kit.commands import send, send_acts
from plugins.kit.errors import PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    EarlierActSeen,
    Facts,
    PlannedCommand,
    StepCall,
    StepResult,
    StepSpec,
    command,
    executable,
    local_command,
    step_call,
)
from plugins.kit.remote import is_true, text
from plugins.kit.shell import CmdletError, RemoteObject, Shell
from plugins.kit.versions import LYNC_2010, LYNC_2013, lync_version

#: The exports ``Move-CsManagementServer`` reads (made earlier by Export-CsConfiguration/-LisConfiguration).
CONFIGURATION_FILE = "c:\\CsConfigurationFile.zip"
LIS_CONFIGURATION_FILE = "c:\\CsLisConfigurationFile.zip"
#: The CMS's Master Replicator Agent: a Front End runs it once Move-CsManagementServer or Bootstrapper
#: installed the Central Management Server service there.
CMS_SERVICE = "RTCMASTER"


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Pre-flight the exports; install the CMS database; move the CMS; run Bootstrapper on the rest."""
    return [
        StepSpec(name="cms2010.check_exports", mutating=False, action=check_exports),
        StepSpec(
            name="cms2010.install_database",
            mutating=True,
            action=install_database,
            check=cms_already_on_backup_pool,
            earlier_act=earlier_install,
        ),
        StepSpec(
            name="cms2010.move_cms",
            mutating=True,
            action=move_cms,
            check=cms_already_on_backup_pool,
            diagnose=move_under_way,
        ),
        StepSpec(
            name="cms2010.bootstrap",
            mutating=True,
            action=bootstrap,
            check=cms_service_installed,
            server_bound=True,
            parallel=True,
        ),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """inspect: export files; cms: install, move, validate, replicas, Bootstrapper on the other Front Ends.

    When the CMS answers on the failover target (Backup_Pool of a Lync 2010 CMS), cms: Bootstrapper on each
    of its Front Ends, skipped where the CMS service runs: an earlier run may have stopped after the move.
    """
    facts = context.facts
    pool = facts.cms_backup_pool
    if not context.cms_must_fail_over():
        # The CMS pool is Lync 2013 by now (the move's target), so the version no longer tells.
        moved_to = context.survivor_pool()
        if phase != "cms" or moved_to is None or facts.cms_pool != moved_to:
            return []
        return bootstrap_calls(context, moved_to, context.topology.pool(moved_to).servers)
    version = lync_version(facts.cms_version)
    if version is None or version.cms_failover or pool is None:
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
    sql = {"SqlServerFqdn": backend.primary_server, "SqlInstanceName": backend.primary_instance}
    install = command("Install-CsDatabase", "act", CentralManagementDatabase=True, Clean=True, **sql)
    # Test-CsDatabase came with Lync Server 2013: a Backup_Pool of 2010 cannot tell an install's end.
    tested = lync_version(context.topology.pool(pool).version) != LYNC_2010
    installed = (
        [command("Test-CsDatabase", "recheck", CentralManagementDatabase=True, **sql)] if tested else []
    )
    # "must be run locally; it cannot be called from a remote management session" (its reference page).
    move = local_command(
        "Move-CsManagementServer",
        ConfigurationFileName=CONFIGURATION_FILE,
        LisConfigurationFileName=LIS_CONFIGURATION_FILE,
        Force=True,
    )
    return [
        step_call(
            "cms2010.install_database",
            phase,
            chosen,
            commands=[cms_service_command("check"), install, *installed],
            description=f"install a clean CMS database on {backend.primary_server}",
        ),
        step_call(
            "cms2010.move_cms",
            phase,
            chosen,
            commands=[cms_service_command("check"), move, cms_status_command("recheck")],
            description=f"Move-CsManagementServer to {pool}",
        ),
        *validation_calls(context, chosen),
        *bootstrap_calls(context, pool, [server for server in front_ends if server != chosen]),
    ]


def bootstrap_calls(context: Context, pool: str, servers: list[str]) -> list[StepCall]:
    """``Bootstrapper /Setup`` on each server of ``pool``, from the pool's version's deployment folder
    (Lync Server 2013's when the inventory gives no version), skipped where the CMS service is installed."""
    version = lync_version(context.topology.pool(pool).version) or LYNC_2013
    commands: list[PlannedCommand] = [
        cms_service_state_command(),
        executable(version.bootstrapper, "/Setup"),
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


def cms_service_state_command() -> PlannedCommand:
    """``Get-CsWindowsService -Name RTCMASTER``, run on the server itself: its CMS service, if installed.

    ``-ErrorAction SilentlyContinue``: a server without the service answers with no object, not with the
    "cannot find" error (absence is the answer, not a failure).
    """
    return command("Get-CsWindowsService", "check", Name=CMS_SERVICE, ErrorAction="SilentlyContinue")


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
        summary=f"export files present on {call.server}", facts=Facts(export_files={call.server: found})
    )


def install_database(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Install-CsDatabase -CentralManagementDatabase -Clean`` on Backup_Pool's Back End."""
    (install,) = call.commands_for("act")
    send_acts(shell, call)
    return StepResult(summary=f"CMS database installed on {install.parameters['SqlServerFqdn']}")


def earlier_install(shell: Shell, context: Context, call: StepCall) -> EarlierActSeen:
    """An install a lost worker sent completed when Test-CsDatabase shows every CMS database at the version
    it expects; otherwise it may still run (or failed: nothing tells), so the step waits."""
    tests = call.commands_for("recheck")
    if not tests:
        return EarlierActSeen(state="running", reason="Test-CsDatabase is not on this Lync version")
    try:
        databases = send(shell, call, tests[0]).objects
    except CmdletError as error:  # a read that fails tells nothing: the install may still run
        return EarlierActSeen(state="running", reason=f"Test-CsDatabase failed: {error.message}")
    missing = [text(database, "DatabaseName") or "?" for database in databases if not _current(database)]
    where = f"{tests[0].parameters['SqlServerFqdn']}\\{tests[0].parameters['SqlInstanceName']}"
    if databases and not missing:
        return EarlierActSeen(
            state="done", reason=f"CMS database installed on {where} (an earlier attempt's install completed)"
        )
    not_yet = ", ".join(missing) or "no CMS database"
    return EarlierActSeen(state="running", reason=f"Test-CsDatabase on {where}: {not_yet} not installed yet")


def _current(database: RemoteObject) -> bool:
    """Whether a Test-CsDatabase row shows its database installed at the version expected."""
    installed = text(database, "InstalledVersion")
    return bool(installed) and installed == text(database, "ExpectedVersion")


def move_cms(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Move-CsManagementServer ... -Force`` on one Front End of Backup_Pool."""
    send_acts(shell, call)
    pool = context.facts.cms_backup_pool
    return StepResult(summary=f"the CMS moved to {pool}", facts=Facts(cms_pool=pool, cms_active=True))


def cms_service_installed(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip where ``Get-CsWindowsService`` lists RTCMASTER: the CMS service is on this Front End already."""
    (planned,) = call.commands_for("check")
    services = send(shell, call, planned).objects
    if not any(text(service, "Name").upper() == CMS_SERVICE for service in services):
        return None
    return f"the CMS service ({CMS_SERVICE}) is already installed on {call.server}"


def bootstrap(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Bootstrapper /Setup``: install the CMS service on this Front End (setup is idempotent)."""
    send_acts(shell, call)
    return StepResult(summary=f"Bootstrapper /Setup completed on {call.server}")
