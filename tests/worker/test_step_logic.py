"""How one step call runs (tasks.steps.check_and_act): which server it uses, and what it lets fail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from plugins.kit.errors import NotReadyError, PreconditionError
from plugins.kit.model import (
    Context,
    EarlierActSeen,
    Facts,
    PoolInfo,
    StepCall,
    StepResult,
    StepSpec,
    Topology,
    step_call,
)
from plugins.kit.requests import Request
from plugins.kit.shell import (
    CmdletError,
    CmdletResult,
    CommandInterrupted,
    CommandTimeout,
    ConnectionDropped,
    ExecutableResult,
    ParameterValue,
    Shell,
    TransportError,
)
from tasks.steps import (
    BACKOFF_MAX_S,
    DROPPED_RETRY_S,
    EarlierAct,
    EarlierActPending,
    check_and_act,
    retry_delay_s,
)

SERVERS = ["fe01.pool2.contoso.com", "fe02.pool2.contoso.com", "fe03.pool2.contoso.com"]


class RecordingShell:
    """Answers every command with nothing; records (server, command)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        self.sent.append((server, cmdlet))
        return CmdletResult()

    def run_executable(self, server: str, executable: str, arguments: Sequence[str]) -> ExecutableResult:
        self.sent.append((server, executable))
        return ExecutableResult(exit_code=0)

    def reachable(self, server: str) -> bool:
        return True

    def run_locally(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        return self.run(server, cmdlet, parameters)


def _context() -> Context:
    topology = Topology(
        pools=[PoolInfo(fqdn="pool2.contoso.com", site="Datacenter2", role="FrontEnd", servers=SERVERS)]
    )
    return Context(run_id="run", request=Request(pool="pool1.contoso.com"), topology=topology)


def _never_moved(call: StepCall, server: str, reason: str) -> None:
    raise AssertionError(f"{call.id} moved to {server}: {reason}")


def test_an_unknown_fact_fails_the_step_naming_it() -> None:
    def act(shell: Shell, context: Context, call: StepCall) -> StepResult:
        shell.run(call.server, "Invoke-CsPoolFailover")
        return StepResult(
            summary="failed over", facts=Facts.model_validate({"helpdesk_ticket": "T1", "backup_pool": "x"})
        )

    spec = StepSpec(name="site.ticket", mutating=True, action=act)
    shell = RecordingShell()

    with pytest.raises(PreconditionError) as raised:
        check_and_act(spec, shell, _context(), step_call(spec.name, "verify", SERVERS[0]), _never_moved)

    message = str(raised.value)
    assert "site.ticket" in message and "'helpdesk_ticket' is not a Facts field" in message
    assert "only Facts fields" in message
    assert shell.sent == [(SERVERS[0], "Invoke-CsPoolFailover")]


def test_known_facts_reach_the_context() -> None:
    def act(shell: Shell, context: Context, call: StepCall) -> StepResult:
        return StepResult(summary="found", facts=Facts(backup_pool="pool2.contoso.com"))

    spec = StepSpec(name="site.find", mutating=False, action=act)

    ran = check_and_act(
        spec, RecordingShell(), _context(), step_call(spec.name, "locate", SERVERS[0]), _never_moved
    )

    assert ran.context.facts.backup_pool == "pool2.contoso.com"


class FailingShell(RecordingShell):
    """Raises ``errors[server]`` for every command sent to that server."""

    def __init__(self, errors: Mapping[str, Exception]) -> None:
        super().__init__()
        self.errors = errors

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        self.sent.append((server, cmdlet))
        if server in self.errors:
            raise self.errors[server]
        return CmdletResult()


def _fail_over(shell: Shell, context: Context, call: StepCall) -> StepResult:
    shell.run(call.server, "Invoke-CsPoolFailover")
    return StepResult(summary="failed over")


FAIL_OVER = StepSpec(name="pool.fail_over", mutating=True, action=_fail_over)


def test_a_server_that_cannot_be_reached_moves_the_step() -> None:
    shell = FailingShell({SERVERS[0]: TransportError(SERVERS[0], "Invoke-CsPoolFailover", "refused")})
    moves: list[str] = []

    ran = check_and_act(
        FAIL_OVER,
        shell,
        _context(),
        step_call(FAIL_OVER.name, "pool", SERVERS[0]),
        lambda call, server, reason: moves.append(server),
    )

    assert ran.call.server == SERVERS[1] and moves == [SERVERS[1]]
    assert ran.context.facts.unreachable_servers == [SERVERS[0]]


@pytest.mark.parametrize(
    "error",
    [
        CommandTimeout(SERVERS[0], "Invoke-CsPoolFailover", "timed out after 3 s"),
        CommandInterrupted(SERVERS[0], "Invoke-CsPoolFailover", "answered HTTP 500"),
        ConnectionDropped(SERVERS[0], "Invoke-CsPoolFailover", "the link dropped it 6 times"),
    ],
    ids=["timeout", "interrupted", "dropped"],
)
def test_a_command_that_reached_its_server_is_never_resent_elsewhere(error: Exception) -> None:
    shell = FailingShell({SERVERS[0]: error})

    with pytest.raises(CommandInterrupted):
        check_and_act(
            FAIL_OVER, shell, _context(), step_call(FAIL_OVER.name, "pool", SERVERS[0]), _never_moved
        )

    assert shell.sent == [(SERVERS[0], "Invoke-CsPoolFailover")]


def test_a_step_retries_soon_after_dropped_reads_and_backs_off_after_failures() -> None:
    dropped = ConnectionDropped(SERVERS[0], "Get-CsPool", "the link dropped it 6 times")
    interrupted = CommandInterrupted(
        SERVERS[0], "Invoke-CsPoolFailover", "the connection broke after sending"
    )

    assert {retry_delay_s(dropped, attempt, 0) for attempt in (1, 5, 20)} == {DROPPED_RETRY_S}
    assert retry_delay_s(interrupted, 20, 0) >= BACKOFF_MAX_S / 2


def test_a_step_polls_a_state_it_reads_and_backs_off_an_act_refused_until_then() -> None:
    replicas = NotReadyError("the CMS replicas are not yet up to date: fe01.pool2.contoso.com")
    refusal = CmdletError(SERVERS[0], "Invoke-CsPoolFailover", "refused")
    refused = NotReadyError("the CMS replicas of the backup pool are not yet up to date")
    refused.__cause__ = refusal

    assert retry_delay_s(replicas, 8, 4.0) == pytest.approx(0.4)
    assert retry_delay_s(replicas, 8, 600.0) == 10.0
    assert retry_delay_s(refused, 8, 4.0) >= BACKOFF_MAX_S / 2


def _earlier_act() -> EarlierAct:
    """An act an earlier execution sent a minute ago and never saw end (its worker died)."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    return EarlierAct(
        "Invoke-CsPoolFailover -PoolFqdn pool1.contoso.com", since, since + timedelta(minutes=30)
    )


def _seeing(state: Literal["done", "running", "ended"]) -> StepSpec:
    def seen(shell: Shell, context: Context, call: StepCall) -> EarlierActSeen:
        shell.run(call.server, "Get-CsRegistrarConfiguration")
        return EarlierActSeen(state=state, reason=f"PoolState says {state}")

    return FAIL_OVER.model_copy(update={"earlier_act": seen})


def test_an_earlier_act_seen_ended_is_sent_again_at_once() -> None:
    shell = RecordingShell()
    call = step_call(FAIL_OVER.name, "pool", SERVERS[0])

    ran = check_and_act(_seeing("ended"), shell, _context(), call, _never_moved, _earlier_act())

    assert shell.sent == [(SERVERS[0], "Get-CsRegistrarConfiguration"), (SERVERS[0], "Invoke-CsPoolFailover")]
    assert (
        ran.result is not None and "had ended without its effect: PoolState says ended" in ran.result.summary
    )


def test_an_earlier_act_seen_done_is_not_sent_again() -> None:
    shell = RecordingShell()
    call = step_call(FAIL_OVER.name, "pool", SERVERS[0])

    ran = check_and_act(_seeing("done"), shell, _context(), call, _never_moved, _earlier_act())

    assert shell.sent == [(SERVERS[0], "Get-CsRegistrarConfiguration")]
    assert ran.result is not None and ran.result.summary == "PoolState says done"


@pytest.mark.parametrize("spec", [_seeing("running"), FAIL_OVER], ids=["seen running", "no reader"])
def test_an_earlier_act_that_may_still_run_is_waited_for(spec: StepSpec) -> None:
    shell = RecordingShell()
    call = step_call(FAIL_OVER.name, "pool", SERVERS[0])

    with pytest.raises(EarlierActPending) as raised:
        check_and_act(spec, shell, _context(), call, _never_moved, _earlier_act())

    assert (SERVERS[0], "Invoke-CsPoolFailover") not in shell.sent
    assert "never ended" in str(raised.value)
