"""The simulated deployment: sites, pools, SQL back ends, Edge pools, the CMS, users, and what is down.

Changed only by cmdlets (``lab.cmdlets``) and the fault API; serialised as JSON to stop and resume a lab.
FQDNs are stored in lower case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from lab import lync_facts

Fqdn = Annotated[str, AfterValidator(str.lower)]
Role = Literal["FrontEnd", "Edge", "Sql"]
#: 5 = Lync Server 2010, 6 = Lync Server 2013, 7 = Skype for Business Server 2015, 8 = 2019.
Version = Literal[5, 6, 7, 8]
#: The registrar's PoolState: the reference's four values (Set-CsRegistrarConfiguration -PoolState).
PoolState = Literal["Active", "FailedOver", "FailingOver", "FailedBack"]


class Model(BaseModel):
    """A model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid")


class SqlServer(Model):
    """A back-end SQL server: its instance and whether a Central Management database is installed on it."""

    fqdn: Fqdn
    instance: str = "rtc"
    cms_database: bool = False


class BackEnd(Model):
    """A pool's SQL back end: primary, optional mirror, and which of them is principal."""

    primary: SqlServer
    mirror: SqlServer | None = None
    principal: Literal["primary", "mirror"] = "primary"

    def servers(self) -> list[SqlServer]:
        """Primary first, then the mirror if any."""
        return [self.primary] if self.mirror is None else [self.primary, self.mirror]

    def principal_server(self) -> SqlServer:
        """The SQL server that holds the principal copy of the pool's databases."""
        return self.mirror if self.principal == "mirror" and self.mirror is not None else self.primary


class FrontEndPool(Model):
    """A Front End pool (its :data:`Version`) and its registrar state."""

    fqdn: Fqdn
    site: str
    version: Version
    front_ends: list[Fqdn]
    backend: BackEnd
    backup_pool: Fqdn | None = None
    pool_state: PoolState = "Active"
    failed_over_to: Fqdn | None = None

    def hosts_cms_database(self) -> bool:
        """Whether its back end has a Central Management database (it then runs a CMS service)."""
        return any(sql.cms_database for sql in self.backend.servers())


class EdgePool(Model):
    """An Edge pool and its internal next-hop Front End pool."""

    fqdn: Fqdn
    site: str
    servers: list[Fqdn]
    next_hop: Fqdn


class Cms(Model):
    """The Central Management store: where it is, whether it is marked unavailable, where it runs."""

    pool: Fqdn
    #: False: marked unavailable, whatever its servers' state.
    available: bool = True
    #: Front Ends with the CMS service installed; empty in a scenario means every Front End of ``pool``.
    service_on: list[Fqdn] = []
    #: The pool it was failed over from (for ``-Restore``).
    previous_pool: Fqdn | None = None
    #: When it last moved; replicas catch up ``replication_lag_seconds`` later.
    moved_at: datetime | None = None
    #: A failover or move to this pool under way (its cmdlet still running).
    moving_to: Fqdn | None = None


class User(Model):
    """A user: home pool, and the pool servicing them (the backup pool after a failover)."""

    sip: Fqdn
    home_pool: Fqdn
    serviced_by: Fqdn | None = None


class Topology(Model):
    """What a scenario describes and the lab changes."""

    sites: list[str]
    pools: list[FrontEndPool]
    edge_pools: list[EdgePool] = []
    cms: Cms
    users: list[User] = []
    #: Files present per server (paths as written, compared without case).
    files: dict[Fqdn, list[str]] = {}

    @model_validator(mode="after")
    def _fill_defaults(self) -> Topology:
        cms_pool = self.pool(self.cms.pool)
        if not self.cms.service_on and cms_pool is not None:
            self.cms.service_on = list(cms_pool.front_ends)
        for user in self.users:
            user.serviced_by = user.serviced_by or user.home_pool
        return self

    def pool(self, fqdn: str) -> FrontEndPool | None:
        """The Front End pool with this FQDN."""
        return next((p for p in self.pools if p.fqdn == fqdn.lower()), None)

    def edge_pool(self, fqdn: str) -> EdgePool | None:
        """The Edge pool with this FQDN."""
        return next((p for p in self.edge_pools if p.fqdn == fqdn.lower()), None)

    def version_of(self, server: str) -> int | None:
        """The Lync version of the Front End pool ``server`` belongs to; None for other servers."""
        pool = self.pool_of_front_end(server)
        return None if pool is None else pool.version

    def pool_of_front_end(self, server: str) -> FrontEndPool | None:
        """The Front End pool this server belongs to."""
        return next((p for p in self.pools if server.lower() in p.front_ends), None)

    def sql_server(self, fqdn: str) -> tuple[FrontEndPool, SqlServer] | None:
        """The pool whose back end has this SQL server, and the server."""
        for pool in self.pools:
            for sql in pool.backend.servers():
                if sql.fqdn == fqdn.lower():
                    return pool, sql
        return None

    def servers(self) -> list[ServerInfo]:
        """Every server: Front Ends, Edge servers, then SQL servers, in scenario order."""
        front = [ServerInfo(s, p.fqdn, p.site, "FrontEnd") for p in self.pools for s in p.front_ends]
        edge = [ServerInfo(s, e.fqdn, e.site, "Edge") for e in self.edge_pools for s in e.servers]
        sql = [ServerInfo(q.fqdn, p.fqdn, p.site, "Sql") for p in self.pools for q in p.backend.servers()]
        return front + edge + sql


@dataclass(frozen=True)
class ServerInfo:
    """One server of the lab; ``up`` is filled in by the engine."""

    fqdn: str
    pool: str
    site: str
    role: Role
    up: bool = True


@dataclass(frozen=True)
class Replica:
    """A CMS replica's state at one moment."""

    fqdn: str
    up_to_date: bool
    last_status_report: datetime
    last_update_creation: datetime
    product_version: str


class ScheduledTask(Model):
    """A task registered with a server's Task Scheduler: what it runs, as whom, how its last run ended."""

    name: str
    command: str
    arguments: str
    user: str
    #: LastTaskResult: lync_facts.TASK_NOT_RUN, TASK_RUNNING, else the exit code.
    last_result: int = lync_facts.TASK_NOT_RUN


class Deployment(Topology):
    """The topology plus the state of the moment: servers down, replication lag, publishes."""

    down: list[Fqdn] = []
    #: Files the lab's cmdlets wrote (Set-Content) per server: path (lower case) -> text.
    written: dict[Fqdn, dict[str, str]] = {}
    #: Scheduled tasks per server, by name (lower case).
    tasks: dict[Fqdn, dict[str, ScheduledTask]] = {}
    replication_lag_seconds: float = 0.0
    #: The Backup Service's export state from a pool to its backup pool, where a fault made it not normal.
    backup_export: dict[Fqdn, str] = {}
    publishes: int = 0
    #: When the lab started: the replicas' last update before any CMS move.
    started_at: datetime

    def has_file(self, server: str, path: str) -> bool:
        """Whether the file exists on the server (compared without case, as on Windows)."""
        server = server.lower()
        shipped = (f.lower() for f in self.files.get(server, []))
        return path.lower() in self.written.get(server, {}) or path.lower() in shipped

    def is_up(self, fqdn: str) -> bool:
        """Whether the server is running."""
        return fqdn.lower() not in self.down

    def set_up(self, fqdn: str, up: bool) -> None:
        """Start or stop a server."""
        fqdn = fqdn.lower()
        if up and fqdn in self.down:
            self.down.remove(fqdn)
        elif not up and fqdn not in self.down:
            self.down.append(fqdn)

    def cms_pool(self) -> FrontEndPool:
        """The pool hosting the CMS (a scenario guarantees it exists)."""
        pool = self.pool(self.cms.pool)
        assert pool is not None, "the scenario loader checks the CMS pool"
        return pool

    def cms_available(self) -> bool:
        """Its pool has a Front End up, its principal SQL server is up, it is not marked unavailable and
        not being moved."""
        pool = self.cms_pool()
        front_end_up = any(self.is_up(s) for s in pool.front_ends)
        settled = self.cms.available and self.cms.moving_to is None
        return settled and front_end_up and self.is_up(pool.backend.principal_server().fqdn)

    def pool_is_up(self, pool: FrontEndPool) -> bool:
        """Every Front End and the principal SQL server of the pool are running."""
        servers = [*pool.front_ends, pool.backend.principal_server().fqdn]
        return all(self.is_up(s) for s in servers)

    def replicas(self, now: datetime) -> list[Replica]:
        """One replica per Front End and Edge server; after a CMS move, up ones catch up after the lag."""
        versions = {s: p.version for p in self.pools for s in p.front_ends}
        caught_up_at = self._caught_up_at()
        result = []
        for server in self.servers():
            if server.role == "Sql":
                continue
            up = self.is_up(server.fqdn)
            up_to_date = up and now >= caught_up_at
            version = versions.get(server.fqdn, self.cms_pool().version)
            result.append(
                Replica(
                    fqdn=server.fqdn,
                    up_to_date=up_to_date,
                    last_status_report=now if up else self.started_at,
                    last_update_creation=caught_up_at if up_to_date else self.started_at,
                    product_version=lync_facts.PRODUCT_VERSIONS[version],
                )
            )
        return result

    def _caught_up_at(self) -> datetime:
        if self.cms.moved_at is None:
            return self.started_at
        return self.cms.moved_at + timedelta(seconds=self.replication_lag_seconds)
