"""What an operator can ask for, and the phases each kind of run goes through, in order.

A run's discovery phases run read-only steps (also in a dry run), each planned with the facts the earlier
ones found; its action phases are planned together, after discovery, as the run's plan.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The failover's phases (seed steps 1-7): discovery, then the plan.
DISCOVERY_PHASES = ("locate", "discover", "inspect")
ACTION_PHASES = ("cms", "edge", "pool", "verify")
#: A site run makes the CMS and Edge changes once for all its pools; each pool's own run does the rest.
SITE_ACTION_PHASES = ("cms", "edge")
POOL_ACTION_PHASES = ("pool", "verify")
#: Failback: check the pool is back, then return its Edge next hops, its users, verify; the CMS only if asked.
FAILBACK_DISCOVERY_PHASES = ("failback.inspect",)
FAILBACK_ACTION_PHASES = ("failback.edge", "failback.pool", "failback.verify", "failback.cms")
#: Readiness: one round of checks, read-only.
READINESS_DISCOVERY_PHASES = ("readiness.discover",)
READINESS_ACTION_PHASES = ("readiness.check",)


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Changing(_Request):
    """A request that changes Lync: it may wait for an operator's approval before some of its phases."""

    #: The action phases the run pauses before, until ``lync-failover approve RUN`` (or reject).
    pause_before: list[str] = []

    def pausable_phases(self) -> tuple[str, ...]:
        """The phases ``pause_before`` may name."""
        return self.phases()[1]

    def phases(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Its discovery and action phases."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _known_phases(self) -> _Changing:
        pausable = self.pausable_phases()
        unknown = [phase for phase in self.pause_before if phase not in pausable]
        if unknown:
            raise ValueError(
                f"pause_before: {', '.join(map(repr, unknown))} is not a phase this run can pause before; "
                f"its phases are: {', '.join(pausable)}"
            )
        return self


class Request(_Changing):
    """Fail over ``pool`` (seed: Pool1) to its backup pool (or ``target``); ``dry_run`` only plans."""

    workflow: Literal["failover"] = "failover"
    pool: str
    target: str | None = None
    dry_run: bool = False
    #: The site run this pool's run is part of: the site run made the CMS and Edge changes already.
    parent: str | None = None
    #: The site this pool was lost with (a site run's pool): the site's other pools are down too.
    lost_site: str | None = None
    #: How many users homed on the pool the verification checks (Get-CsUserPoolInfo); 0: none.
    user_sample: int = Field(default=10, ge=0, le=1000)

    @property
    def subject(self) -> str:
        """What the run is about, for its record, lock and events: the pool."""
        return self.pool

    def phases(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Its discovery and action phases."""
        return DISCOVERY_PHASES, POOL_ACTION_PHASES if self.parent is not None else ACTION_PHASES


class SiteRequest(_Changing):
    """Fail over every Front End pool of ``site`` (a datacenter lost), each to its own backup pool."""

    workflow: Literal["site"] = "site"
    site: str
    dry_run: bool = False

    @property
    def subject(self) -> str:
        """What the run is about: the site."""
        return self.site

    def phases(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Its discovery and action phases (the pools' own runs follow)."""
        return DISCOVERY_PHASES, SITE_ACTION_PHASES

    def pausable_phases(self) -> tuple[str, ...]:
        """Its own phases and its pools' runs' (a pause before ``pool`` holds each pool's run)."""
        return SITE_ACTION_PHASES + POOL_ACTION_PHASES


class FailbackRequest(_Changing):
    """Return ``pool``'s users to it once it is back; ``move_cms_back`` also moves the CMS back to it."""

    workflow: Literal["failback"] = "failback"
    pool: str
    dry_run: bool = False
    move_cms_back: bool = False

    @property
    def subject(self) -> str:
        """What the run is about: the pool."""
        return self.pool

    def phases(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Its discovery and action phases."""
        return FAILBACK_DISCOVERY_PHASES, FAILBACK_ACTION_PHASES


class ReadinessRequest(_Request):
    """Check, changing nothing, that a failover of every pool (or those of ``site``) would work."""

    workflow: Literal["readiness"] = "readiness"
    site: str | None = None
    #: Its steps only read: it runs them (there is no dry run of a check).
    dry_run: bool = False

    @field_validator("dry_run")
    @classmethod
    def _no_dry_run(cls, dry_run: bool) -> bool:
        if dry_run:
            raise ValueError("a readiness check changes nothing and has no dry run: leave dry_run out")
        return dry_run

    @property
    def subject(self) -> str:
        """What the run is about: the site, or every site."""
        return self.site or "all sites"

    def phases(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Its discovery and action phases."""
        return READINESS_DISCOVERY_PHASES, READINESS_ACTION_PHASES


#: Any request, told apart by its ``workflow``.
AnyRequest = Annotated[
    Request | SiteRequest | FailbackRequest | ReadinessRequest, Field(discriminator="workflow")
]
