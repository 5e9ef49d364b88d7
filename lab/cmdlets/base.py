"""What every cmdlet is made of: its parameters, its handler, and the invocation it runs in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lab import lync_facts
from lab.api import PipelineOutput, PowerShellError, PSValue
from lab.model import Deployment, FrontEndPool


@dataclass(frozen=True)
class Param:
    """One parameter: a switch or a value, mandatory or not, positional or not, with its aliases."""

    name: str
    switch: bool = False
    mandatory: bool = False
    position: int | None = None
    aliases: tuple[str, ...] = ()


#: Accepted by every cmdlet. The engine honours ``-ErrorAction`` (``Stop``, ``SilentlyContinue``, ``Ignore``);
#: the others are ignored unless a cmdlet says otherwise.
COMMON_PARAMETERS = (
    Param("Verbose", switch=True),
    Param("Debug", switch=True),
    Param("ErrorAction"),
    Param("WarningAction"),
    Param("Confirm", switch=True),
)


@dataclass(frozen=True)
class Cmdlet:
    """A cmdlet the lab answers: its name, its own parameters and what it does."""

    name: str
    parameters: tuple[Param, ...]
    run: Callable[[Invocation], None]

    def all_parameters(self) -> tuple[Param, ...]:
        """Its own parameters, then the common ones."""
        return self.parameters + COMMON_PARAMETERS


@dataclass
class Invocation:
    """One run of a cmdlet: the deployment (the engine's lock is held), where it runs, its arguments."""

    command: str
    server: str
    arguments: dict[str, object]
    deployment: Deployment
    output: PipelineOutput
    now: datetime
    verbose_lines: list[str] = field(default_factory=list)

    def flag(self, name: str) -> bool:
        """Whether a switch was given (and not as ``-Switch:$false``)."""
        return self.arguments.get(name) is True

    def text(self, name: str) -> str | None:
        """A value parameter as text, or None when not given."""
        value = self.arguments.get(name)
        return None if value is None else str(value)

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

    def missing(self, *names: str) -> PowerShellError:
        """PowerShell's error for missing mandatory parameters."""
        return missing_mandatory(self.command, names)

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


def missing_mandatory(command: str, names: tuple[str, ...] | list[str]) -> PowerShellError:
    """PowerShell's error for missing mandatory parameters."""
    return PowerShellError(
        lync_facts.MISSING_MANDATORY.format(names=" ".join(names)),
        error_id=f"MissingMandatoryParameter,{command}",
        category="InvalidArgument",
        command=command,
    )
