"""Fault injection: latency, hangs, transient failures, transport faults, servers down, replication lag,
and topology drift (a stale publish that points Edge pools' next hops back at a pool)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import Field

from lab import lync_facts
from lab.model import Deployment, Model

SETTINGS = (
    "latency",
    "latency_scale",
    "transport_fault_rate",
    "hang",
    "replication_lag_seconds",
    "fail_next",
    "down",
    "up",
    "next_hops",
    "backup_service",
)


class Faults(Model):
    """The fault settings of a lab; command names are canonical (``Invoke-CsPoolFailover``)."""

    latency: dict[str, float] = Field(default_factory=dict)
    latency_scale: float = 1.0
    transport_fault_rate: dict[str, float] = Field(default_factory=dict)
    hang: list[str] = Field(default_factory=list)
    fail_next: dict[str, int] = Field(default_factory=dict)

    def delay(self, command: str) -> float:
        """Seconds a command takes before it acts."""
        return self.latency.get(command, 0.0) * self.latency_scale


def apply_faults(
    faults: Faults,
    deployment: Deployment,
    spec: object,
    *,
    commands: Iterable[str],
    hangable: Iterable[str],
) -> None:
    """Validate a fault spec entirely, then apply it; :class:`ValueError` names the bad setting."""
    if not isinstance(spec, Mapping):
        raise ValueError('a fault spec is a JSON object, e.g. {"latency": {"Invoke-CsPoolFailover": 900}}')
    unknown = [k for k in spec if k not in SETTINGS]
    if unknown:
        raise ValueError(f'unknown fault setting "{unknown[0]}"; known settings: {", ".join(SETTINGS)}')
    names = {c.lower(): c for c in commands}
    hang_names = {c.lower(): c for c in hangable}
    remoting = {s.fqdn for s in deployment.servers() if s.role != "Sql"}
    servers = {s.fqdn for s in deployment.servers()}
    update: dict[str, object] = {}
    if "latency" in spec:
        update["latency"] = {
            _name(names, k, "latency"): _number(v, f"latency of {k}") for k, v in _map(spec, "latency")
        }
    if "latency_scale" in spec:
        update["latency_scale"] = _number(spec["latency_scale"], "latency_scale")
    if "transport_fault_rate" in spec:
        update["transport_fault_rate"] = {
            _server(remoting, k, "transport_fault_rate", wildcard=True): _number(
                v, f"transport_fault_rate of {k}", most=1.0
            )
            for k, v in _map(spec, "transport_fault_rate")
        }
    if "hang" in spec:
        update["hang"] = [_name(hang_names, k, "hang") for k in _list(spec, "hang")]
    if "fail_next" in spec:
        update["fail_next"] = {
            _name(names, k, "fail_next"): _count(v, f"fail_next of {k}") for k, v in _map(spec, "fail_next")
        }
    lag = (
        _number(spec["replication_lag_seconds"], "replication_lag_seconds")
        if "replication_lag_seconds" in spec
        else None
    )
    down = [_server(servers, s, "down") for s in _list(spec, "down")] if "down" in spec else []
    up = [_server(servers, s, "up") for s in _list(spec, "up")] if "up" in spec else []
    next_hops = _next_hops(deployment, spec) if "next_hops" in spec else {}
    backup = _backup_service(deployment, spec) if "backup_service" in spec else None
    for key, value in update.items():
        setattr(faults, key, value)
    if lag is not None:
        deployment.replication_lag_seconds = lag
    for server in down:
        deployment.set_up(server, False)
    for server in up:
        deployment.set_up(server, True)
    if next_hops:
        _drift(deployment, next_hops)
    if backup is not None:
        deployment.backup_export = backup


def _next_hops(deployment: Deployment, spec: Mapping[str, object]) -> dict[str, str]:
    """``{edge pool: Front End pool}``, both known to the topology (the pool may be down)."""
    hops: dict[str, str] = {}
    for edge, pool in _map(spec, "next_hops"):
        if deployment.edge_pool(edge) is None:
            known = ", ".join(e.fqdn for e in deployment.edge_pools) or "none"
            raise ValueError(f'next_hops: "{edge}" is not an Edge pool of this lab; Edge pools: {known}')
        if not isinstance(pool, str) or deployment.pool(pool) is None:
            known = ", ".join(p.fqdn for p in deployment.pools)
            raise ValueError(
                f"next_hops of {edge}: {pool!r} is not a Front End pool of this lab; Front End pools: {known}"
            )
        hops[edge.lower()] = pool.lower()
    return hops


def _backup_service(deployment: Deployment, spec: Mapping[str, object]) -> dict[str, str]:
    """``{pool: export state}``: the Backup Service's export from that pool to its backup pool."""
    states: dict[str, str] = {}
    for pool, state in _map(spec, "backup_service"):
        found = deployment.pool(pool)
        if found is None or found.backup_pool is None:
            raise ValueError(
                f'backup_service: "{pool}" is not a Front End pool with a backup pool in this lab'
            )
        if state not in lync_facts.EXPORT_STATES:
            raise ValueError(
                f"backup_service of {pool}: {state!r} is not one of {', '.join(lync_facts.EXPORT_STATES)}"
            )
        states[found.fqdn] = str(state)
    return states


def _drift(deployment: Deployment, next_hops: Mapping[str, str]) -> None:
    """Point Edge pools' next hops as a stale Topology Builder publish would: at once, unchecked."""
    for edge in deployment.edge_pools:
        edge.next_hop = next_hops.get(edge.fqdn, edge.next_hop)
    deployment.publishes += 1


def _map(spec: Mapping[str, object], key: str) -> list[tuple[str, object]]:
    value = spec[key]
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be an object of name: value")
    return [(str(k), v) for k, v in value.items()]


def _list(spec: Mapping[str, object], key: str) -> list[str]:
    value = spec[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of names")
    return value


def _name(names: Mapping[str, str], name: str, setting: str) -> str:
    canonical = names.get(name.lower())
    if canonical is None:
        known = ", ".join(sorted(names.values()))
        raise ValueError(f'{setting}: "{name}" is not a command this lab answers; use one of: {known}')
    return canonical


def _server(servers: set[str], name: str, setting: str, *, wildcard: bool = False) -> str:
    fqdn = name.lower()
    if fqdn not in servers and not (wildcard and fqdn == "*"):
        raise ValueError(
            f'{setting}: "{name}" is not a server of this lab'
            + (' (or "*" for every server)' if wildcard else "")
        )
    return fqdn


def _number(value: object, what: str, *, most: float | None = None) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or (most is not None and value > most)
    ):
        bound = f"between 0 and {most}" if most is not None else "a number of at least 0"
        raise ValueError(f"{what} must be {bound}, not {value!r}")
    return float(value)


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number of at least 0, not {value!r}")
    return value
