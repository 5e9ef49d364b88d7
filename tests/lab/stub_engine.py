"""A stand-in for the Lync engine: a few commands that exercise every path of the remoting layer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.api import CallContext, CommandCall, ExecResult, PipelineOutput, PowerShellError, PSValue

POOL_TYPE = "Microsoft.Rtc.Management.Xds.DisplayPool"


@dataclass
class StubEngine:
    """Records every statement it runs; ``release`` lets ``Wait-Release`` finish."""

    calls: list[tuple[CallContext, tuple[CommandCall, ...]]] = field(default_factory=list)
    executions: list[tuple[CallContext, str, tuple[str, ...]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, context: CallContext, commands: Sequence[CommandCall], output: PipelineOutput) -> None:
        with self._lock:
            self.calls.append((context, tuple(commands)))
        for command in commands:
            parameters = {name: value for name, value in command.parameters if name is not None}
            getattr(self, "_" + command.name.replace("-", "_").lower())(context, command, parameters, output)

    def execute(self, context: CallContext, executable: str, arguments: Sequence[str]) -> ExecResult:
        with self._lock:
            self.executions.append((context, executable, tuple(arguments)))
        return ExecResult(
            exit_code=3010, stdout=f"{executable} {' '.join(arguments)} done\r\n", stderr="reboot\r\n"
        )

    def _get_cspool(
        self,
        context: CallContext,
        command: CommandCall,
        parameters: dict[str, object],
        output: PipelineOutput,
    ) -> None:
        for index in range(int(str(parameters.get("Count", 1)))):
            output.write_output(
                PSValue(
                    (POOL_TYPE, "System.Object"),
                    {
                        "Identity": f"pool{index}.lab.local",
                        "PoolFqdn": f"pool{index}.lab.local",
                        "Index": index,
                        "Computers": [f"fe{index}.lab.local"],
                        "Server": context.server,
                        "User": context.user,
                    },
                    to_string=f"pool{index}.lab.local",
                )
            )

    def _write_streams(
        self,
        context: CallContext,
        command: CommandCall,
        parameters: dict[str, object],
        output: PipelineOutput,
    ) -> None:
        output.write_warning("the pool is degraded")
        output.write_verbose("checking the pool")
        output.write_information("What if: Performing the operation")
        output.write_error(
            PowerShellError(
                "one server is down", error_id="ServerDown,Get-CsPoolState", category="ResourceUnavailable"
            )
        )
        output.write_output("still here")

    def _invoke_cspoolfailover(
        self,
        context: CallContext,
        command: CommandCall,
        parameters: dict[str, object],
        output: PipelineOutput,
    ) -> None:
        raise PowerShellError(
            "The pool is not paired.",
            error_id="PoolNotPaired,Invoke-CsPoolFailover",
            category="InvalidOperation",
            command="Invoke-CsPoolFailover",
        )

    def _break_lab(
        self,
        context: CallContext,
        command: CommandCall,
        parameters: dict[str, object],
        output: PipelineOutput,
    ) -> None:
        raise KeyError("lab bug")

    def _wait_release(
        self,
        context: CallContext,
        command: CommandCall,
        parameters: dict[str, object],
        output: PipelineOutput,
    ) -> None:
        while not self.release.wait(0.05):
            if output.stopping.is_set():
                return
        output.write_output("released")
