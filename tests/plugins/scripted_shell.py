"""A Shell double for running one step's check or action over hand-written cmdlet answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from plugins.kit.shell import CmdletResult, ExecutableResult, ParameterValue, RemoteObject

#: What a cmdlet answers: its objects' properties, or a function of the parameters it was given.
Answer = list[dict[str, object]] | Callable[[Mapping[str, ParameterValue]], list[dict[str, object]]]


@dataclass
class ScriptedShell:
    """Answers each cmdlet from ``answers`` and records every command sent, as ``server cmdlet``."""

    answers: dict[str, Answer] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    #: Servers that refuse connections (``reachable`` says False).
    down: set[str] = field(default_factory=set)
    #: Host lines (information stream) each cmdlet writes, e.g. -WhatIf's.
    information: dict[str, list[str]] = field(default_factory=dict)

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """The scripted objects of ``cmdlet`` (none when it has no answer)."""
        self.sent.append(f"{server} {cmdlet}")
        answer = self.answers.get(cmdlet, [])
        found = answer(parameters or {}) if callable(answer) else answer
        return CmdletResult(
            objects=[RemoteObject(("System.Object",), properties) for properties in found],
            information=self.information.get(cmdlet, []),
        )

    def run_locally(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """As :meth:`run` (the local logon is the server's business)."""
        return self.run(server, cmdlet, parameters)

    def run_executable(self, server: str, executable: str, arguments: Sequence[str]) -> ExecutableResult:
        """Every executable succeeds."""
        self.sent.append(f"{server} {executable} {' '.join(arguments)}")
        return ExecutableResult(0)

    def reachable(self, server: str) -> bool:
        """Every server is up unless listed in ``down``."""
        return server not in self.down
