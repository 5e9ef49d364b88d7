"""A Shell that writes every remote command to the run's journal as it completes, and fires an event; an act
(a command the step planned to change the deployment) is marked in flight in the step's record while it runs,
so that a later execution of the step knows it may still be running on the server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

from plugins.kit.model import StepCall
from plugins.kit.shell import CmdletResult, ExecutableResult, ParameterValue, RemoteError, Shell
from tasks.record import RunRecord, now
from tasks.run import JournalEntry
from worker.redaction import REDACTED, is_secret_name


class JournaledShell:
    """Wraps ``inner``: one journal entry per command (server, command, parameters, outcome, output)."""

    def __init__(
        self,
        inner: Shell,
        record: RunRecord,
        call: StepCall,
        max_output: int,
        on_command: Callable[[str, str, str], None],
        before_command: Callable[[str], None],
    ) -> None:
        self.inner = inner
        self.record = record
        self.call = call
        self.step_id = call.id
        self.max_output = max_output
        #: Called with (server, command, outcome) after each command.
        self.on_command = on_command
        #: A safe point before each command (what is about to be sent): raises to stop there.
        self.before_command = before_command

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """Run the cmdlet through the inner shell and journal it."""
        return self._journaled(server, cmdlet, parameters or {}, self.inner.run)

    def _journaled(
        self,
        server: str,
        cmdlet: str,
        parameters: Mapping[str, ParameterValue],
        run: Callable[[str, str, Mapping[str, ParameterValue]], CmdletResult],
    ) -> CmdletResult:
        self.before_command(f"sending {cmdlet} to {server}")
        started = now()
        try:
            with self._in_flight(cmdlet, parameters):
                result = run(server, cmdlet, parameters)
        except RemoteError as error:
            self._journal(server, cmdlet, parameters, started, "error", error.message)
            raise
        output = [
            json.dumps(dict(obj.properties), default=str) if obj.properties else obj.text
            for obj in result.objects
        ]
        lines = [*output, *result.information, *result.verbose, *result.warnings, *result.errors]
        self._journal(server, cmdlet, parameters, started, "ok", "\n".join(lines))
        return result

    def run_locally(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """Run the cmdlet locally on the server through the inner shell and journal it."""
        return self._journaled(server, cmdlet, parameters or {}, self.inner.run_locally)

    def run_executable(self, server: str, executable: str, arguments: Sequence[str]) -> ExecutableResult:
        """Run the executable through the inner shell and journal it."""
        self.before_command(f"starting {executable} on {server}")
        started = now()
        parameters: dict[str, ParameterValue] = {"arguments": list(arguments)}
        try:
            with self._in_flight(executable, parameters):
                result = self.inner.run_executable(server, executable, arguments)
        except RemoteError as error:
            self._journal(server, executable, parameters, started, "error", error.message)
            raise
        outcome = "ok" if result.exit_code == 0 else f"exit {result.exit_code}"
        self._journal(server, executable, parameters, started, outcome, result.stdout + result.stderr)
        return result

    @contextmanager
    def _in_flight(self, name: str, parameters: Mapping[str, ParameterValue]) -> Iterator[None]:
        """While a planned act runs, the step's record says so (a dead worker leaves the mark behind)."""
        acts = [
            planned
            for planned in self.call.commands_for("act")
            if planned.cmdlet == name and planned.parameters == dict(parameters)
        ]
        if not acts:
            yield
            return
        self.record.step_acting(self.call, acts[0].line)
        try:
            yield
        finally:
            self.record.step_acted(self.call)

    def reachable(self, server: str) -> bool:
        """Whether the server accepts a connection (a probe: nothing is sent, nothing is journaled)."""
        return self.inner.reachable(server)

    def _journal(
        self,
        server: str,
        command: str,
        parameters: Mapping[str, ParameterValue],
        started: datetime,
        outcome: str,
        output: str,
    ) -> None:
        self.record.append_journal(
            JournalEntry(
                step=self.step_id,
                server=server,
                command=command,
                parameters=redact(parameters),
                started=started,
                ended=now(),
                outcome=outcome,
                output=bounded(output, self.max_output),
            )
        )
        self.on_command(server, command, outcome)


def redact(parameters: Mapping[str, ParameterValue]) -> dict[str, ParameterValue]:
    """The parameters with secret-looking values replaced."""
    return {name: REDACTED if is_secret_name(name) else value for name, value in parameters.items()}


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit} more characters)"
