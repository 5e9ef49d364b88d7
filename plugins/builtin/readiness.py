"""Built-in plugin: know before the disaster. Read-only checks that a failover of each pool would work: the
pairing both ways, the Backup Service both ways, the CMS (status, replicas, database mirror, a Lync 2010 CMS's
export files), the Edge next hops the failover would move, and every server it would touch (reachable, with
its credential). Each check runs from a worker of the site the failover would run in; what it finds is a
:class:`Finding`, never an error: a readiness run reports, it does not stop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from plugins.kit.cms_store import CMS_STATUS, REPLICA_STATUS, cms_service_command
from plugins.kit.commands import send
from plugins.kit.edge_hops import hop
from plugins.kit.errors import PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    Facts,
    Finding,
    PlannedCommand,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.kit.remote import only_object, text
from plugins.kit.requests import ReadinessRequest
from plugins.kit.shell import RemoteError, RemoteObject, Shell
from plugins.kit.versions import lync_version

_T = TypeVar("_T")
#: The Backup Service's per-module states that mean the pair is in sync, from Microsoft's TechNet blog "What
#: does the status reported by Get-CsBackupServiceStatus mean": export FinalState or SteadyState (or
#: NotInitialized: a module with nothing to export, e.g. the CMS master away from this pool), import
#: NormalState. NonSteadyState (not caught up) and ErrorState are not ready.
IN_SYNC_EXPORT = ("FinalState", "SteadyState", "NotInitialized")
IN_SYNC_IMPORT = ("NormalState",)
EXPORTS = ("c:\\CsConfigurationFile.zip", "c:\\CsLisConfigurationFile.zip")


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """The readiness checks (all read-only, some per server in parallel)."""
    return [
        StepSpec(name="readiness.find_pair", mutating=False, action=find_pair, parallel=True),
        StepSpec(name="readiness.find_cms", mutating=False, action=find_cms),
        StepSpec(name="readiness.check_pair", mutating=False, action=check_pair, parallel=True),
        StepSpec(name="readiness.check_cms", mutating=False, action=check_cms),
        StepSpec(name="readiness.reach", mutating=False, action=reach, parallel=True),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """readiness.discover: each pool's backup pool, the CMS; readiness.check: the checks, where they run."""
    if not isinstance(context.request, ReadinessRequest):
        return []
    live = set(context.facts.live_sites or ())
    pools = [
        pool
        for pool in context.topology.front_end_pools()
        if pool.servers and (context.request.site is None or pool.site == context.request.site)
    ]
    if phase == "readiness.discover":
        calls = [
            step_call(
                "readiness.find_pair",
                phase,
                pool.servers[0],
                key=pool.fqdn,
                commands=[command("Get-CsPoolBackupRelationship", PoolFqdn=pool.fqdn)],
                description=f"the backup pool of {pool.fqdn}",
            )
            for pool in pools
            if pool.site in live
        ]
        anywhere = next((pool.servers[0] for pool in pools if pool.site in live), None)
        if anywhere is not None:
            reads = [cms_service_command("read"), CMS_STATUS, REPLICA_STATUS]
            calls.append(step_call("readiness.find_cms", phase, anywhere, commands=reads))
        return calls
    if phase == "readiness.check":
        return _checks(context, live)
    return []


def _checks(context: Context, live: set[str]) -> list[StepCall]:
    """Each pair's check and each server its failover would touch, on the backup pool's site; the CMS's."""
    facts, phase = context.facts, "readiness.check"
    pairs = [(pool, backup) for pool, backup in facts.backup_pools.items() if _site(context, backup) in live]
    calls = []
    for pool, backup in pairs:
        server = context.topology.front_end(backup)
        commands = [
            command("Get-CsPoolBackupRelationship", PoolFqdn=backup),
            command("Get-CsBackupServiceStatus", PoolFqdn=pool),
            command("Get-CsBackupServiceStatus", PoolFqdn=backup),
            command("Get-CsService", EdgeServer=True),
        ]
        if _cms_moves_by_hand(context):
            commands += [command("Test-Path", Path=path) for path in EXPORTS]
        calls.append(
            step_call(
                "readiness.check_pair",
                phase,
                server,
                key=pool,
                params={"pool": pool, "backup": backup},
                commands=commands,
                description=f"{pool} <-> {backup}: pairing, Backup Service, Edge next hops",
            )
        )
    touched = sorted({server for _, backup in pairs for server in context.topology.pool(backup).servers})
    calls += [
        step_call(
            "readiness.reach",
            phase,
            server,
            commands=[command("Get-CsWindowsService", Name="RTCSRV")],
            description=f"{server} answers with its credential",
        )
        for server in touched
    ]
    cms_backup = facts.backup_pools.get(facts.cms_pool or "")
    if cms_backup is not None and _site(context, cms_backup) in live:
        mirror = command("Get-CsDatabaseMirrorState", DatabaseType="CentralMgmt", PoolFqdn=cms_backup)
        calls.append(
            step_call(
                "readiness.check_cms",
                phase,
                context.topology.front_end(cms_backup),
                params={"pool": cms_backup},
                commands=[mirror],
                description=f"the CMS database can fail over to {cms_backup}",
            )
        )
    return calls


def _site(context: Context, pool: str) -> str | None:
    try:
        return context.topology.pool(pool).site
    except KeyError:
        return None


def _cms_moves_by_hand(context: Context) -> bool:
    """A Lync 2010 CMS moves with export files (seed step 6)."""
    version = lync_version(context.facts.cms_version)
    return version is not None and not version.cms_failover


def find_pair(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Get-CsPoolBackupRelationship``: the pool's backup pool, or a finding that it has none."""
    (planned,) = call.commands_for("read")
    pool = str(planned.parameters["PoolFqdn"])
    backup, problem = _read(lambda: _backup_of(shell, call, planned))
    if not backup:
        finding = Finding(
            check="pairing",
            pool=pool,
            ok=False,
            detail=f"no backup pool: {problem or 'none configured'}",
            fix=f"pair {pool} with a pool in another site in Topology Builder and publish",
        )
        return StepResult(summary=finding.detail, facts=_found(context, finding))
    return StepResult(summary=f"{pool} -> {backup}", facts=Facts(backup_pools={pool: backup}))


def find_cms(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Where the CMS is and whether it is healthy: status and every replica up to date."""
    service_read, status_read, replicas_read = call.commands_for("read")
    service, problem = _read(lambda: only_object(send(shell, call, service_read), "the CMS service"))
    if service is None:
        finding = Finding(check="CMS", pool=None, ok=False, detail=f"cannot locate the CMS: {problem}")
        return StepResult(summary=finding.detail, facts=_found(context, finding))
    cms_pool = text(service, "PoolFqdn").lower()
    version_text = text(service, "Version")
    status, problem = _read(lambda: only_object(send(shell, call, status_read), "the CMS status"))
    master = text(status, "ActiveMasterFqdn") if status is not None else ""
    findings = [
        Finding(
            check="CMS",
            pool=None,
            ok=bool(master),
            detail=f"the CMS on {cms_pool} is " + ("available" if master else f"NOT available {problem}"),
            fix="" if master else "bring the CMS back (or fail it over) before anything else",
        )
    ]
    replicas, problem = _read(lambda: send(shell, call, replicas_read).objects)
    behind = sorted(text(r, "ReplicaFqdn").lower() for r in replicas or [] if not r.get("UpToDate"))
    findings.append(
        Finding(
            check="CMS replication",
            pool=None,
            ok=replicas is not None and not behind,
            detail=f"replicas not up to date: {', '.join(behind)}"
            if behind
            else (problem or "every replica is up to date"),
            fix="find why they do not replicate (Get-CsManagementStoreReplicationStatus)" if behind else "",
        )
    )
    version = int(version_text) if version_text.isdigit() else None
    return StepResult(
        summary=f"CMS on {cms_pool}",
        facts=Facts(cms_pool=cms_pool, cms_version=version, findings=[*context.facts.findings, *findings]),
    )


def check_pair(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The pairing back, the Backup Service both ways, the Edge pools to move, a 2010 CMS's exports."""
    pool, backup = str(call.params["pool"]), str(call.params["backup"])
    reads = call.commands_for("read")
    findings = [
        _pairing_back(shell, call, reads[0], pool, backup),
        *(_backup_service(shell, call, planned, pool) for planned in reads[1:3]),
        _edges(shell, call, reads[3], pool, context),
        *(_export(shell, call, planned, pool) for planned in reads[4:]),
    ]
    bad = [f.check for f in findings if not f.ok]
    return StepResult(
        summary=f"{pool} <-> {backup}: " + (f"NOT ready ({', '.join(bad)})" if bad else "ready"),
        facts=_found(context, *findings),
    )


def check_cms(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The CMS database on the pool it would fail over to: one Back End principal (or no mirror at all)."""
    pool = str(call.params["pool"])
    (mirror,) = call.commands_for("read")
    states, problem = _read(lambda: send(shell, call, mirror).objects)
    sides = {(text(s, "StateOnPrimary"), text(s, "StateOnMirror")) for s in states or []}
    ok = states is not None and (all("Principal" in side for side in sides) or len(sides) == 1)
    finding = Finding(
        check="CMS database",
        pool=None,
        ok=ok,
        detail=f"the CMS database on {pool}: {sorted(sides) if states is not None else problem}",
        fix="" if ok else f"bring {pool}'s CMS databases to one principal (Invoke-CsDatabaseFailover)",
    )
    return StepResult(summary=finding.detail, facts=_found(context, finding))


def reach(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The server accepts a connection and a session with its credential (a harmless read)."""
    (planned,) = call.commands_for("read")
    up = shell.reachable(call.server)
    _, problem = _read(lambda: send(shell, call, planned)) if up else (None, "it refuses connections")
    finding = Finding(
        check=f"reach {call.server}",
        pool=None,
        ok=up and not problem,
        detail=f"{call.server}: " + (problem or "answers with its credential"),
        fix="" if up and not problem else "check the server, its WinRM listener and its inventory credential",
    )
    return StepResult(summary=finding.detail, facts=_found(context, finding))


def _pairing_back(shell: Shell, call: StepCall, planned: PlannedCommand, pool: str, backup: str) -> Finding:
    paired, problem = _read(lambda: _backup_of(shell, call, planned))
    ok = paired == pool
    return Finding(
        check="pairing",
        pool=pool,
        ok=ok,
        detail=f"{pool} -> {backup} and {backup} -> {paired or problem}",
        fix="" if ok else f"pair {backup} back with {pool} in Topology Builder and publish",
    )


def _backup_service(shell: Shell, call: StepCall, planned: PlannedCommand, pool: str) -> Finding:
    of = str(planned.parameters["PoolFqdn"])
    status, problem = _read(lambda: send(shell, call, planned).objects)
    modules = _modules(status or [])
    behind = [
        f"{m.get('Identity')}: export {m.get('ExportStatus')}, import {m.get('ImportStatus')}"
        for m in modules
        if m.get("ExportStatus") not in IN_SYNC_EXPORT or m.get("ImportStatus") not in IN_SYNC_IMPORT
    ]
    ok = status is not None and bool(modules) and not behind
    if status is None:
        detail = f"{of}: {problem}"
    elif not modules:
        detail = f"{of}: no backup module reported"
    else:
        detail = f"{of}: " + ("; ".join(behind) if behind else f"{len(modules)} modules in sync")
    return Finding(
        check=f"Backup Service of {of}",
        pool=pool,
        ok=ok,
        detail=detail,
        fix="" if ok else f"run Invoke-CsBackupServiceSync -PoolFqdn {of} and find why it is not in sync",
    )


def _found(context: Context, *findings: Finding) -> Facts:
    """The run's findings so far and these (a step's facts replace a list; parallel steps' lists unite)."""
    return Facts(findings=[*context.facts.findings, *findings])


def _modules(status: list[RemoteObject]) -> list[dict[str, object]]:
    """The ``BackupModules`` entries of Get-CsBackupServiceStatus's answer."""
    listed = [obj.get("BackupModules") for obj in status]
    return [
        module
        for entries in listed
        if isinstance(entries, list)
        for module in entries
        if isinstance(module, dict)
    ]


def _edges(shell: Shell, call: StepCall, planned: PlannedCommand, pool: str, context: Context) -> Finding:
    edges, problem = _read(lambda: [hop(edge) for edge in send(shell, call, planned).objects])
    using = [h.edge_pool for h in edges or [] if h.next_hop == pool]
    return Finding(
        check="Edge next hops",
        pool=pool,
        ok=edges is not None,
        detail=(f"a failover moves {', '.join(using)} off {pool}" if using else f"no Edge pool uses {pool}")
        if edges is not None
        else f"cannot read the Edge pools: {problem}",
    )


def _export(shell: Shell, call: StepCall, planned: PlannedCommand, pool: str) -> Finding:
    path = str(planned.parameters["Path"])
    found, problem = _read(lambda: send(shell, call, planned).objects)
    ok = bool(found) and found is not None and found[0].text.strip().lower() == "true"
    return Finding(
        check=f"export {path}",
        pool=pool,
        ok=ok,
        detail=f"{path} on {call.server}: " + ("present" if ok else problem or "missing"),
        fix="" if ok else f"export the configuration to {path} on {call.server} (Export-CsConfiguration)",
    )


def _backup_of(shell: Shell, call: StepCall, planned: PlannedCommand) -> str:
    """The BackupPoolFqdn ``Get-CsPoolBackupRelationship`` reports."""
    return text(only_object(send(shell, call, planned), "a backup relationship"), "BackupPoolFqdn").lower()


def _read(read: Callable[[], _T]) -> tuple[_T | None, str]:
    """What ``read`` returns, or None and why it could not (a remote error or a missing object)."""
    try:
        return read(), ""
    except (RemoteError, PreconditionError) as error:
        return None, str(error)
