"""Load a scenario (``lab/scenarios/<name>.yaml`` or a path): the deployment, the disaster, the expected end.

Every error names the file, the line and the offending name or key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from lab import lync_facts
from lab.model import Fqdn, FrontEndPool, Model, PoolState, Topology

SCENARIO_DIRECTORY = Path(__file__).parent / "scenarios"
DEFAULT_SCENARIO = "cms-2013-primary"

#: A place in the YAML document: keys and list indexes from the root.
Location = tuple[str | int, ...]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and line."""


class Expected(Model):
    """The end state a correct failover reaches."""

    cms_pool: Fqdn | None = None
    #: The pool that must service every user homed on the failed pool.
    users_serviced_by: Fqdn | None = None
    #: For each home pool, the pool that must service its users (a site failover, a failback).
    users_by_home_pool: dict[Fqdn, Fqdn] = Field(default_factory=dict)
    #: The registrar PoolState each of these pools must report.
    pool_states: dict[Fqdn, PoolState] = Field(default_factory=dict)
    edge_next_hops: dict[Fqdn, Fqdn] = Field(default_factory=dict)
    replicas_up_to_date: bool = False
    #: Every Front End of the CMS pool that is up has the CMS service (the 2010 path's Bootstrapper).
    cms_service_on_all_front_ends: bool = False


class Scenario(Topology):
    """A deployment, the disaster that struck it, and the expected end state."""

    name: str
    description: str
    #: The pool that failed (``rehearse: failover``), or that is back and fails back (``failback``).
    failed_pool: Fqdn | None = None
    #: The site that was lost (``rehearse: site``).
    failed_site: str | None = None
    #: What the drill rehearses: a pool failover, a site failover, a failback of ``failed_pool``, or a
    #: readiness check (nothing has failed).
    rehearse: Literal["failover", "site", "failback", "readiness"] = "failover"
    down_servers: list[Fqdn] = Field(default_factory=list)
    administrator: str = "CONTOSO\\lyncadmin"
    replication_lag_seconds: float = 120.0
    #: Seeds the transport-fault random generator; defaults to one derived from the name.
    seed: int | None = None
    expected: Expected


def scenario_names() -> list[str]:
    """The names of the shipped scenarios."""
    return sorted(p.stem for p in SCENARIO_DIRECTORY.glob("*.yaml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Read and validate a scenario; a bare name finds ``lab/scenarios/<name>.yaml``."""
    path = _resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read the scenario: {error.strerror}") from error
    document = _Document(path.name, text)
    try:
        scenario = Scenario.model_validate(document.data)
    except ValidationError as error:
        raise document.error_for(error) from error
    _References(scenario, document).check()
    return scenario


def _resolve(name_or_path: str) -> Path:
    if "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    path = SCENARIO_DIRECTORY / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(scenario_names())
        raise ScenarioError(f'no scenario named "{name_or_path}"; the shipped ones are: {known}')
    return path


class _Document:
    """A YAML document as plain data, remembering the line of every key and list item."""

    def __init__(self, file_name: str, text: str) -> None:
        self.file_name = file_name
        self.lines: dict[Location, int] = {(): 1}
        self._constructor = yaml.SafeLoader("")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(error, "problem", None) or str(error)
            raise ScenarioError(f"{file_name}, line {line}: invalid YAML: {problem}") from error
        if not isinstance(node, yaml.MappingNode):
            raise ScenarioError(f"{file_name}, line 1: a scenario is a mapping of keys (name, pools, ...)")
        self.data = self._plain(node, ())

    def _plain(self, node: yaml.Node, at: Location) -> object:
        if isinstance(node, yaml.MappingNode):
            result: dict[str, object] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in result:
                    raise self.error((*at, key), f'duplicate key "{key}"', line=key_node.start_mark.line + 1)
                self.lines[(*at, key)] = key_node.start_mark.line + 1
                result[key] = self._plain(value_node, (*at, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*at, index)] = item.start_mark.line + 1
                items.append(self._plain(item, (*at, index)))
            return items
        return self._constructor.construct_object(node)

    def line(self, at: Location) -> int:
        """The line of the nearest known location at or above ``at``."""
        while at not in self.lines:
            at = at[:-1]
        return self.lines[at]

    def error(self, at: Location, message: str, *, line: int | None = None) -> ScenarioError:
        """An error at a location of the document."""
        return ScenarioError(f"{self.file_name}, line {line or self.line(at)}: {message}")

    def error_for(self, error: ValidationError) -> ScenarioError:
        """The first problem pydantic found, with its line and in the scenario's words."""
        first = error.errors()[0]
        at: Location = tuple(first["loc"])
        where = _describe(at[:-1]) if at else "the scenario"
        name = at[-1] if at else ""
        if first["type"] == "extra_forbidden":
            return self.error(at, f'unknown key "{name}" in {where}')
        if first["type"] == "missing":
            return self.error(at, f'missing key "{name}" in {where}')
        return self.error(at, f"{_describe(at)}: {first['msg']} (got {first.get('input')!r})")


def _describe(at: Location) -> str:
    """``pools[0].backend`` for ``("pools", 0, "backend")``."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the scenario"


class _References:
    """Cross-checks: every name a scenario uses is defined, once."""

    def __init__(self, scenario: Scenario, document: _Document) -> None:
        self.scenario = scenario
        self.document = document
        self.front_end_pools = {p.fqdn for p in scenario.pools}
        self.servers = {s.fqdn for s in scenario.servers()}

    def check(self) -> None:
        """Raise :class:`ScenarioError` at the first broken reference."""
        s = self.scenario
        self._unique()
        for i, pool in enumerate(s.pools):
            self._site(pool.site, ("pools", i, "site"))
            self._require(
                pool.backend.principal == "primary" or pool.backend.mirror is not None,
                ("pools", i, "backend", "principal"),
                f'the principal of pool "{pool.fqdn}" is its mirror, but its back end has no mirror: '
                'add one, or make the principal "primary"',
            )
            if pool.backup_pool is not None:
                self._front_end_pool(pool.backup_pool, ("pools", i, "backup_pool"), "backup pool")
                self._require(
                    pool.backup_pool != pool.fqdn,
                    ("pools", i, "backup_pool"),
                    f'pool "{pool.fqdn}" cannot back itself up',
                )
                self._paired_versions(pool, ("pools", i, "backup_pool"))
            if pool.failed_over_to is not None:
                self._front_end_pool(
                    pool.failed_over_to, ("pools", i, "failed_over_to"), "failed-over-to pool"
                )
        for i, edge in enumerate(s.edge_pools):
            self._site(edge.site, ("edge_pools", i, "site"))
            self._front_end_pool(edge.next_hop, ("edge_pools", i, "next_hop"), "next hop")
        self._front_end_pool(s.cms.pool, ("cms", "pool"), "CMS pool")
        cms_pool = s.pool(s.cms.pool)
        cms_front_ends = set(cms_pool.front_ends if cms_pool is not None else ())
        for i, server in enumerate(s.cms.service_on):
            self._require(
                server in cms_front_ends,
                ("cms", "service_on", i),
                f'"{server}" is not a Front End of the CMS pool',
            )
        if s.cms.previous_pool is not None:
            self._front_end_pool(s.cms.previous_pool, ("cms", "previous_pool"), "previous CMS pool")
        for i, user in enumerate(s.users):
            self._require(
                user.sip.startswith("sip:"), ("users", i, "sip"), f'user "{user.sip}" must start with "sip:"'
            )
            self._front_end_pool(user.home_pool, ("users", i, "home_pool"), "home pool")
            self._front_end_pool(
                user.serviced_by or user.home_pool, ("users", i, "serviced_by"), "servicing pool"
            )
        for server in s.files:
            self._require(server in self.servers, ("files", server), f'files of unknown server "{server}"')
        if s.rehearse == "site":
            self._require(s.failed_site is not None, (), 'missing key "failed_site" in the scenario')
            self._site(s.failed_site or "", ("failed_site",))
        elif s.rehearse != "readiness":
            self._require(s.failed_pool is not None, (), 'missing key "failed_pool" in the scenario')
            self._front_end_pool(s.failed_pool or "", ("failed_pool",), "failed pool")
        for i, server in enumerate(s.down_servers):
            self._require(
                server in self.servers,
                ("down_servers", i),
                f'down server "{server}" is not a server of this scenario',
            )
        self._check_expected()

    def _check_expected(self) -> None:
        expected = self.scenario.expected
        if expected.cms_pool is not None:
            self._front_end_pool(expected.cms_pool, ("expected", "cms_pool"), "expected CMS pool")
        if expected.users_serviced_by is not None:
            self._front_end_pool(
                expected.users_serviced_by, ("expected", "users_serviced_by"), "expected servicing pool"
            )
        for home, serving in expected.users_by_home_pool.items():
            where: Location = ("expected", "users_by_home_pool", home)
            self._front_end_pool(home, where, "home pool")
            self._front_end_pool(serving, where, "expected servicing pool")
        for pool in expected.pool_states:
            self._front_end_pool(pool, ("expected", "pool_states", pool), "pool")
        edge_pools = {e.fqdn for e in self.scenario.edge_pools}
        for edge, hop in expected.edge_next_hops.items():
            at: Location = ("expected", "edge_next_hops", edge)
            self._require(edge in edge_pools, at, f'Edge pool "{edge}" is not an Edge pool of this scenario')
            self._front_end_pool(hop, at, "expected next hop")

    def _unique(self) -> None:
        seen: set[str] = set()
        names: list[tuple[Location, str]] = [
            (("pools", i, "fqdn"), p.fqdn) for i, p in enumerate(self.scenario.pools)
        ]
        names += [(("edge_pools", i, "fqdn"), e.fqdn) for i, e in enumerate(self.scenario.edge_pools)]
        names += [((), s.fqdn) for s in self.scenario.servers()]
        for at, name in names:
            self._require(name not in seen, at, f'"{name}" is defined twice')
            seen.add(name)
        for i, user in enumerate(self.scenario.users):
            self._require(user.sip not in seen, ("users", i, "sip"), f'user "{user.sip}" is defined twice')
            seen.add(user.sip)

    def _paired_versions(self, pool: FrontEndPool, at: Location) -> None:
        """Backup pairing came with Lync Server 2013: both pools of a pair run version 6 or later."""
        backup = self.scenario.pool(pool.backup_pool or "")
        for member in (pool, backup):
            if member is not None and member.version < lync_facts.LYNC_2013:
                raise self.document.error(
                    at,
                    f'pool "{pool.fqdn}" cannot be backed up by "{pool.backup_pool}": "{member.fqdn}" runs '
                    f"Lync Server 2010 (version {member.version}) and backup pairing came with Lync Server "
                    f"2013 (version {lync_facts.LYNC_2013}); remove backup_pool or make both pools version "
                    f"{lync_facts.LYNC_2013}",
                )

    def _site(self, site: str, at: Location) -> None:
        self._require(site in self.scenario.sites, at, f'site "{site}" is not one of the scenario\'s sites')

    def _front_end_pool(self, fqdn: str, at: Location, what: str) -> None:
        self._require(
            fqdn in self.front_end_pools, at, f'{what} "{fqdn}" is not a Front End pool of this scenario'
        )

    def _require(self, condition: bool, at: Location, message: str) -> None:
        if not condition:
            raise self.document.error(at, message)
