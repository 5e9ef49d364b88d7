"""The inventory: where each Lync server is, which site and queue serve it, how to reach it.

The format: docs/inventory.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from worker.settings import get_settings

DEFAULT_PORTS = {"http": 5985, "https": 5986}


class InventoryError(ValueError):
    """The inventory is missing or wrong; the message names the file and the entry."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteEntry(_Entry):
    """A Lync site (datacenter) and the Celery queue whose workers run there."""

    name: str
    queue: str


class PoolEntry(_Entry):
    """A pool: ``FrontEnd`` and ``Edge`` pools matter to the runner, other roles are ignored."""

    fqdn: str
    site: str
    role: str
    #: 5 = Lync Server 2010, 6 = 2013, 7 = Skype for Business Server 2015, 8 = 2019 (plugins.kit.versions):
    #: the module a session imports and Bootstrapper's path follow it.
    version: Literal[5, 6, 7, 8] | None = None

    _lower_fqdn = field_validator("fqdn")(lambda value: value.lower())


class ServerEntry(_Entry):
    """A server of a pool and how to reach its WinRM endpoint."""

    fqdn: str
    pool: str
    endpoint: str
    auth: Literal["negotiate", "ntlm", "kerberos", "credssp", "basic"]
    credential: str
    ca_bundle: Path | None = None
    cert_validation: bool = True
    encryption: Literal["auto", "always", "never"] = "auto"

    _lower_names = field_validator("fqdn", "pool")(lambda value: value.lower())

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_wsman_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"{value!r} is not a WinRM URL like https://host:5986/wsman")
        try:
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError:
            raise ValueError(f"{value!r} has a bad port") from None
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _relative_to_inventory(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve(value, info)

    @property
    def use_tls(self) -> bool:
        """Whether the endpoint is HTTPS."""
        return urlsplit(self.endpoint).scheme == "https"

    @property
    def host(self) -> str:
        """The endpoint's host name or address."""
        return urlsplit(self.endpoint).hostname or ""

    @property
    def port(self) -> int:
        """The endpoint's port (5985 for HTTP, 5986 for HTTPS unless the URL says otherwise)."""
        parts = urlsplit(self.endpoint)
        return parts.port or DEFAULT_PORTS[parts.scheme]

    @property
    def path(self) -> str:
        """The endpoint's URL path, ``wsman`` by default (without the leading slash, as pypsrp wants it)."""
        return urlsplit(self.endpoint).path.lstrip("/") or "wsman"

    @property
    def tls_verify(self) -> str | bool:
        """What verifies the TLS certificate: the CA bundle's path, the system store (True) or nothing."""
        if self.ca_bundle is not None:
            return str(self.ca_bundle)
        return self.cert_validation


class CredentialEntry(_Entry):
    """A user name and where the worker finds its password (or neither: a plugin hook supplies it)."""

    username: str
    password_env: str | None = None
    password_file: Path | None = None

    @field_validator("password_file")
    @classmethod
    def _relative_to_inventory(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve(value, info)


class Inventory(_Entry):
    """The whole inventory, checked: every reference resolves and no server is listed twice."""

    format: Literal["lync-failover-inventory/1"]
    control_queue: str = "lync.control"
    sites: list[SiteEntry]
    pools: list[PoolEntry]
    servers: list[ServerEntry]
    credentials: dict[str, CredentialEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Inventory:
        problems = [
            *_duplicates("sites", [site.name for site in self.sites], "site"),
            *_duplicates("pools", [pool.fqdn for pool in self.pools], "pool"),
            *_duplicates("servers", [server.fqdn for server in self.servers], "server"),
        ]
        site_names = {site.name for site in self.sites}
        for index, pool in enumerate(self.pools):
            if pool.site not in site_names:
                problems.append(f'pools[{index}] ({pool.fqdn}): site "{pool.site}" is not in sites')
        pool_names = {pool.fqdn for pool in self.pools}
        for index, server in enumerate(self.servers):
            label = f"servers[{index}] ({server.fqdn})"
            if server.pool not in pool_names:
                problems.append(f'{label}: pool "{server.pool}" is not in pools')
            if server.credential not in self.credentials:
                problems.append(f'{label}: credential "{server.credential}" is not in credentials')
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def server(self, fqdn: str) -> ServerEntry:
        """The server with this FQDN (any case)."""
        for server in self.servers:
            if server.fqdn == fqdn.lower():
                return server
        raise InventoryError(f'server "{fqdn}" is not in the inventory: add it under "servers"')

    def pool(self, fqdn: str) -> PoolEntry:
        """The pool with this FQDN (any case)."""
        for pool in self.pools:
            if pool.fqdn == fqdn.lower():
                return pool
        raise InventoryError(f'pool "{fqdn}" is not in the inventory: add it under "pools"')

    def servers_in(self, pool: str) -> list[ServerEntry]:
        """The servers of a pool, in inventory order."""
        fqdn = self.pool(pool).fqdn
        return [server for server in self.servers if server.pool == fqdn]

    def site_of(self, fqdn: str) -> str:
        """The site of a server or a pool."""
        if any(pool.fqdn == fqdn.lower() for pool in self.pools):
            return self.pool(fqdn).site
        return self.pool(self.server(fqdn).pool).site

    def queue_for(self, server: str) -> str:
        """The Celery queue of the site where ``server`` lives."""
        site = self.site_of(server)
        return next(entry.queue for entry in self.sites if entry.name == site)

    def front_end_pools(self) -> list[PoolEntry]:
        """The Front End pools."""
        return [pool for pool in self.pools if pool.role == "FrontEnd"]

    def edge_pools(self) -> list[PoolEntry]:
        """The Edge pools."""
        return [pool for pool in self.pools if pool.role == "Edge"]


def load_inventory(path: Path | str) -> Inventory:
    """Read and check the inventory at ``path`` (JSON, or YAML for ``.yaml``/``.yml``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InventoryError(f"{path}: cannot read the inventory ({error.strerror or error})") from None
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise InventoryError(f"{path.name}: not valid {path.suffix.lstrip('.').upper()}: {error}") from None
    if not isinstance(data, dict):
        raise InventoryError(f"{path.name}: expected an object with sites, pools, servers and credentials")
    try:
        return Inventory.model_validate(data, context={"base_dir": path.resolve().parent})
    except ValidationError as error:
        lines = [f"{path.name}: {problem}" for problem in _describe(error, data)]
        raise InventoryError("\n".join(lines)) from None


def get_inventory() -> Inventory:
    """The inventory named by ``LYNC_FAILOVER_INVENTORY`` (read once per process)."""
    path = get_settings().inventory_path
    if path is None:
        raise InventoryError(
            "LYNC_FAILOVER_INVENTORY is not set: point it at the inventory file (docs/inventory.md)"
        )
    return inventory_at(path)


@cache
def inventory_at(path: Path) -> Inventory:
    """The inventory at ``path``, read once per process."""
    return load_inventory(path)


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if value is None or base is None:
        return value
    return Path(base, value.expanduser())


def _duplicates(section: str, names: Sequence[str], what: str) -> list[str]:
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(f"{section}[{index}] ({name}): {what} listed twice")
        seen.add(name)
    return problems


def _describe(error: ValidationError, data: Mapping[str, Any]) -> list[str]:
    """One line per problem: the entry (with its name), the field, what is wrong."""
    problems = []
    for detail in error.errors():
        location = detail["loc"]
        if not location and detail["type"] == "value_error":
            problems.extend(str(detail["ctx"]["error"]).splitlines())
            continue
        message = detail["msg"].removeprefix("Value error, ")
        if len(location) >= 2 and isinstance(location[1], int):
            section, index, *rest = location
            entries = data.get(str(section))
            entry = (
                entries[index]
                if isinstance(entries, list) and isinstance(index, int) and len(entries) > index
                else None
            )
            name = entry.get("fqdn") or entry.get("name") if isinstance(entry, dict) else None
            label = f"{section}[{index}]" + (f" ({name})" if name else "")
        elif len(location) >= 2:
            section, key, *rest = location
            label = f"{section}.{key}"
        else:
            label, rest = "inventory", list(location)
        field = ".".join(str(part) for part in rest)
        problems.append(f"{label}: {field}: {message}" if field else f"{label}: {message}")
    return problems
