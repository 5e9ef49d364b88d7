"""The Lync side of the lab: runs cmdlets against the deployment, journals them, injects faults, verifies."""

from __future__ import annotations

import functools
import inspect
import random
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from lab import cmdlets, lync_facts
from lab.api import CallContext, CommandCall, ExecResult, PipelineOutput, PowerShellError
from lab.cmdlets.base import Cmdlet, Invocation
from lab.cmdlets.binding import bind
from lab.cmdlets.bootstrapper import is_bootstrapper, run_bootstrapper
from lab.faults import Faults, apply_faults
from lab.model import Deployment, Model, ServerInfo, Topology
from lab.scenario import Expected, Scenario

#: The clock the engine reads; tests inject one they can advance.
Clock = Callable[[], datetime]
BOOTSTRAPPER = "Bootstrapper.exe"
STOPPED_ERROR_ID = "PipelineStopped"
LAB_STOPPED = "The lab stopped while the program ran; it did nothing."
_DONE = object()


class JournalEntry(Model):
    """One command the lab received: appended when received, completed when it ends."""

    seq: int
    server: str
    user: str
    cmdlet: str
    parameters: dict[str, object]
    outcome: Literal["ok", "error", "stopped"] | None = None
    error: str | None = None
    #: Errors ``-ErrorAction SilentlyContinue``/``Ignore`` kept from the client (the outcome stays ok).
    note: str | None = None
    started: datetime
    ended: datetime | None = None
    #: Run by a scheduled task on the server (run locally), not over a remote session.
    local: bool = False


class StateFileError(ValueError):
    """A state file the lab cannot resume (unreadable, corrupt, or from an older lab)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(
            f"{path}: cannot resume the lab from it ({problem}): it is corrupt or from an older lab; "
            "delete it to start the scenario afresh"
        )


class LabState(Model):
    """Everything a lab needs to stop and resume: saved and loaded as JSON."""

    scenario: str
    administrator: str
    failed_pool: str | None = None
    failed_site: str | None = None
    rehearse: str = "failover"
    seed: int
    expected: Expected
    deployment: Deployment
    faults: Faults = Field(default_factory=Faults)
    journal: list[JournalEntry] = Field(default_factory=list)


class LabEngine:
    """Implements :class:`lab.api.Engine`; thread-safe (one lock, never held while waiting)."""

    def __init__(self, state: LabState, clock: Clock | None = None) -> None:
        self._state = state
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        #: Notified on every fault or up/down change, and on close(): waits on a server watch it.
        self._changed = threading.Condition(self._lock)
        self._closed = False
        self._random = random.Random(state.seed)
        self._on_change: list[Callable[[], None]] = []
        #: How Register-ScheduledTask checks a password: no accounts until accept_passwords().
        self._check_password: Callable[[str, str], bool] = lambda _user, _password: False
        #: Set when the lab stops: local runs (scheduled tasks) in progress end.
        self._stopping = threading.Event()
        #: How many requests ``transport_fault`` dropped since the lab started.
        self._dropped_requests = 0

    @classmethod
    def from_scenario(cls, scenario: Scenario, clock: Clock | None = None) -> LabEngine:
        """A fresh lab in the scenario's disaster."""
        clock = clock or (lambda: datetime.now(UTC))
        topology = scenario.model_dump(include=set(Topology.model_fields))
        deployment = Deployment.model_validate(
            {
                **topology,
                "down": scenario.down_servers,
                "replication_lag_seconds": scenario.replication_lag_seconds,
                "started_at": clock(),
            }
        )
        state = LabState(
            scenario=scenario.name,
            administrator=scenario.administrator,
            failed_pool=scenario.failed_pool,
            failed_site=scenario.failed_site,
            rehearse=scenario.rehearse,
            seed=scenario.seed if scenario.seed is not None else zlib.crc32(scenario.name.encode()),
            expected=scenario.expected,
            deployment=deployment,
        )
        return cls(state, clock)

    @classmethod
    def load(cls, path: str | Path, clock: Clock | None = None) -> LabEngine:
        """Resume a lab saved by :meth:`save`; :class:`StateFileError` when the file cannot be resumed."""
        try:
            state = LabState.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise StateFileError(path, error.strerror or str(error)) from error
        except (ValidationError, UnicodeDecodeError) as error:
            raise StateFileError(path, _first_problem(error)) from error
        return cls(state, clock)

    def save(self, path: str | Path) -> None:
        """Write the whole state (deployment, faults, journal) as JSON, atomically; makes the directory."""
        path = Path(path)
        with self._lock:
            text = self._state.model_dump_json(indent=2)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return self._state.scenario

    @property
    def administrator(self) -> str:
        """The account the lab's endpoints accept (``CONTOSO\\lyncadmin``)."""
        return self._state.administrator

    # --- lab.api.Engine --------------------------------------------------------------------------------

    def invoke(self, context: CallContext, commands: Sequence[CommandCall], output: PipelineOutput) -> None:
        """Run one statement; only single-command pipelines are supported (the runner sends no others)."""
        if len(commands) != 1:
            names = " | ".join(c.name for c in commands)
            message = (
                f"The lab runs one command per statement; got {len(commands)} ({names}). Send each alone."
            )
            for call in commands:
                self._close(self._open(context, call.name, _raw_parameters(call)), "error", message)
            raise PowerShellError(message, error_id="PipelineNotSupported", category="NotImplemented")
        call = commands[0]
        entry = self._open(context, call.name, _raw_parameters(call))
        output = _ErrorsNoted(output)
        try:
            version = self._front_end_version(context.server)
            cmdlet = cmdlets.find(call.name, version)
            bound = bind(cmdlet.syntax, version, call)
            arguments = bound.arguments
            output.action = str(arguments.get("ErrorAction") or "Continue")
            with self._lock:
                entry.cmdlet, entry.parameters = cmdlet.name, _json_parameters(arguments)
                invocation = Invocation(
                    cmdlet.name,
                    context.server.lower(),
                    arguments,
                    self._state.deployment,
                    output,
                    self._clock(),
                    parameter_set=bound.parameter_set,
                    delegated=context.delegated or context.local,
                    user=context.user,
                    local=context.local,
                    check_password=self._check_password,
                    run_locally=functools.partial(self._run_locally, context.server),
                )
            self._run(cmdlet, invocation, output.stopping)
        except PowerShellError as error:
            self._close(entry, "stopped" if error.error_id == STOPPED_ERROR_ID else "error", error.message)
            raise
        except Exception as error:
            self._close(entry, "error", f"internal lab error: {error!r}")
            raise
        if output.errors:
            self._close(entry, "error", "; ".join(output.errors))
        else:
            self._close(entry, "ok", None)
        if output.hidden:
            with self._lock:
                entry.note = f"-ErrorAction {output.action} hid: " + "; ".join(output.hidden)

    def _run(self, cmdlet: Cmdlet, inv: Invocation, stopping: threading.Event) -> None:
        """Run the handler, its time (latency, hang) passing before it acts, or at its yield when it marks
        work under way first; ``fail_next`` fails it before anything. ``-WhatIf`` takes no time."""
        seconds, hang = self._faults_for(cmdlet.name)
        if inv.flag("WhatIf"):
            seconds, hang = 0.0, False
        if not inspect.isgeneratorfunction(cmdlet.run):
            self._wait(cmdlet.name, stopping, seconds, hang)
            with self._lock:
                inv.now = self._clock()
                cmdlet.run(inv)
            return
        with self._lock:
            work = cmdlet.run(inv)
            assert work is not None
            if next(work, _DONE) is _DONE:
                return
        try:
            self._wait(cmdlet.name, stopping, seconds, hang)
        except PowerShellError:
            with self._lock:
                work.close()
            raise
        with self._lock:
            inv.now = self._clock()
            for _ in work:
                raise AssertionError(f"{cmdlet.name} yielded twice: a handler yields once, where time passes")

    def execute(self, context: CallContext, executable: str, arguments: Sequence[str]) -> ExecResult:
        """Run ``Bootstrapper.exe /Setup`` (any other program is unknown to cmd)."""
        name = BOOTSTRAPPER if is_bootstrapper(executable) else executable
        server = context.server.lower()
        entry = self._open(context, name, {"arguments": list(arguments)})
        try:
            seconds, _hang = self._faults_for(name)
        except PowerShellError as error:
            self._close(entry, "error", error.message)
            return ExecResult(1, stderr=error.message)
        with self._changed:
            if not self._wait_while_up(server, seconds):
                stopped = self._closed
                message = LAB_STOPPED if stopped else lync_facts.SETUP_SERVER_DOWN.format(server=server)
                self._close(entry, "stopped" if stopped else "error", message)
                return ExecResult(1, stderr=message)
            result = run_bootstrapper(self._state.deployment, server, executable, arguments)
        self._close(entry, "ok" if result.exit_code == 0 else "error", result.stderr or None)
        return result

    def close(self) -> None:
        """End the waits of programs in progress (exit 1, journal ``stopped``): the lab is stopping."""
        self._stopping.set()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def accept_passwords(self, check: Callable[[str, str], bool]) -> None:
        """How Register-ScheduledTask checks ``(user, password)`` (LabServer passes its user directory's)."""
        self._check_password = check

    # --- inspection and control ------------------------------------------------------------------------

    def servers(self) -> list[ServerInfo]:
        """Every server of the lab with its role and whether it is up."""
        with self._lock:
            d = self._state.deployment
            return [replace(s, up=d.is_up(s.fqdn)) for s in d.servers()]

    def pool_versions(self) -> dict[str, int]:
        """Each Front End pool's version (5 = Lync 2010, 6 = Lync 2013), for the inventory."""
        with self._lock:
            return {p.fqdn: p.version for p in self._state.deployment.pools}

    def is_up(self, fqdn: str) -> bool:
        """Whether the server is running."""
        with self._lock:
            return self._state.deployment.is_up(fqdn)

    def set_server_up(self, fqdn: str, up: bool) -> None:
        """Start or stop a server; :class:`ValueError` for an unknown one."""
        self.set_faults({"up" if up else "down": [fqdn]})

    def state(self) -> dict[str, object]:
        """The whole deployment as JSON, with what cmdlets would report computed for this moment."""
        with self._lock:
            d = self._state.deployment
            now = self._clock()
            return {
                "scenario": self._state.scenario,
                "failed_pool": self._state.failed_pool,
                "failed_site": self._state.failed_site,
                "rehearse": self._state.rehearse,
                "cms": {
                    "pool": d.cms.pool,
                    "version": d.cms_pool().version,
                    "available": d.cms_available(),
                    "service_on": list(d.cms.service_on),
                    "moved_at": d.cms.moved_at.isoformat() if d.cms.moved_at else None,
                    "moving_to": d.cms.moving_to,
                },
                "replicas": [
                    {
                        "fqdn": r.fqdn,
                        "up_to_date": r.up_to_date,
                        "last_update_creation": r.last_update_creation.isoformat(),
                    }
                    for r in d.replicas(now)
                ],
                "edge_next_hops": {e.fqdn: e.next_hop for e in d.edge_pools},
                "users": {u.sip: u.serviced_by for u in d.users},
                "pool_states": {p.fqdn: p.pool_state for p in d.pools},
                "down_servers": sorted(d.down),
                "publishes": d.publishes,
                "dropped_requests": self._dropped_requests,
                "deployment": d.model_dump(mode="json"),
                "faults": self._fault_settings(),
            }

    def journal(self, since: int = 0) -> list[dict[str, object]]:
        """Every command received after sequence number ``since``, in order."""
        with self._lock:
            return [e.model_dump(mode="json") for e in self._state.journal if e.seq > since]

    def verify(self) -> dict[str, object]:
        """Compare the state with the scenario's expected end state: ``{"ok", "differences"}``."""
        with self._lock:
            differences = _differences(self._state, self._clock())
        return {"ok": not differences, "differences": differences}

    def set_faults(self, spec: dict[str, object]) -> dict[str, object]:
        """Validate and apply fault settings (``{}`` changes nothing); return the current settings.

        Then every callback given to :meth:`on_change` runs (the endpoints follow ``down``/``up``).
        """
        known = [*(c.name for c in cmdlets.CMDLETS.values()), BOOTSTRAPPER]
        with self._lock:
            apply_faults(
                self._state.faults,
                self._state.deployment,
                spec,
                commands=known,
                hangable=[c.name for c in cmdlets.CMDLETS.values()],
            )
            settings = self._fault_settings()
            self._changed.notify_all()
        if spec:
            for callback in self._on_change:
                callback()
        return settings

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each change of fault settings or of which servers are up."""
        self._on_change.append(callback)

    def transport_fault(self, server: str) -> bool:
        """Whether this request to ``server`` should fail in transport (the scenario-seeded random rate)."""
        with self._lock:
            rates = self._state.faults.transport_fault_rate
            rate = rates.get(server.lower(), rates.get("*", 0.0))
            dropped = rate > 0 and self._random.random() < rate
            if dropped:
                self._dropped_requests += 1
            return dropped

    # --- helpers ---------------------------------------------------------------------------------------

    def _fault_settings(self) -> dict[str, object]:
        settings: dict[str, object] = self._state.faults.model_dump(mode="json")
        settings["replication_lag_seconds"] = self._state.deployment.replication_lag_seconds
        settings["down"] = sorted(self._state.deployment.down)
        settings["backup_service"] = dict(self._state.deployment.backup_export)
        return settings

    def _faults_for(self, command: str) -> tuple[float, bool]:
        """Apply ``fail_next`` (raising the transient error); return the latency and whether it hangs."""
        with self._lock:
            faults = self._state.faults
            transient = faults.fail_next.get(command, 0) > 0
            if transient:
                faults.fail_next[command] -= 1
            seconds, hang = faults.delay(command), command in faults.hang
        if transient:
            raise PowerShellError(
                lync_facts.TRANSIENT_FAULT,
                error_id=f"TransientFault,{command}",
                category="ConnectionError",
                command=command,
            )
        return seconds, hang

    def _front_end_version(self, server: str) -> int | None:
        """The Lync version of the Front End pool ``server`` belongs to; None for other servers."""
        with self._lock:
            pool = self._state.deployment.pool_of_front_end(server)
            return None if pool is None else pool.version

    def _wait_while_up(self, server: str, seconds: float) -> bool:
        """Wait ``seconds`` (``_changed`` held); False as soon as the server is down or the lab closes."""
        deadline = time.monotonic() + seconds
        while self._state.deployment.is_up(server) and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            self._changed.wait(remaining)
        return False

    def _run_locally(
        self,
        server: str,
        user: str,
        modules: list[str],
        call: CommandCall,
        done: Callable[[list[object], PowerShellError | None], None],
    ) -> None:
        """Run ``call`` in a logon on ``server`` as ``user`` (a scheduled task), on a thread of its own."""
        context = CallContext(server, user, delegated=True, local=True)

        def work() -> None:
            output = _Collected(self._stopping)
            error: PowerShellError | None = None
            try:
                self._import_first(context, modules)
                self.invoke(context, [call], output)
            except PowerShellError as failed:
                error = failed
            with self._lock:
                done(output.objects, error)

        threading.Thread(target=work, name=f"task-{server}", daemon=True).start()

    def _import_first(self, context: CallContext, modules: list[str]) -> None:
        """Import the first of ``modules`` that loads; the last one's error when none does."""
        for index, module in enumerate(modules):
            try:
                self.invoke(
                    context, [CommandCall("Import-Module", (("Name", module),))], _Collected(self._stopping)
                )
                return
            except PowerShellError:
                if index == len(modules) - 1:
                    raise

    def _wait(self, command: str, stopping: threading.Event, seconds: float, hang: bool) -> None:
        """Let the command's time pass (or hang), outside the lock; PipelineStopped when stopped meanwhile."""
        stopped = stopping.wait() if hang else stopping.wait(seconds) if seconds > 0 else False
        if stopped:
            raise PowerShellError(
                lync_facts.PIPELINE_STOPPED,
                error_id=STOPPED_ERROR_ID,
                category="OperationStopped",
                command=command,
            )

    def _open(self, context: CallContext, name: str, parameters: dict[str, object]) -> JournalEntry:
        with self._lock:
            entry = JournalEntry(
                seq=len(self._state.journal) + 1,
                server=context.server.lower(),
                user=context.user,
                cmdlet=name,
                parameters=parameters,
                started=self._clock(),
                local=context.local,
            )
            self._state.journal.append(entry)
            return entry

    def _close(
        self, entry: JournalEntry, outcome: Literal["ok", "error", "stopped"], error: str | None
    ) -> None:
        with self._lock:
            entry.outcome, entry.error, entry.ended = outcome, error, self._clock()


class _ErrorsNoted:
    """A pipeline's output that notes the non-terminating errors written, for the journal, and honours
    ``-ErrorAction``: ``Stop`` makes them terminating, ``SilentlyContinue`` and ``Ignore`` keep them from
    the client (noted as hidden)."""

    def __init__(self, output: PipelineOutput) -> None:
        self._output = output
        self.action = "Continue"
        self.errors: list[str] = []
        self.hidden: list[str] = []

    @property
    def stopping(self) -> threading.Event:
        return self._output.stopping

    def write_output(self, value: object) -> None:
        self._output.write_output(value)

    def write_error(self, error: PowerShellError) -> None:
        action = self.action.lower()
        if action == "stop":
            raise error
        if action in ("silentlycontinue", "ignore"):
            self.hidden.append(error.message)
            return
        self.errors.append(error.message)
        self._output.write_error(error)

    def write_warning(self, message: str) -> None:
        self._output.write_warning(message)

    def write_verbose(self, message: str) -> None:
        self._output.write_verbose(message)

    def write_information(self, message: str) -> None:
        self._output.write_information(message)


class _Collected:
    """The output of a local run (a scheduled task): objects kept, errors kept, the rest dropped."""

    def __init__(self, stopping: threading.Event) -> None:
        self._stopping = stopping
        self.objects: list[object] = []
        self.errors: list[PowerShellError] = []

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def write_output(self, value: object) -> None:
        self.objects.append(value)

    def write_error(self, error: PowerShellError) -> None:
        self.errors.append(error)

    def write_warning(self, message: str) -> None:
        """Dropped: a task has no console."""

    def write_verbose(self, message: str) -> None:
        """Dropped: a task has no console."""

    def write_information(self, message: str) -> None:
        """Dropped: a task has no console."""


def _raw_parameters(call: CommandCall) -> dict[str, object]:
    """The parameters as the client sent them (positional ones as ``(position N)``)."""
    raw: dict[str, object] = {}
    for index, (name, value) in enumerate(call.parameters):
        raw[name.lstrip("-") if name is not None else f"(position {index})"] = value
    return _json_parameters(raw)


def _json_parameters(parameters: dict[str, object]) -> dict[str, object]:
    """JSON values; a password (Register-ScheduledTask's) is journaled as ``***``, as Windows logs none."""
    return {
        name: "***" if "password" in name.lower() else _json_value(value)
        for name, value in parameters.items()
    }


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def _first_problem(error: ValidationError | UnicodeDecodeError) -> str:
    """The first thing wrong with a state file, e.g. ``deployment: Field required``."""
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _differences(state: LabState, now: datetime) -> list[str]:
    """Each way the deployment differs from the expected end state, as a sentence."""
    d, expected = state.deployment, state.expected
    found: list[str] = []
    if expected.cms_pool is not None:
        if d.cms.pool != expected.cms_pool:
            found.append(f"CMS is on {d.cms.pool}, expected {expected.cms_pool}")
        elif not d.cms_available():
            found.append(f"CMS on {d.cms.pool} is not available")
    if expected.users_serviced_by is not None:
        for user in d.users:
            want = expected.users_serviced_by
            if user.home_pool == state.failed_pool and user.serviced_by != want:
                found.append(f"User {user.sip} is serviced by {user.serviced_by}, expected {want}")
    for user in d.users:
        serving = expected.users_by_home_pool.get(user.home_pool)
        if serving is not None and user.serviced_by != serving:
            found.append(f"User {user.sip} is serviced by {user.serviced_by}, expected {serving}")
    for fqdn, pool_state in expected.pool_states.items():
        pool = d.pool(fqdn)
        if pool is not None and pool.pool_state != pool_state:
            found.append(f"Pool {fqdn} reports PoolState {pool.pool_state}, expected {pool_state}")
    for edge_fqdn, hop in expected.edge_next_hops.items():
        edge = d.edge_pool(edge_fqdn)
        if edge is not None and edge.next_hop != hop:
            found.append(f"Edge pool {edge_fqdn} uses {edge.next_hop} as next hop, expected {hop}")
    if expected.replicas_up_to_date:
        for replica in d.replicas(now):
            if d.is_up(replica.fqdn) and not replica.up_to_date:
                found.append(f"Replica {replica.fqdn} is not up to date")
    if expected.cms_service_on_all_front_ends:
        for server in d.cms_pool().front_ends:
            if d.is_up(server) and server not in d.cms.service_on:
                found.append(f"CMS service is not installed on {server} (run Bootstrapper.exe /Setup there)")
    return found
