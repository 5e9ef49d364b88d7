"""What a step may ask of a Lync server: run one cmdlet with parameters, or one executable.

Plugins see only this protocol. The worker implements it with pypsrp (``worker.executor``); the run record
wraps it to journal every command. Parameters are passed as cmdlet parameters, never as script text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: Parameter values a cmdlet may receive: scalars and lists of them. ``True`` alone is a switch.
ParameterValue = None | bool | int | float | str | list[str] | list[int]


@dataclass(frozen=True)
class RemoteObject:
    """One object a cmdlet wrote: its PowerShell type names and its properties as plain JSON values."""

    type_names: tuple[str, ...]
    properties: Mapping[str, object]
    text: str = ""

    def get(self, name: str, default: object = None) -> object:
        """A property by name, compared without case as PowerShell does."""
        for key, value in self.properties.items():
            if key.lower() == name.lower():
                return value
        return default


@dataclass(frozen=True)
class Credential:
    """A user name and password for a server. The password never shows in ``repr`` or logs."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CmdletResult:
    """What a pipeline that did not fail returned, with its non-terminating errors and warnings."""

    objects: list[RemoteObject] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verbose: list[str] = field(default_factory=list)
    #: Host text, such as the "What if: ..." lines of ``-WhatIf``.
    information: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutableResult:
    """What an executable printed and its exit code."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""


class RemoteError(Exception):
    """A remote command did not complete. Subclasses say why."""

    def __init__(self, server: str, command: str, message: str) -> None:
        super().__init__(f"{command} on {server}: {message}")
        self.server = server
        self.command = command
        self.message = message


class TransportError(RemoteError):
    """The server could not be reached or the connection broke: worth retrying."""


class CommandInterrupted(TransportError):
    """The request reached the server but the command did not complete (pipeline stopped, the connection
    broke after sending, HTTP 5xx, a WS-Management fault): it may have had its effect. Retry it on the same
    server, where the step's check runs first; never resend it to another server."""


class ConnectionDropped(CommandInterrupted):
    """The link kept dropping the connection (reset or closed with no answer) while nothing that changes the
    server was in flight (a session opening, a read): nothing took effect, so the step may retry soon."""


class CommandTimeout(CommandInterrupted):
    """The command did not finish before its deadline (the step's, ``LYNC_FAILOVER_STEP_TIMEOUT``); it was
    stopped on the server, possibly after taking effect."""


class AuthenticationError(RemoteError):
    """The server refused the credential: retrying will not help; fix the credential."""


class CmdletError(RemoteError):
    """The cmdlet ended with a terminating error (the pipeline failed)."""

    def __init__(
        self, server: str, command: str, message: str, *, error_id: str = "", category: str = ""
    ) -> None:
        super().__init__(server, command, message)
        #: PowerShell's FullyQualifiedErrorId, e.g. ``NamedParameterNotFound,Get-CsPool``.
        self.error_id = error_id
        #: PowerShell's error category, e.g. ``InvalidArgument``.
        self.category = category


class Shell(Protocol):
    """Runs commands on Lync servers by FQDN."""

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """Run ``cmdlet`` with ``parameters`` on ``server``; raise a :class:`RemoteError` if it fails."""
        ...

    def run_executable(self, server: str, executable: str, arguments: Sequence[str]) -> ExecutableResult:
        """Run an executable on ``server`` through the WinRS cmd shell."""
        ...

    def run_locally(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """Run ``cmdlet`` in a logon on ``server`` itself, not in the remoting session: for the cmdlets that
        "cannot be called from a remote management session" (Move-CsManagementServer); raise a
        :class:`RemoteError` if it fails."""
        ...

    def reachable(self, server: str) -> bool:
        """Whether ``server``'s remoting endpoint accepts a connection now (nothing is sent to it)."""
        ...
