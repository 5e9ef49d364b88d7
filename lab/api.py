"""The contract between the lab's remoting layer (``lab.wsman``) and its Lync engine (``lab.engine``).

The remoting layer decodes WS-Management and PSRP, authenticates the caller, and hands each pipeline to an
:class:`Engine`. The engine knows Lync; it never sees XML, sockets or PSRP messages.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PSValue:
    """An output object: PowerShell type names (most derived first) and ordered properties."""

    type_names: tuple[str, ...]
    properties: dict[str, object]
    to_string: str | None = None


@dataclass(frozen=True)
class CommandCall:
    """One command of a pipeline as the client sent it.

    ``parameters`` keeps the client's order; a name of ``None`` is a positional argument, and a value of
    ``None`` is a parameter given without a value (pypsrp's ``add_parameter(name)``: a switch is then
    present).
    """

    name: str
    parameters: tuple[tuple[str | None, object], ...] = ()


@dataclass(frozen=True)
class CallContext:
    """Who runs the pipeline, and where: the simulated server's FQDN and the authenticated user.

    ``delegated``: the logon holds a credential the server can pass on to another machine (a CredSSP
    session); an NTLM remoting logon does not, so cmdlets that open SQL Server elsewhere fail (the second
    hop). ``local``: the command runs in a logon on the server itself (the run-locally mechanism), not in a
    remote management session.
    """

    server: str
    user: str
    delegated: bool = False
    local: bool = False


class PowerShellError(Exception):
    """An error record. Raised, it is terminating (the pipeline ends Failed); written, it is not."""

    def __init__(
        self,
        message: str,
        *,
        error_id: str,
        category: str = "NotSpecified",
        target: object = None,
        command: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: FullyQualifiedErrorId, e.g. ``NamedParameterNotFound,Invoke-CsPoolFailover``.
        self.error_id = error_id
        #: An ``ErrorCategory`` name, e.g. ``InvalidArgument``, ``InvalidOperation``.
        self.category = category
        self.target = target
        self.command = command


class PipelineOutput(Protocol):
    """Where a running pipeline writes; the remoting layer streams it to the client as it comes."""

    def write_output(self, value: object) -> None: ...

    def write_error(self, error: PowerShellError) -> None: ...

    def write_warning(self, message: str) -> None: ...

    def write_verbose(self, message: str) -> None: ...

    def write_information(self, message: str) -> None:
        """Host text: where the lab writes what ``-WhatIf`` would print ("What if: ...")."""
        ...

    @property
    def stopping(self) -> threading.Event:
        """Set when the client stops the pipeline (Ctrl-C signal) or closes the shell."""
        ...


@dataclass(frozen=True)
class ExecResult:
    """The outcome of an executable run through the WinRS cmd shell."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""


class Engine(Protocol):
    """The Lync side of the lab, as the remoting layer sees it."""

    def invoke(self, context: CallContext, commands: Sequence[CommandCall], output: PipelineOutput) -> None:
        """Run one statement (commands piped left to right); raise :class:`PowerShellError` to fail it."""
        ...

    def execute(self, context: CallContext, executable: str, arguments: Sequence[str]) -> ExecResult:
        """Run an executable (``Bootstrapper.exe /Setup``) on the server, as ``cmd.exe`` would."""
        ...
