"""What every cmdlet is made of: its reference declaration, its handler, and the invocation it runs in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from lab import lync_facts, reference
from lab.api import CommandCall, PipelineOutput, PowerShellError, PSValue
from lab.model import Deployment, FrontEndPool, SqlServer
from lab.reference import CmdletSyntax

#: A handler runs the cmdlet. One whose work takes time returns an iterator that yields once, where the
#: time passes: before the yield it checks and marks the work as under way, after it the work is done.
#: The engine waits (latency, hang) at the yield, outside its lock; a stop there closes the iterator
#: (``GeneratorExit`` at the yield), so the handler leaves what an interrupted operation leaves.
Handler = Callable[["Invocation"], Iterator[None] | None]
#: Runs a command in a logon on the server itself as a user (the run-locally mechanism), on a thread of its
#: own, after importing the first of the modules that loads; the engine calls ``done(objects, error)`` under
#: its lock when it ends.
LocalRunner = Callable[
    [str, list[str], CommandCall, Callable[[list[object], PowerShellError | None], None]], None
]


def _no_local_runs(
    user: str,
    modules: list[str],
    call: CommandCall,
    done: Callable[[list[object], PowerShellError | None], None],
) -> None:
    raise AssertionError("this invocation cannot start local runs")


@dataclass(frozen=True)
class Cmdlet:
    """A cmdlet the lab answers: its name, its declaration in the reference, and what it does."""

    name: str
    run: Handler

    @property
    def syntax(self) -> CmdletSyntax:
        """Its parameter sets, from Microsoft's reference (lab.reference)."""
        found = reference.syntax(self.name)
        assert found is not None, (
            f"{self.name} is not in lab/reference: the lab answers only declared cmdlets"
        )
        return found


@dataclass
class Invocation:
    """One run of a cmdlet: the deployment (the engine's lock is held), where it runs, its arguments."""

    command: str
    server: str
    arguments: dict[str, object]
    deployment: Deployment
    output: PipelineOutput
    now: datetime
    #: The parameter set the binder chose.
    parameter_set: str = "__AllParameterSets"
    #: Whether the caller's credentials can reach another machine (SQL): a CredSSP session or a local
    #: logon; not an NTLM remoting session (the second hop).
    delegated: bool = True
    #: The authenticated user, and whether this runs in a logon on the server itself (not remoting).
    user: str = ""
    local: bool = False
    #: Whether a user's password is right (Register-ScheduledTask -Password); no accounts by default.
    check_password: Callable[[str, str], bool] = lambda _user, _password: False
    run_locally: LocalRunner = _no_local_runs

    def flag(self, name: str) -> bool:
        """Whether a switch was given (and not as ``-Switch:$false``)."""
        return self.arguments.get(name) is True

    def text(self, name: str) -> str | None:
        """A value parameter as text, or None when not given."""
        value = self.arguments.get(name)
        return None if value is None else str(value)

    def texts(self, name: str) -> list[str]:
        """A list parameter (``String[]``) as text; empty when not given."""
        value = self.arguments.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def fqdn(self, name: str, *prefixes: str) -> str | None:
        """A parameter naming a pool or server, lower case, without a prefix such as ``Registrar:``."""
        value = self.text(name)
        return None if value is None else strip_prefix(value, prefixes).lower()

    def verbose(self, message: str) -> None:
        """A verbose line, written only when ``-Verbose`` was given (as PowerShell's preference does)."""
        if self.flag("Verbose"):
            self.output.write_verbose(message)

    def error(
        self, message: str, reason: str, *, category: str = "InvalidOperation", target: object = None
    ) -> PowerShellError:
        """A Lync error record of this cmdlet (raise it to terminate)."""
        return PowerShellError(
            message,
            error_id=f"{reason},{self.command}",
            category=category,
            target=target,
            command=self.command,
        )

    def front_end_pool_here(self) -> FrontEndPool:
        """The Front End pool of the server this runs on; terminating when it is not a Front End."""
        pool = self.deployment.pool_of_front_end(self.server)
        if pool is None:
            raise self.error(lync_facts.NOT_A_FRONT_END.format(server=self.server), "NotAFrontEnd")
        return pool

    def known_pool(self, fqdn: str) -> FrontEndPool:
        """A Front End pool of the topology; terminating when there is none by that name."""
        pool = self.deployment.pool(fqdn)
        if pool is None:
            raise self.error(
                lync_facts.POOL_NOT_FOUND.format(pool=fqdn),
                "PoolNotFound",
                category="ObjectNotFound",
                target=fqdn,
            )
        return pool

    def reach_sql(self, sql: SqlServer) -> None:
        """The second hop: SQL Server on another machine needs a credential the session can pass on (a
        CredSSP session or a local logon; not an NTLM remoting session)."""
        if not self.delegated:
            raise self.error(
                lync_facts.SQL_SECOND_HOP.format(sql=sql.fqdn, instance=sql.instance),
                "SqlLoginFailed",
                category="PermissionDenied",
                target=sql.fqdn,
            )

    def require_cms(self, message: str = lync_facts.CMS_UNAVAILABLE) -> None:
        """Terminating when the Central Management store is not available (write operations need it)."""
        if not self.deployment.cms_available():
            raise self.error(message, "CentralManagementStoreUnavailable", category="ResourceUnavailable")


def ps_object(type_name: str, **properties: object) -> PSValue:
    """An output object of this Lync type."""
    return PSValue(type_names=(type_name, lync_facts.OBJECT), properties=dict(properties))


def strip_prefix(value: str, prefixes: tuple[str, ...]) -> str:
    """``pool1.contoso.com`` for ``Registrar:pool1.contoso.com`` (prefixes compared without case)."""
    for prefix in prefixes:
        if value.lower().startswith(prefix.lower()):
            return value[len(prefix) :]
    return value
