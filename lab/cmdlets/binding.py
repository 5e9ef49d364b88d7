"""Parameter binding as PowerShell does it: names without case, unambiguous prefixes, aliases, positions."""

from __future__ import annotations

from lab import lync_facts
from lab.api import CommandCall, PowerShellError
from lab.cmdlets.base import Cmdlet, Param, missing_mandatory


def bind(cmdlet: Cmdlet, call: CommandCall) -> dict[str, object]:
    """The arguments by canonical parameter name; terminating errors in PowerShell's words."""
    bound: dict[str, object] = {}
    positional = sorted(
        (p for p in cmdlet.parameters if p.position is not None), key=lambda p: p.position or 0
    )
    for name, value in call.parameters:
        if name is None:
            param = next((p for p in positional if p.name not in bound), None)
            if param is None:
                raise _error(
                    cmdlet, lync_facts.POSITIONAL_NOT_FOUND.format(value=value), "PositionalParameterNotFound"
                )
        else:
            param = _find(cmdlet, name)
            if not param.switch and value is True:
                raise _error(cmdlet, lync_facts.MISSING_ARGUMENT.format(name=param.name), "MissingArgument")
        bound[param.name] = value
    missing = [p.name for p in cmdlet.parameters if p.mandatory and p.name not in bound]
    if missing:
        raise missing_mandatory(cmdlet.name, missing)
    return bound


def _find(cmdlet: Cmdlet, name: str) -> Param:
    wanted = name.lstrip("-").lower()
    params = cmdlet.all_parameters()
    for param in params:
        if wanted in (n.lower() for n in (param.name, *param.aliases)):
            return param
    matches = [p for p in params if any(n.lower().startswith(wanted) for n in (p.name, *p.aliases))]
    if len(matches) == 1 and wanted:
        return matches[0]
    if len(matches) > 1 and wanted:
        names = ", ".join(f"-{p.name}" for p in matches)
        raise _error(
            cmdlet, lync_facts.AMBIGUOUS_PARAMETER.format(name=name, matches=names), "AmbiguousParameter"
        )
    raise _error(
        cmdlet, lync_facts.PARAMETER_NOT_FOUND.format(name=name.lstrip("-")), "NamedParameterNotFound"
    )


def _error(cmdlet: Cmdlet, message: str, reason: str) -> PowerShellError:
    return PowerShellError(
        message, error_id=f"{reason},{cmdlet.name}", category="InvalidArgument", command=cmdlet.name
    )
