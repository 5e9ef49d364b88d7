"""A stand-in for the Lync engine behind a real WinRM endpoint: a few cmdlets that exercise the executor."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lab.api import CallContext, CommandCall, ExecResult, PipelineOutput, PowerShellError, PSValue

POOL_TYPES = ("Microsoft.Rtc.Management.Xds.DisplayPool", "System.Object")
#: How long ``Wait-CsStop`` waits for the client to stop it before it gives up.
STOP_WAIT_S = 30


@dataclass
class EngineDouble:
    """Records every statement and execution; ``stopped`` is set when a client stops ``Wait-CsStop``."""

    calls: list[CommandCall] = field(default_factory=list)
    executions: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, context: CallContext, commands: Sequence[CommandCall], output: PipelineOutput) -> None:
        with self._lock:
            self.calls.extend(commands)
        for command in commands:
            parameters = dict(command.parameters)
            if command.name == "Import-Module":
                continue
            if command.name == "Get-CsPool":
                output.write_output(_pool(context, str(parameters.get("Identity", "pool1.contoso.com"))))
            elif command.name == "Invoke-CsPoolFailover":
                if parameters.get("WhatIf") is True:
                    output.write_information(
                        f'What if: Performing "Failover" on target "{parameters["PoolFqdn"]}".'
                    )
                output.write_warning("Failover can take a while.")
                output.write_verbose("Checking the backup pool.")
            elif command.name == "Get-CsUser":
                output.write_output("sip:alice@contoso.com")
                output.write_error(PowerShellError("User bob not found.", error_id="UserNotFound,Get-CsUser"))
            elif command.name == "Wait-CsStop":
                if output.stopping.wait(STOP_WAIT_S):
                    self.stopped.set()
            else:
                first = next(iter(parameters), "")
                raise PowerShellError(
                    f"A parameter cannot be found that matches parameter name '{first}'.",
                    error_id=f"NamedParameterNotFound,{command.name}",
                    category="InvalidArgument",
                    command=command.name,
                )

    def execute(self, context: CallContext, executable: str, arguments: Sequence[str]) -> ExecResult:
        with self._lock:
            self.executions.append((executable, tuple(arguments)))
        return ExecResult(
            exit_code=0, stdout=f"{executable} {' '.join(arguments)}: done on {context.server}\r\n"
        )

    def names(self) -> list[str]:
        """The cmdlets invoked so far, in order."""
        with self._lock:
            return [call.name for call in self.calls]


def _pool(context: CallContext, identity: str) -> PSValue:
    return PSValue(
        POOL_TYPES,
        {
            "Identity": identity,
            "Computers": [f"fe01.{identity}", f"fe02.{identity}"],
            "Site": PSValue(("Microsoft.Rtc.Management.Core.Site", "System.Object"), {"Name": "Datacenter1"}),
            "WhenChanged": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
            "Servers": 2,
            "Server": context.server,
        },
        to_string=identity,
    )
