"""Every command any plan of any shipped scenario sends binds as Windows PowerShell 5.1 would bind it.

For each scenario, the built-in plugins discover the facts from the lab's engine (in process, through the
lab's binder), then every planned command of every branch is bound against Microsoft's reference
(lab.reference, lab.cmdlets.binding) on the version of the server it goes to: the plan itself, the plan of
a re-run once the CMS is on the failover target, the Edge remedy for every Edge pool, the reset of an
interrupted pool failover, and each session's Import-Module. A plugin change that sends what Windows'
binder refuses fails here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pluggy
import pytest

from lab.api import CallContext, CommandCall, PowerShellError, PSValue
from lab.cmdlets.binding import bind
from lab.engine import LabEngine
from lab.reference import CmdletSyntax, syntax
from lab.scenario import Scenario, load_scenario, scenario_names
from plugins.builtin.pool import InterruptedFailover
from plugins.kit.errors import NextHopInUse
from plugins.kit.model import Context, Facts, PlannedCommand, PoolInfo, StepCall, Topology
from plugins.kit.requests import AnyRequest, FailbackRequest, ReadinessRequest, Request, SiteRequest
from plugins.kit.shell import CmdletError, CmdletResult, ExecutableResult, ParameterValue, RemoteObject
from plugins.kit.versions import VERSIONS
from plugins.manager import step_registry
from plugins.planning import build_plan, plan_phase
from tests.lab.test_engine import Capture
from worker import run_locally


class EngineShell:
    """The plugins' Shell over a lab engine in this process: a CredSSP administrator on every server."""

    def __init__(self, engine: LabEngine) -> None:
        self.engine = engine

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        output = Capture()
        context = CallContext(server, self.engine.administrator, delegated=True)
        try:
            self.engine.invoke(context, [CommandCall(cmdlet, tuple((parameters or {}).items()))], output)
        except PowerShellError as error:
            raise CmdletError(
                server, cmdlet, error.message, error_id=error.error_id, category=error.category
            ) from error
        return CmdletResult(
            objects=[_remote(value) for value in output.objects],
            errors=[error.message for error in output.errors],
            information=output.information,
        )

    def run_executable(self, server: str, executable: str, arguments: Sequence[str]) -> ExecutableResult:
        raise AssertionError("discovery runs no executable")

    def run_locally(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        raise AssertionError("discovery runs nothing locally")

    def reachable(self, server: str) -> bool:
        return self.engine.is_up(server)


def test_every_command_of_every_plan_binds_on_its_servers_version(pm: pluggy.PluginManager) -> None:
    checked = 0
    for name in scenario_names():
        loaded = load_scenario(name)
        for request in requests_of(loaded):
            engine = LabEngine.from_scenario(loaded)
            context = discovered(pm, engine, loaded, request)
            where = f"{name} ({request.workflow} {request.subject})"
            versions = {s: p.version for p in context.topology.pools for s in p.servers}
            for call in every_branch(pm, context):
                for command in call.commands:
                    if not command.executable:
                        assert_binds(command, versions.get(call.server), f"{where}: {call.id}")
                        checked += 1
            for version in {v for v in versions.values() if v is not None}:
                load = PlannedCommand(cmdlet="Import-Module", parameters={"Name": VERSIONS[version].module})
                assert_binds(load, version, f"{name}: session set-up")
                for cmdlet, parameters in run_locally_commands():
                    sent = PlannedCommand(cmdlet=cmdlet, parameters=parameters)
                    assert_binds(sent, version, f"{name}: run locally")
    assert checked > 100


def requests_of(scenario: Scenario) -> list[AnyRequest]:
    """What the scenario rehearses: a pool failover; a site's run and each of its pools' runs; a failback
    (and with the CMS moved back) and, the deployment whole again, a readiness check."""
    if scenario.rehearse == "readiness":
        return [ReadinessRequest()]
    if scenario.rehearse == "site":
        site = scenario.failed_site or ""
        pools = [pool.fqdn for pool in scenario.pools if pool.site == site]
        return [SiteRequest(site=site), *(Request(pool=p, parent="site", lost_site=site) for p in pools)]
    pool = scenario.failed_pool or ""
    if scenario.rehearse == "failback":
        return [
            FailbackRequest(pool=pool),
            FailbackRequest(pool=pool, move_cms_back=True),
            ReadinessRequest(),
        ]
    return [Request(pool=pool)]


def test_the_version_table_lists_the_pool_failover_parameters_the_reference_adds() -> None:
    failover, failback = syntax("Invoke-CsPoolFailover"), syntax("Invoke-CsPoolFailback")
    assert failover is not None and failback is not None
    for version in VERSIONS.values():
        if not failover.exists_on(version.number):
            continue
        extras = set(version.pool_failover_extras)
        assert parameters_added(failover, version.number) == extras, version.name
        assert parameters_added(failback, version.number) <= extras, version.name


def parameters_added(declared: CmdletSyntax, version: int) -> set[str]:
    """The parameters a cmdlet has on ``version`` beyond Lync Server 2013's."""
    on = {p.name for s in declared.sets_on(version) for p in s.parameters}
    return on - {p.name for s in declared.sets_on(6) for p in s.parameters}


def test_the_binding_check_refuses_what_windows_refuses() -> None:
    seed = PlannedCommand(cmdlet="Invoke-CsManagementServerFailover", parameters={"MirrorSqlServerFqdn": "x"})
    with pytest.raises(AssertionError, match="A parameter cannot be found that matches parameter name"):
        assert_binds(seed, 6, "the seed's step 5")
    sfb_only = PlannedCommand(
        cmdlet="Invoke-CsPoolFailover", parameters={"PoolFqdn": "p", "SkipDataVerification": True}
    )
    assert_binds(sfb_only, 7, "Skype for Business 2015")
    with pytest.raises(AssertionError, match="SkipDataVerification"):
        assert_binds(sfb_only, 6, "Lync 2013")


def run_locally_commands() -> list[tuple[str, dict[str, ParameterValue]]]:
    """What the worker sends to run a command locally (worker/run_locally.py)."""
    run = run_locally.prepare("Move-CsManagementServer", {"Force": True}, ["Lync"])
    stages = [run.register("CONTOSO\\lyncadmin", "password"), run.start(), run.poll(), run.read_result()]
    return [run_locally.WRITE_SCRIPT, *stages, run.unregister()]


def assert_binds(command: PlannedCommand, version: int | None, where: str) -> None:
    """Bind as the server's PowerShell would; AssertionError with PowerShell's message when it refuses."""
    declared = syntax(command.cmdlet)
    assert declared is not None, f"{where}: {command.cmdlet} is not in Microsoft's reference"
    assert declared.exists_on(version), f"{where}: {command.cmdlet} does not exist on version {version}"
    try:
        bind(declared, version, CommandCall(command.cmdlet, tuple(command.parameters.items())))
    except PowerShellError as error:
        raise AssertionError(f"{where}: {command.line}: {error.message}") from error


def discovered(pm: pluggy.PluginManager, engine: LabEngine, loaded: Scenario, request: AnyRequest) -> Context:
    """The facts the discovery phases find in the scenario, as a run of ``request`` would find them."""
    pools = [
        PoolInfo(fqdn=p.fqdn, site=p.site, role="FrontEnd", servers=list(p.front_ends), version=p.version)
        for p in loaded.pools
    ] + [PoolInfo(fqdn=e.fqdn, site=e.site, role="Edge", servers=list(e.servers)) for e in loaded.edge_pools]
    context = Context(run_id=loaded.name, request=request, topology=Topology(pools=pools))
    shell = EngineShell(engine)
    registry = step_registry(pm)
    for phase in request.phases()[0]:
        for call in plan_phase(pm, phase, context):
            result = registry[call.step].action(shell, context, call)
            context = context.with_facts(result.facts, result.own_facts)
    return context


def every_branch(pm: pluggy.PluginManager, context: Context) -> list[StepCall]:
    """The plan, a re-run's plan once the CMS answers on the failover target, and the remedies."""
    calls = [*build_plan(pm, context).steps]
    if not isinstance(context.request, Request):
        return calls
    backup = context.facts.backup_pool or ""
    moved = context.with_facts(
        Facts(cms_pool=backup, active_master=backup, active_file_transfer_agents=[backup])
    )
    calls += build_plan(pm, moved).steps
    for error in (NextHopInUse("an Edge", ["edge"]), InterruptedFailover("FailingOver")):
        decision = pm.hook.lync_failover_classify_error(step="pool.fail_over", error=error, context=context)
        if decision is not None:
            calls += decision.remedy
    return calls


def _remote(value: object) -> RemoteObject:
    if isinstance(value, PSValue):
        return RemoteObject(value.type_names, {k: _plain(v) for k, v in value.properties.items()})
    return RemoteObject((), {}, text=str(value))


def _plain(value: object) -> object:
    if isinstance(value, PSValue):
        return {k: _plain(v) for k, v in value.properties.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | timedelta):
        return str(value)
    return value
