"""The runner's default answer when no plugin classifies a step's error."""

from __future__ import annotations

from plugins.kit.errors import NotReadyError, PreconditionError
from plugins.kit.model import Decision
from plugins.kit.shell import AuthenticationError, CmdletError, CommandInterrupted, TransportError

#: PowerShell error ids that mean the step itself asked the server something it does not accept.
_CALLER_MISTAKES = {
    "NamedParameterNotFound": "the server's cmdlet has no such parameter",
    "MissingMandatoryParameter": "a mandatory parameter was not given",
    "CommandNotFoundException": "the server does not know this cmdlet (is the Lync module installed?)",
}

#: How a retry's reason starts when the step only waits for the world to catch up (not a failure).
NOT_READY = "not ready yet:"

#: PowerShell error categories of failures that pass (RPC/DCOM unavailable, timeouts, busy resources).
TRANSIENT_CATEGORIES = frozenset(
    {"ConnectionError", "ResourceUnavailable", "ResourceBusy", "OperationTimeout"}
)


def default_decision(error: Exception) -> Decision:
    """Transport errors, transient server failures and not-yet-ready states retry; the rest fails."""
    if isinstance(error, CommandInterrupted):
        return Decision(action="retry", reason=f"the command did not complete on the server: {error}")
    if isinstance(error, TransportError):
        return Decision(action="retry", reason=f"server unreachable: {error}")
    if isinstance(error, NotReadyError):
        return Decision(action="retry", reason=f"{NOT_READY} {error}")
    if isinstance(error, AuthenticationError):
        return Decision(
            action="fail",
            reason=f"{error}. Fix the credential the inventory names for this server "
            "(password_env, password_file or the credentials hook) and run again.",
        )
    if isinstance(error, CmdletError) and error.category in TRANSIENT_CATEGORIES:
        return Decision(action="retry", reason=f"transient failure on the server: {error}")
    if isinstance(error, CmdletError):
        kind = error.error_id.split(",", 1)[0]
        if kind in _CALLER_MISTAKES:
            return Decision(
                action="fail",
                reason=f"{error} ({_CALLER_MISTAKES[kind]}). The step does not match this server's cmdlets: "
                "report it with the journal; retrying will not help.",
            )
        return Decision(
            action="fail",
            reason=f"{error}. Fix the cause the message names, then run again: completed steps are skipped.",
        )
    if isinstance(error, PreconditionError):
        return Decision(action="fail", reason=str(error))
    return Decision(action="fail", reason=f"{type(error).__name__}: {error}")
