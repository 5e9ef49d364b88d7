"""Run a lab: the engine for a scenario, one WinRM endpoint per server, the control API and the inventory."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lab.control import ControlServer
from lab.engine import LabEngine
from lab.inventory import PASSWORD_ENV, ServedServer, build_inventory, write_inventory
from lab.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from lab.wsman import LabTls, WinRMEndpoint, make_lab_tls
from lab.wsman.auth import UserDirectory

Transport = Literal["http", "https"]
Auth = Literal["basic", "ntlm", "credssp", "any"]
#: Roles that answer WinRM; SQL back ends are reached only through the Front Ends' cmdlets.
REMOTING_ROLES = ("FrontEnd", "Edge")
PASSWORD_FILE = "lab.password"


@dataclass(frozen=True)
class LabOptions:
    """How to serve a lab. ``directory`` receives the inventory, the password file and the TLS files.

    ``scenario`` None: the state file's when resuming, else :data:`lab.scenario.DEFAULT_SCENARIO`.
    """

    scenario: str | None
    directory: Path
    inventory: Path | None = None
    transport: Transport = "http"
    #: What the endpoints offer. CredSSP by default: the cmdlets that reach SQL Server need the credential
    #: it delegates (the second hop), as on Windows.
    auth: Auth = "credssp"
    control_port: int = 0
    state: Path | None = None

    def __post_init__(self) -> None:
        if self.auth == "basic" and self.transport == "http":
            raise ValueError(
                "Basic sends the password and every message in clear, and Windows refuses it over http: "
                "use --auth basic with --transport https, or --auth credssp or ntlm (message encryption) "
                "over http"
            )


class LabServer:
    """A running lab. ``start()`` brings every endpoint up; ``stop()`` takes them down and saves the state."""

    def __init__(self, options: LabOptions) -> None:
        self.options = options
        self.directory = options.directory
        self.inventory_path = options.inventory or options.directory / "inventory.json"
        if options.state is not None and options.state.exists():
            self.engine = LabEngine.load(options.state)
            _check_same_scenario(self.engine.scenario, options.scenario, options.state)
        else:
            self.engine = LabEngine.from_scenario(load_scenario(options.scenario or DEFAULT_SCENARIO))
        self.password, self.password_file = _lab_password(self.inventory_path.parent)
        self.tls: LabTls | None = (
            make_lab_tls(self.directory / "tls") if options.transport == "https" else None
        )
        self.endpoints: dict[str, WinRMEndpoint] = {}
        self._sync_lock = threading.Lock()
        self.control = ControlServer(self.engine, port=options.control_port)
        self.engine.on_change(self.sync_endpoints)

    @property
    def control_url(self) -> str:
        """The base URL of the control API."""
        return self.control.url

    @property
    def password_env(self) -> dict[str, str]:
        """The environment a worker needs to log on to the lab's servers."""
        return {PASSWORD_ENV: self.password}

    def start(self) -> None:
        """Start the control API and one endpoint per server; write the inventory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        users = {self.engine.administrator: self.password}
        self.engine.accept_passwords(UserDirectory(users).verify)
        context = self.tls.server_context() if self.tls is not None else None
        for server in self.engine.servers():
            if server.role not in REMOTING_ROLES:
                continue
            endpoint = WinRMEndpoint(
                server.fqdn,
                self.engine,
                users=users,
                auth=self.options.auth,
                tls=context,
                transport_fault=self.engine.transport_fault,
                user_file_directory=self.directory,
            )
            endpoint.start()
            self.endpoints[server.fqdn] = endpoint
        self.sync_endpoints()
        self.control.start()
        write_inventory(self.inventory_path, self.inventory())

    def stop(self) -> None:
        """Stop every endpoint and the control API; save the state when a state file was given (even when
        stopping them fails)."""
        self.engine.close()
        try:
            self.control.stop()
            for endpoint in self.endpoints.values():
                endpoint.close()
        finally:
            if self.options.state is not None:
                self.engine.save(self.options.state)

    def sync_endpoints(self) -> None:
        """Make each endpoint's listener match its server: a server that is down refuses connections.

        One sync at a time, each reading the engine afresh: concurrent changes end with the last state.
        """
        with self._sync_lock:
            for fqdn, endpoint in self.endpoints.items():
                up = self.engine.is_up(fqdn)
                if up and not endpoint.running:
                    endpoint.start()
                elif not up and endpoint.running:
                    endpoint.stop()

    def inventory(self) -> dict[str, object]:
        """The inventory document for the runner."""
        served = [
            ServedServer(s.fqdn, s.pool, s.site, s.role, self.endpoints[s.fqdn].url)
            for s in self.engine.servers()
            if s.fqdn in self.endpoints
        ]
        return build_inventory(
            served,
            username=self.engine.administrator,
            auth=self.options.auth if self.options.auth != "any" else "credssp",
            password_file=self.password_file,
            ca_bundle=self._ca_bundle(),
            pool_versions=self.engine.pool_versions(),
        )

    def _ca_bundle(self) -> Path | None:
        if self.tls is None:
            return None
        bundle = self.inventory_path.parent / "lab-ca.pem"
        if bundle.resolve() != self.tls.ca_path.resolve():
            bundle.write_bytes(self.tls.ca_path.read_bytes())
        return bundle


def _check_same_scenario(resumed: str, requested: str | None, state: Path) -> None:
    """Refuse to resume a state file of another scenario than the one asked for."""
    if requested is None:
        return
    wanted = load_scenario(requested).name
    if wanted != resumed:
        raise ScenarioError(
            f'{state} holds a lab of scenario "{resumed}", not "{wanted}": drop --state to serve "{wanted}" '
            f'afresh, drop --scenario to resume "{resumed}", or delete {state} to start "{wanted}" '
            "and save it there"
        )


def _lab_password(directory: Path) -> tuple[str, Path | None]:
    """The administrator's password: ``LAB_PASSWORD``, else one generated into a private file."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env, None
    path = directory / PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), path
    directory.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password, path
