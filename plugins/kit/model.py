"""The objects that flow through a run: request, topology, facts, context, steps, plan, decisions, events.

Everything here is plain data that survives a JSON round trip (Celery's only serializer), except
:class:`StepSpec`, which holds the step's code and never travels.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from plugins.kit.requests import AnyRequest, FailbackRequest, Request, SiteRequest
from plugins.kit.shell import ParameterValue, Shell


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PoolInfo(_Data):
    """A pool as the inventory lists it: site, role (``FrontEnd`` or ``Edge``), servers in order, and its
    Lync version when the inventory gives it (plugins.kit.versions)."""

    fqdn: str
    site: str
    role: str
    servers: list[str]
    version: int | None = None


class Topology(_Data):
    """The pools and servers the runner can reach (from the inventory), for choosing where steps run."""

    pools: list[PoolInfo]

    def pool(self, fqdn: str) -> PoolInfo:
        """The pool with this FQDN (any case); KeyError names it when unknown."""
        for pool in self.pools:
            if pool.fqdn == fqdn.lower():
                return pool
        raise KeyError(f'pool "{fqdn}" is not in the inventory')

    def front_end(self, pool: str) -> str:
        """The Front End a step uses in ``pool``: its first server in inventory order."""
        servers = self.pool(pool).servers
        if not servers:
            raise KeyError(f'pool "{pool}" has no servers in the inventory')
        return servers[0]

    def other_front_ends(self, server: str) -> list[str]:
        """The other servers of ``server``'s Front End pool, in inventory order after it (wrapping round).

        Empty when ``server`` is not in a Front End pool of the inventory.
        """
        pool = next((p for p in self.front_end_pools() if server.lower() in p.servers), None)
        if pool is None:
            return []
        index = pool.servers.index(server.lower())
        return pool.servers[index + 1 :] + pool.servers[:index]

    def front_end_pools(self) -> list[PoolInfo]:
        """The Front End pools, in inventory order."""
        return [pool for pool in self.pools if pool.role == "FrontEnd"]

    def edge_pools(self) -> list[PoolInfo]:
        """The Edge pools, in inventory order."""
        return [pool for pool in self.pools if pool.role == "Edge"]


class SqlBackEnd(_Data):
    """A pool's back-end SQL servers (``mirror_server`` is empty without a mirror) and the CMS principal."""

    primary_server: str
    primary_instance: str
    mirror_server: str = ""
    mirror_instance: str = ""
    #: Which one is principal for the Central Management database: ``primary`` or ``mirror``.
    principal: Literal["primary", "mirror"] = "primary"


class EdgeHop(_Data):
    """An Edge pool and the Front End pool that is its internal next hop."""

    edge_pool: str
    next_hop: str


class Finding(_Data):
    """What a readiness check found: about a pool's failover (or, with no pool, about every pool's)."""

    check: str
    pool: str | None
    ok: bool
    detail: str
    #: What to do about it (when it is not ok).
    fix: str = ""


class EdgeMove(_Data):
    """A failover moved an Edge pool's next hop from a failed pool to another (a failback moves it back)."""

    edge_pool: str
    from_pool: str
    to_pool: str


class PluginFacts(_Data):
    """Facts a plugin keeps for itself, typed by it: subclass, set ``NAMESPACE`` (your plugin's name) and give
    every field a default; a step returns them in ``StepResult.own_facts``, a plugin reads them with
    ``context.facts.of(YourFacts)``."""

    NAMESPACE: ClassVar[str]


_Own = TypeVar("_Own", bound=PluginFacts)


class Facts(_Data):
    """What discovery found; ``None`` means not (yet) known."""

    #: The backup pool of the failed pool: where its users go (seed: Pool2).
    backup_pool: str | None = None
    #: A site run: the backup pool of each of its pools.
    backup_pools: dict[str, str] = Field(default_factory=dict)
    #: The pool hosting the Central Management Server (seed: CMS_Pool), its version (None when
    #: Get-CsService -CentralManagement wrote none) and whether that cmdlet marks its service Active.
    cms_pool: str | None = None
    cms_version: int | None = None
    cms_active: bool | None = None
    #: The host lines ``Invoke-CsManagementServerFailover -WhatIf`` printed.
    cms_whatif: list[str] = Field(default_factory=list)
    #: ``Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus``: empty = CMS unavailable.
    active_master: str = ""
    active_file_transfer_agents: list[str] = Field(default_factory=list)
    #: The replicas' FQDNs and whether each is up to date (empty when the CMS is unavailable).
    replicas: dict[str, bool] = Field(default_factory=dict)
    #: Seed step 4, as discovery decided it: whether the CMS fails over (None: not decided yet).
    cms_fails_over: bool | None = None
    #: The backup of the CMS pool (seed: Backup_Pool), known when the CMS must fail over.
    cms_backup_pool: str | None = None
    #: Backup_Pool's SQL servers and which is principal for the CMS database (Lync 2013 path).
    cms_backend: SqlBackEnd | None = None
    #: Edge pools whose next hop is a failed pool.
    edges_at_risk: list[EdgeHop] = Field(default_factory=list)
    #: The next hops this run moved (a failover), or the ones to move back (a failback).
    edge_moves: list[EdgeMove] = Field(default_factory=list)
    #: Lync 2010 path: for each server checked, which export files exist there.
    export_files: dict[str, dict[str, bool]] = Field(default_factory=dict)
    #: Servers this run could not reach: their steps moved to another Front End of the pool, and their
    #: replicas are not waited for.
    unreachable_servers: list[str] = Field(default_factory=list)
    #: A readiness check: the sites with a live worker on their queue (None: not known), and what the
    #: checks found.
    live_sites: list[str] | None = None
    #: A sample of the SIP addresses of users homed on the failed pool (``Request.user_sample`` of them),
    #: whose pool information the verification reads.
    sampled_users: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    #: Plugins' own facts by namespace (:class:`PluginFacts`): read them with :meth:`of`.
    plugins: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)

    def of(self, kind: type[_Own]) -> _Own:
        """A plugin's own facts (its defaults until a step set them)."""
        return kind.model_validate(self.plugins.get(kind.NAMESPACE, {}))

    def updated(self, changes: Facts, own: Sequence[PluginFacts] = ()) -> Facts:
        """These facts with each field ``changes`` sets replaced, and plugins' ``own`` facts stored."""
        update = {name: getattr(changes, name) for name in changes.model_fields_set - {"plugins"}}
        plugins = self.plugins | {facts.NAMESPACE: facts.model_dump(mode="json") for facts in own}
        return self.model_copy(update={**update, "plugins": plugins})

    def cms_available(self) -> bool:
        """The seed's test: ActiveMasterFqdn and ActiveFileTransferAgents are both set."""
        return bool(self.active_master) and bool(self.active_file_transfer_agents)

    def cms_must_fail_over(self, failed_pools: Collection[str]) -> bool:
        """Seed step 4: the CMS fails over when it is unavailable or was hosted on a failed pool."""
        if self.cms_pool is None:
            return False
        return self.cms_pool in failed_pools or not self.cms_available()


class Context(_Data):
    """What passes down the chain: the run id, the request, the facts so far and the topology."""

    run_id: str
    request: AnyRequest
    facts: Facts = Field(default_factory=Facts)
    topology: Topology

    @property
    def failed_pool(self) -> str:
        """The pool this run fails over or back (seed: Pool1); a site run has none (see failed_pools)."""
        if isinstance(self.request, Request | FailbackRequest):
            return self.request.pool
        raise ValueError(f"a {self.request.workflow} run is not about one pool: use failed_pools()")

    @property
    def failed_site(self) -> str | None:
        """The site lost with its pools and Edge pools (a site run, and its pools' runs); None otherwise."""
        if isinstance(self.request, SiteRequest):
            return self.request.site
        return self.request.lost_site if isinstance(self.request, Request) else None

    def failed_pools(self) -> list[str]:
        """The Front End pools down in this disaster: the run's pool, or every one of a lost site."""
        site = self.failed_site
        if site is not None:
            return [pool.fqdn for pool in self.topology.front_end_pools() if pool.site == site]
        return [self.request.pool] if isinstance(self.request, Request) else []

    def survivor_pool(self) -> str | None:
        """The pool that takes over and where discovery runs: the backup pool; for a site run, the first of
        its pools' backup pools outside the site (None until discovery found it)."""
        if isinstance(self.request, SiteRequest):
            failed = self.failed_pools()
            return next((b for b in self.facts.backup_pools.values() if b not in failed), None)
        return self.facts.backup_pool

    def cms_must_fail_over(self) -> bool:
        """Seed step 4 for this run's failed pools (:meth:`Facts.cms_must_fail_over`)."""
        return self.facts.cms_must_fail_over(self.failed_pools())

    def with_facts(self, changes: Facts, own: Sequence[PluginFacts] = ()) -> Context:
        """A copy whose facts carry the fields ``changes`` sets, and plugins' ``own`` facts."""
        return self.model_copy(update={"facts": self.facts.updated(changes, own)})


#: Why a step sends a command: ``check`` (its check reads whether the effect is in place; the step is
#: skipped when it is), ``act`` (its action changes the deployment), ``read`` (its action reads: discovery,
#: validation, polling), ``recheck`` (sent only after its action failed: what the step depends on, read
#: to decide whether to retry, remedy or fail).
CommandPurpose = Literal["check", "act", "read", "recheck"]


class PlannedCommand(_Data):
    """One remote command a step sends: a cmdlet with its exact parameters, or an executable.

    An executable (``executable=True``, run through the WinRS cmd shell) keeps its arguments in
    ``parameters["arguments"]``, as the journal records it.
    """

    cmdlet: str
    parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    purpose: CommandPurpose = "read"
    executable: bool = False
    #: Sent with ``Shell.run_locally``: the cmdlet must run in a logon on the server itself.
    local: bool = False

    @property
    def arguments(self) -> list[str]:
        """An executable's arguments."""
        value = self.parameters.get("arguments")
        return [str(item) for item in value] if isinstance(value, list) else []

    @property
    def line(self) -> str:
        """The command as PowerShell shows it (for reading only; never executed)."""
        return command_line(self.cmdlet, self.parameters)


class StepCall(_Data):
    """One step of a plan: which step, on which server, with which inputs, sending which commands.

    ``id`` is unique in the run; ``queue`` is set by the runner from the server's site. ``commands`` are the
    remote commands the step sends, in order (a check's reads first); the step's check and action send
    exactly these, so the plan shows what a run executes.
    """

    id: str
    step: str
    phase: str
    server: str
    params: dict[str, ParameterValue] = Field(default_factory=dict)
    commands: list[PlannedCommand] = Field(default_factory=list)
    description: str = ""
    queue: str = ""
    #: How many remedies this call has been through (a remedy runs at most once per call).
    remedies: int = 0

    def commands_for(self, purpose: CommandPurpose) -> list[PlannedCommand]:
        """The planned commands sent for ``purpose``, in order."""
        return [command for command in self.commands if command.purpose == purpose]


class Plan(_Data):
    """The ordered step calls a run executes after discovery; a dry run returns exactly this."""

    steps: list[StepCall]
    #: What discovery found, on which the choice of steps rests (later steps update the run's facts).
    facts: Facts = Field(default_factory=Facts)


class StepResult(_Data):
    """What a step's action returns: one line saying what it did, and what it found."""

    summary: str
    #: The facts it found: only the fields given (``Facts(backup_pool=...)``) change the run's facts.
    facts: Facts = Field(default_factory=Facts)
    #: Its plugin's own facts (a :class:`PluginFacts` subclass), kept under their namespace.
    own_facts: list[PluginFacts] = Field(default_factory=list)


#: A step's action and its check take the shell, the context and the call.
StepAction = Callable[[Shell, Context, StepCall], StepResult]
#: A check returns why the step's effect is already in place (the step is then skipped), or ``None``.
StepCheck = Callable[[Shell, Context, StepCall], str | None]
#: A diagnosis runs after the action of a mutating step failed and its check found the effect not in place:
#: it re-reads what the step depends on and returns the error the world explains (``NotReadyError``: retry;
#: ``PreconditionError``: fail saying what to do; an error a plugin's classify hook remediates), or None
#: when the world explains nothing (the action's own error is then classified). It never matches the
#: error's wording.
StepDiagnosis = Callable[[Shell, Context, StepCall, Exception], Exception | None]


class EarlierActSeen(_Data):
    """What the world shows of an act of the step that an earlier execution sent and never saw end (its
    worker died): ``done`` (its effect is in place, though the step's check cannot see it), ``running``, or
    ``ended`` (neither: it never arrived, or was refused or stopped; the step may act again)."""

    state: Literal["done", "running", "ended"]
    #: What was read, in a line (the step's summary when done; the journal's reason otherwise).
    reason: str


#: Reads what became of an earlier execution's act (see :class:`EarlierActSeen`); the step's check ran
#: first and found its effect not in place.
EarlierActReader = Callable[[Shell, Context, StepCall], EarlierActSeen]


class StepSpec(BaseModel):
    """A step a plugin provides; the runner makes it the Celery task ``lync.<name>``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    #: Whether the step changes the deployment (a dry run never runs one).
    mutating: bool
    #: Whether the step is about its server itself (Bootstrapper on each Front End): when the server is
    #: unreachable, it is never moved to another Front End; it is skipped, saying the server is down.
    server_bound: bool = False
    #: Whether its calls that stand next to each other in a plan run at once (one per server), the run
    #: going on when all are done; their facts are joined (lists and maps united).
    parallel: bool = False
    #: Whether its act may be sent again while an earlier execution's act may still run on the server: a
    #: second one changes nothing the first did not (a publish of the same topology). Such a step does not
    #: wait for the effect of an act in flight (it may have none to check) before acting again.
    repeatable: bool = False
    action: StepAction
    check: StepCheck | None = None
    diagnose: StepDiagnosis | None = None
    #: For a step redelivered while an earlier execution's act may still run: reads from a state the act sets
    #: (PoolState FailingOver while a failover runs) or leaves (a database installed) what became of it.
    #: Without it, the step waits for its check to see the effect until the act's deadline (step timeout).
    earlier_act: EarlierActReader | None = None


class Decision(_Data):
    """What to do about a failed step: ``retry`` later, ``remediate`` (run ``remedy``, retry) or ``fail``."""

    action: Literal["retry", "remediate", "fail"]
    reason: str
    remedy: list[StepCall] = Field(default_factory=list)


EventKind = Literal[
    "run.started",
    "run.planned",
    "run.succeeded",
    "run.failed",
    "run.cancelled",
    "run.paused",
    "run.approved",
    "step.started",
    "step.succeeded",
    "step.skipped",
    "step.retry",
    "step.remedy",
    "step.moved",
    "step.failed",
    "command",
    "readiness.failed",
]


class Event(_Data):
    """Something that happened in a run; every plugin's ``lync_failover_event`` sees it."""

    kind: EventKind
    run_id: str
    pool: str
    step: str | None = None
    server: str | None = None
    message: str = ""
    attempt: int = 0
    time: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())


def step_call(
    step: str,
    phase: str,
    server: str,
    *,
    key: str = "",
    params: Mapping[str, ParameterValue] | None = None,
    commands: Sequence[PlannedCommand] = (),
    description: str = "",
) -> StepCall:
    """A :class:`StepCall` whose id is ``<step>@<server>`` (plus ``#<key>`` to tell repeats apart)."""
    call_id = f"{step}@{server}" + (f"#{key}" if key else "")
    return StepCall(
        id=call_id,
        step=step,
        phase=phase,
        server=server,
        params=dict(params or {}),
        commands=list(commands),
        description=description,
    )


def command(cmdlet: str, purpose: CommandPurpose = "read", **parameters: ParameterValue) -> PlannedCommand:
    """A planned cmdlet: ``command("Get-CsService", "check", CentralManagement=True)``."""
    return PlannedCommand(cmdlet=cmdlet, parameters=parameters, purpose=purpose)


def local_command(
    cmdlet: str, purpose: CommandPurpose = "act", **parameters: ParameterValue
) -> PlannedCommand:
    """A planned cmdlet that must run locally on its server (``Shell.run_locally``)."""
    return PlannedCommand(cmdlet=cmdlet, parameters=parameters, purpose=purpose, local=True)


def executable(path: str, *arguments: str) -> PlannedCommand:
    """A planned executable the step's action runs: ``executable(BOOTSTRAPPER, "/Setup")``."""
    return PlannedCommand(
        cmdlet=path, parameters={"arguments": list(arguments)}, purpose="act", executable=True
    )


def command_line(command: str, parameters: Mapping[str, ParameterValue]) -> str:
    """``Cmdlet -Name value -Switch`` (an executable's ``arguments`` as they are), for reading only."""
    words = [command]
    for name, value in parameters.items():
        if name == "arguments" and isinstance(value, list):
            words.extend(str(item) for item in value)
        elif value is True:
            words.append(f"-{name}")
        elif value is False:
            words.append(f"-{name}:$false")
        else:
            words.append(f"-{name} {_argument(value)}")
    return " ".join(words)


def _argument(value: ParameterValue) -> str:
    if value is None:
        return "$null"
    if isinstance(value, list):
        return ",".join(_argument(item) for item in value)
    text = str(value)
    return f"'{text}'" if not text or any(ch in text for ch in " ,;'\"$`") else text
