"""The ``Shell`` that runs cmdlets on Lync servers over PowerShell remoting (pypsrp)."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import requests
from pypsrp.complex_objects import PSInvocationState, RunspacePoolState
from pypsrp.exceptions import AuthenticationError as PsrpAuthenticationError
from pypsrp.exceptions import WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.shell import CommandState, Process, SignalCode, WinRS
from pypsrp.wsman import WSMan
from requests_credssp.exceptions import AuthenticationException as CredSSPAuthenticationError
from requests_credssp.exceptions import NTStatusException
from urllib3.exceptions import NewConnectionError

from plugins.kit.shell import (
    AuthenticationError,
    CmdletError,
    CmdletResult,
    CommandInterrupted,
    CommandTimeout,
    Credential,
    ExecutableResult,
    ParameterValue,
    RemoteError,
    RemoteObject,
    TransportError,
)
from plugins.kit.versions import MODULES_TO_TRY, lync_version
from worker import run_locally
from worker.credentials import CredentialError, describe, resolve_credential
from worker.inventory import Inventory, ServerEntry, get_inventory
from worker.remote_values import error_category, record_message, to_remote_object
from worker.resend import Resends, reads_only
from worker.settings import get_settings

log = logging.getLogger(__name__)

#: How long the server holds one Receive before answering "nothing yet" (pypsrp polls again).
OPERATION_TIMEOUT_S = 20
#: The HTTP read timeout: above the operation timeout.
READ_TIMEOUT_S = 30
HTTP_UNAUTHORIZED = 401
#: How long a liveness probe waits for a server to accept a connection.
PROBE_TIMEOUT_S = 3.0
#: ERROR_WSMAN_UNEXPECTED_SELECTORS: the server has no shell with this id (it restarted or reaped it).
WSMAN_SHELL_NOT_FOUND = 0x8033805B


_step_deadline: ContextVar[float | None] = ContextVar("step_deadline", default=None)


@contextmanager
def step_deadline(seconds: float) -> Iterator[None]:
    """One deadline, ``seconds`` from now, for every command sent in this block: a step's time budget."""
    token = _step_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _step_deadline.reset(token)


@dataclass
class _Session:
    """A live connection to one server: its WSMan transport and open runspace pool (one command at a time)."""

    wsman: WSMan
    pool: RunspacePool
    #: Whether the session served an earlier command (the server may have forgotten it since).
    reused: bool = False


class _StaleSession(Exception):
    """A reused session's first request of a command failed: the server no longer knows the session."""


_Key = tuple[int, str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class _Deadline:
    """When a command was sent and when it must be done (``time.monotonic()``)."""

    started: float
    at: float


class PsrpShell:
    """Runs cmdlets and executables on the inventory's servers, one runspace pool per server and user, reused
    by every command that follows (another is opened only for a command sent while the pool is busy)."""

    def __init__(
        self,
        inventory: Inventory | None = None,
        *,
        command_timeout_s: float | None = None,
        credentials: Callable[[ServerEntry], Credential] = resolve_credential,
        operation_timeout_s: int = OPERATION_TIMEOUT_S,
    ) -> None:
        self._inventory = inventory
        self._command_timeout_s = command_timeout_s
        self._credentials = credentials
        self._operation_timeout_s = operation_timeout_s
        #: The open sessions no command uses now, by process, server and user.
        self._idle: dict[_Key, list[_Session]] = {}
        self._sessions_lock = threading.Lock()
        #: How many runspace pools this shell has opened (reuse keeps it low).
        self.pools_opened = 0

    def run(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """Run one cmdlet with named parameters (``True`` alone is a switch); RemoteError if it fails."""
        entry = self._server(server)
        reads = reads_only(
            cmdlet, parameters or {}
        )  # sent again as a new pipeline if dropped; a change never

        def send() -> PowerShell:
            resends = Resends(entry.fqdn, cmdlet, changes_nothing=reads)
            with self._session(entry, cmdlet) as session:

                def invoke() -> PowerShell:
                    shell = PowerShell(session.pool).add_cmdlet(cmdlet)
                    for name, value in (parameters or {}).items():
                        shell.add_parameter(name, value)
                    self._invoke(shell, entry, cmdlet, session, resends)
                    return shell

                return resends.send(invoke, session.wsman) if reads else invoke()

        return _result_of(_again_if_stale(send), entry.fqdn, cmdlet)

    def run_locally(
        self, server: str, cmdlet: str, parameters: Mapping[str, ParameterValue] | None = None
    ) -> CmdletResult:
        """Run a cmdlet that must run locally through a one-shot scheduled task (worker.run_locally): write
        the fixed script, register a task running it as this session's user, start it, wait for its result,
        unregister it. The password goes to the Task Scheduler only, inside the encrypted session."""
        entry = self._server(server)
        version = lync_version(self._pool_version(entry))
        modules = [version.module] if version is not None else list(MODULES_TO_TRY)
        try:
            run = run_locally.prepare(cmdlet, parameters or {}, modules)
        except ValueError as error:
            raise CmdletError(entry.fqdn, cmdlet, str(error), error_id="RunLocallyNotAllowed") from None
        try:
            credential = self._credential(entry)
        except CredentialError as error:
            raise AuthenticationError(entry.fqdn, cmdlet, str(error)) from None
        deadline = self._deadline(entry, cmdlet)
        self.run(server, *run_locally.WRITE_SCRIPT)
        self.run(server, *run.register(credential.username, credential.password))
        self.run(server, *run.start())
        for pause in _pauses(deadline):
            info = self.run(server, *run.poll())
            result = info.objects[0].get("LastTaskResult") if info.objects else None
            if not isinstance(result, int) or result not in run_locally.STILL_RUNNING:
                break
            time.sleep(pause)
        else:
            raise CommandTimeout(
                entry.fqdn,
                cmdlet,
                f"the scheduled task {run.task_name} still runs after "
                f"{deadline.at - deadline.started:.0f} s; it goes on on the server (its result will be in "
                f"{run.result_path})",
            )
        written = self.run(server, *run.read_result())
        self.run(server, *run.unregister())
        outcome = run_locally.read_outcome(written.objects[0].text if written.objects else "")
        if outcome.error_message:
            raise CmdletError(
                entry.fqdn,
                cmdlet,
                outcome.error_message,
                error_id=outcome.error_id,
                category=outcome.category,
            )
        return CmdletResult(objects=[RemoteObject((), {}, text=text) for text in outcome.objects])

    def run_executable(self, server: str, executable: str, arguments: Sequence[str]) -> ExecutableResult:
        """Run an executable through the WinRS cmd shell and return its exit code and output."""
        entry = self._server(server)

        def send() -> Process:
            resends = Resends(entry.fqdn, executable, changes_nothing=False)
            with (
                self._session(entry, executable) as session,
                _opened(session, WinRS(session.wsman), resends) as cmd,
            ):
                process = Process(cmd, executable, list(arguments))
                deadline = self._deadline(entry, executable)
                process.begin_invoke()
                with _sent(entry, executable):
                    for poll_timeout in _polls(deadline, lambda: process.state == CommandState.DONE):
                        timeout = min(poll_timeout, self._operation_timeout_s)
                        resends.send(partial(process.poll_invoke, timeout=timeout), session.wsman)
                    if process.state != CommandState.DONE:
                        resends.send(partial(process.signal, SignalCode.TERMINATE), session.wsman)
                        raise _timed_out(entry, executable, deadline)
            return process

        process = _again_if_stale(send)
        return ExecutableResult(
            exit_code=process.rc if process.rc is not None else -1,
            stdout=process.stdout.decode("utf-8", errors="replace"),
            stderr=process.stderr.decode("utf-8", errors="replace"),
        )

    def reachable(self, server: str) -> bool:
        """Whether the server's WinRM endpoint accepts a TCP connection within PROBE_TIMEOUT_S."""
        entry = self._server(server)
        try:
            with socket.create_connection((entry.host, entry.port), timeout=PROBE_TIMEOUT_S):
                return True
        except OSError:
            return False

    def close_all(self) -> None:
        """Close this process's runspace pools; forget (without closing) those inherited across a fork."""
        with self._sessions_lock:
            idle, self._idle = self._idle, {}
        for (pid, server, _user), sessions in idle.items():
            for session in sessions if pid == os.getpid() else ():
                _close_quietly(session, server)

    @property
    def command_timeout_s(self) -> float:
        """The longest one command may run (the step's deadline, when one is set, may end it sooner)."""
        return self._command_timeout_s or get_settings().step_timeout_s

    def _server(self, server: str) -> ServerEntry:
        return (self._inventory or get_inventory()).server(server)

    @contextmanager
    def _session(self, entry: ServerEntry, command: str) -> Iterator[_Session]:
        """An open session for ``entry``, this command's alone until it ends, with remote failures mapped;
        a session that failed is closed, one that served is kept for the next command."""
        try:
            credential = self._credential(entry)
        except CredentialError as error:
            raise AuthenticationError(entry.fqdn, command, str(error)) from None
        key: _Key = (os.getpid(), entry.fqdn, credential.username)
        session: _Session | None = None
        try:
            session = self._checkout(key, entry, credential, command)
            yield session
        except CmdletError:
            self._checkin(key, session)
            raise
        except (_StaleSession, TransportError, AuthenticationError):
            _close_quietly(session, entry.fqdn)
            raise
        except Exception as error:
            _close_quietly(session, entry.fqdn)
            raise _remote_error(entry, command, error) from error
        except BaseException:
            _close_quietly(session, entry.fqdn)
            raise
        self._checkin(key, session)

    def _credential(self, entry: ServerEntry) -> Credential:
        """The server's credential; CredentialError naming it when the lookup fails in any way."""
        try:
            return self._credentials(entry)
        except CredentialError:
            raise
        except Exception as error:
            raise CredentialError(
                f'looking up credential "{entry.credential}" for {entry.fqdn} failed: {describe(error)}. '
                "Check the site plugin that implements lync_failover_credentials (is its vault reachable, "
                "does it hold this entry?) or the credential's password_env / password_file"
            ) from None

    def _checkout(self, key: _Key, entry: ServerEntry, credential: Credential, command: str) -> _Session:
        """An idle open session of ``key``, else a new one (idle ones no longer open are closed)."""
        found: _Session | None = None
        closed: list[_Session] = []
        with self._sessions_lock:
            idle = self._idle.get(key, [])
            while idle and found is None:
                session = idle.pop()
                if session.pool.state == RunspacePoolState.OPENED:
                    found = session
                else:
                    closed.append(session)
        for session in closed:
            _close_quietly(session, entry.fqdn)
        if found is None:
            return self._open_session(entry, credential, command)
        found.reused = True
        return found

    def _checkin(self, key: _Key, session: _Session | None) -> None:
        """The command is done with ``session``: the next one may use it."""
        if session is not None:
            with self._sessions_lock:
                self._idle.setdefault(key, []).append(session)

    def _open_session(self, entry: ServerEntry, credential: Credential, command: str) -> _Session:
        log.info("opening a runspace pool on %s (%s) as %s", entry.fqdn, entry.endpoint, credential.username)
        resends = Resends(entry.fqdn, command, changes_nothing=True)
        return resends.send(lambda: self._new_session(entry, credential, resends))

    def _new_session(self, entry: ServerEntry, credential: Credential, resends: Resends) -> _Session:
        """A new connection with an open runspace pool and the Lync module; closed again if that fails."""
        wsman = wsman_for(entry, credential, self._operation_timeout_s)
        session = _Session(wsman, RunspacePool(wsman))
        try:
            session.pool.open()
            with self._sessions_lock:
                self.pools_opened += 1
            self._import_lync_module(entry, session, resends)
        except BaseException:
            _close_quietly(session, entry.fqdn)
            raise
        return session

    def _import_lync_module(self, entry: ServerEntry, session: _Session, resends: Resends) -> None:
        """``Import-Module`` the management shell of the server's version (the inventory's pool version);
        without one, SkypeForBusiness, else Lync, as field scripts do."""
        version = lync_version(self._pool_version(entry))
        modules = (version.module,) if version is not None else MODULES_TO_TRY
        for module in modules:
            load = PowerShell(session.pool).add_cmdlet("Import-Module").add_parameter("Name", module)
            self._invoke(load, entry, "Import-Module", session, resends)
            if not load.had_errors:
                return
        raise _cmdlet_error(load, entry.fqdn, "Import-Module")

    def _pool_version(self, entry: ServerEntry) -> int | None:
        inventory = self._inventory or get_inventory()
        return inventory.pool(entry.pool).version

    def _invoke(
        self, shell: PowerShell, entry: ServerEntry, command: str, session: _Session, resends: Resends
    ) -> None:
        """Run the pipeline to its end (dropped Receives sent again), or stop it and raise CommandTimeout."""
        deadline = self._deadline(entry, command)
        _start(session, shell.begin_invoke)
        with _sent(entry, command):
            for poll_timeout in _polls(deadline, lambda: shell.state != PSInvocationState.RUNNING):
                timeout = min(poll_timeout, self._operation_timeout_s)
                resends.send(partial(shell.poll_invoke, timeout=timeout), session.wsman)
            if shell.state == PSInvocationState.RUNNING:
                resends.send(partial(_stop, session.pool, shell), session.wsman)
                raise _timed_out(entry, command, deadline)
        if shell.state == PSInvocationState.STOPPED:
            raise CommandInterrupted(
                entry.fqdn, command, "the server stopped the pipeline before it finished"
            )

    def _deadline(self, entry: ServerEntry, command: str) -> _Deadline:
        """When ``command`` must be done: its own timeout, or the step's deadline if sooner; CommandTimeout
        (nothing sent) when the step's deadline has already passed."""
        started = time.monotonic()
        step = _step_deadline.get()
        deadline = _Deadline(started, started + self.command_timeout_s)
        if step is not None and step < deadline.at:
            deadline = _Deadline(started, step)
        if deadline.at <= started:
            raise CommandTimeout(entry.fqdn, command, "the step's time ran out before it was sent")
        return deadline


_shell: PsrpShell | None = None
_shell_lock = threading.Lock()


def get_shell() -> PsrpShell:
    """This process's PsrpShell (created on first use)."""
    global _shell
    with _shell_lock:
        if _shell is None:
            _shell = PsrpShell()
        return _shell


def close_all() -> None:
    """Close the runspace pools this process opened (and forget any inherited from a parent process)."""
    if _shell is not None:
        _shell.close_all()


def wsman_for(
    entry: ServerEntry, credential: Credential, operation_timeout_s: int = OPERATION_TIMEOUT_S
) -> WSMan:
    """The WS-Management transport to ``entry`` as ``credential``, with the inventory's auth, TLS and
    encryption; the HTTP read timeout stays above ``operation_timeout_s``."""
    return WSMan(
        server=entry.host,
        port=entry.port,
        path=entry.path,
        ssl=entry.use_tls,
        auth=entry.auth,
        username=credential.username,
        password=credential.password,
        cert_validation=entry.tls_verify,  # type: ignore[arg-type]  # pypsrp also takes a CA path
        encryption=entry.encryption,
        operation_timeout=operation_timeout_s,
        read_timeout=operation_timeout_s + READ_TIMEOUT_S - OPERATION_TIMEOUT_S,
    )


def _polls(deadline: _Deadline, finished: Callable[[], bool]) -> Iterator[int]:
    """Receive timeouts (whole seconds) until ``finished()`` or the deadline passes."""
    while not finished():
        remaining = deadline.at - time.monotonic()
        if remaining <= 0:
            return
        yield max(1, math.ceil(remaining))


def _pauses(deadline: _Deadline) -> Iterator[float]:
    """Pauses between polls of a scheduled task, growing from 0.2 s to 2 s, until the deadline."""
    pause = 0.2
    while time.monotonic() + pause < deadline.at:
        yield pause
        pause = min(2.0, pause * 1.5)


def _timed_out(entry: ServerEntry, command: str, deadline: _Deadline) -> CommandTimeout:
    allowed = f"{deadline.at - deadline.started:.0f}"
    log.warning("%s on %s timed out after %s s; stopped it", command, entry.fqdn, allowed)
    return CommandTimeout(
        entry.fqdn,
        command,
        f"timed out after {allowed} s (LYNC_FAILOVER_STEP_TIMEOUT bounds the whole step); the pipeline was "
        "stopped, possibly after it took effect",
    )


def _result_of(shell: PowerShell, server: str, cmdlet: str) -> CmdletResult:
    if shell.had_errors:
        raise _cmdlet_error(shell, server, cmdlet)
    return CmdletResult(
        objects=[to_remote_object(item) for item in shell.output],
        errors=[record_message(record) for record in shell.streams.error],
        warnings=[record_message(record) for record in shell.streams.warning],
        verbose=[record_message(record) for record in shell.streams.verbose],
        information=[record_message(record) for record in shell.streams.information],
    )


def _cmdlet_error(shell: PowerShell, server: str, cmdlet: str) -> CmdletError:
    """The terminating error: pypsrp appends the failed pipeline's error record to the error stream last."""
    if not shell.streams.error:
        return CmdletError(server, cmdlet, "the pipeline failed without an error record")
    record = shell.streams.error[-1]
    return CmdletError(
        server,
        cmdlet,
        record_message(record),
        error_id=getattr(record, "fq_error", None) or "",
        category=error_category(record),
    )


def _remote_error(entry: ServerEntry, command: str, error: Exception) -> RemoteError:
    """Name what went wrong talking to ``entry`` and what to do about it."""
    server = entry.fqdn
    if isinstance(error, PsrpAuthenticationError | CredSSPAuthenticationError | NTStatusException):
        return AuthenticationError(
            server,
            command,
            f"{entry.endpoint} refused the user of credential {entry.credential!r} ({entry.auth} auth): "
            "check its password, that the account may use PowerShell remoting, and the inventory's auth",
        )
    if isinstance(error, requests.exceptions.SSLError):
        return AuthenticationError(
            server,
            command,
            f"the TLS certificate of {entry.endpoint} could not be verified ({_first_line(error)}): "
            "set ca_bundle for this server in the inventory to the CA that issued it",
        )
    if never_sent(error):
        return TransportError(server, command, f"cannot reach {entry.endpoint}: {_first_line(error)}")
    if isinstance(error, requests.exceptions.ConnectionError | requests.exceptions.Timeout | OSError):
        return CommandInterrupted(
            server, command, f"the connection to {entry.endpoint} broke after sending: {_first_line(error)}"
        )
    if isinstance(error, WinRMTransportError):
        if error.code >= 500:
            return CommandInterrupted(server, command, f"{entry.endpoint} answered HTTP {error.code}")
        return RemoteError(
            server, command, f"{entry.endpoint} answered HTTP {error.code}: check its URL in the inventory"
        )
    if isinstance(error, WSManFaultError):
        return CommandInterrupted(server, command, f"WS-Management fault {error.code:#x}: {error.reason}")
    return CommandInterrupted(server, command, f"{type(error).__name__}: {_first_line(error)}")


def never_sent(error: BaseException) -> bool:
    """Whether the connection failed before the server could accept a request: refused, name not
    resolved, connect timeout. Only then may the command safely go to another server."""
    if isinstance(error, requests.exceptions.ConnectTimeout | ConnectionRefusedError | socket.gaierror):
        return True
    if isinstance(error, requests.exceptions.ConnectionError) and error.args:
        return isinstance(getattr(error.args[0], "reason", None), NewConnectionError)
    return False


def _again_if_stale(send: Callable[[], T]) -> T:
    """``send()``; once more, on a new session, when the reused one turned out stale (nothing was run)."""
    try:
        return send()
    except _StaleSession as stale:
        log.info("reopening: %s", stale.__cause__)
        return send()


def _start(session: _Session, begin: Callable[[], object]) -> None:
    """``begin()``, the first request of a command; _StaleSession when it shows a reused session stale."""
    try:
        begin()
    except Exception as error:
        if session.reused and _is_stale(error):
            raise _StaleSession(str(error)) from error
        raise


@contextmanager
def _opened(session: _Session, cmd_shell: WinRS, resends: Resends) -> Iterator[WinRS]:
    """The cmd shell, opened on ``session`` (stale check as for a pipeline; a dropped open makes a new shell)
    and closed after use."""
    _start(session, partial(resends.send, cmd_shell.open, session.wsman))
    try:
        yield cmd_shell
    finally:
        resends.send(cmd_shell.close, session.wsman)


@contextmanager
def _sent(entry: ServerEntry, command: str) -> Iterator[None]:
    """Once a command went out, a failed connect is CommandInterrupted: it may run there, so not elsewhere."""
    try:
        yield
    except Exception as error:
        if never_sent(error):
            raise CommandInterrupted(
                entry.fqdn,
                command,
                f"{entry.endpoint} became unreachable after it was sent: {_first_line(error)}",
            ) from error
        raise


def _stop(pool: RunspacePool, shell: PowerShell) -> None:
    """Ctrl-C to the pipeline, as ``PowerShell.stop()`` sends it once; this one may be sent again."""
    pool.shell.signal(SignalCode.PS_CTRL_C, str(shell.id).upper())


def _is_stale(error: BaseException) -> bool:
    """Whether the first request on a reused session failed because the server dropped what it knew: the
    connection was refused, the logon is asked again (HTTP 401), or the shell is unknown. The command cannot
    have run on that session. A connection reset or closed with no answer is no proof: the link may have
    dropped it after the server took it (a read is sent again, worker.resend; a change is not)."""
    if never_sent(error) or isinstance(error, PsrpAuthenticationError | CredSSPAuthenticationError):
        return True
    if isinstance(error, WinRMTransportError):
        return bool(error.code == HTTP_UNAUTHORIZED)
    if isinstance(error, WSManFaultError):
        return bool(error.code == WSMAN_SHELL_NOT_FOUND)
    return False


def _close_quietly(session: _Session | None, server: str) -> None:
    """Delete the session's shell if the server created it (sent again if dropped); close the connection."""
    if session is None:
        return
    try:
        if session.pool.shell.opened:
            Resends(server, "closing the session", changes_nothing=True).send(
                session.pool.close, session.wsman
            )
    except Exception as error:  # the server may be gone: it reaps idle shells itself
        log.debug("closing the runspace pool on %s failed: %s", server, _first_line(error))
    finally:
        session.wsman.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
