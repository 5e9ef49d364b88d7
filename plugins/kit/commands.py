"""Sending a step's planned commands (``StepCall.commands``): the plan lists them, the step sends them."""

from __future__ import annotations

from plugins.kit.model import PlannedCommand, StepCall
from plugins.kit.shell import CmdletError, CmdletResult, Shell


def send(shell: Shell, call: StepCall, command: PlannedCommand) -> CmdletResult:
    """Run one planned cmdlet on the call's server, with exactly its planned parameters (locally on the
    server when the command must run locally)."""
    if command.local:
        return shell.run_locally(call.server, command.cmdlet, command.parameters)
    return shell.run(call.server, command.cmdlet, command.parameters)


def send_acts(shell: Shell, call: StepCall) -> None:
    """Send the call's ``act`` commands in order; an executable exiting non-zero raises CmdletError."""
    for command in call.commands_for("act"):
        if not command.executable:
            send(shell, call, command)
            continue
        result = shell.run_executable(call.server, command.cmdlet, command.arguments)
        if result.exit_code != 0:
            raise CmdletError(
                call.server,
                f"{command.cmdlet} {' '.join(command.arguments)}",
                f"exited with {result.exit_code}: {result.stderr.strip() or result.stdout.strip()}",
                error_id="NativeCommandExitCode",
            )
