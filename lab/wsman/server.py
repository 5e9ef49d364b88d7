"""The HTTP(S) listener: per-connection authentication, message encryption, the endpoint's lifecycle."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from lab.api import Engine
from lab.wsman import encryption
from lab.wsman.auth import (
    CredSSPAcceptor,
    NegotiateAcceptor,
    UserDirectory,
    credssp_tls_context,
    private_user_file,
)
from lab.wsman.service import WinRMService
from lab.wsman.soap import SoapFault, fault_reply, parse_request

log = logging.getLogger(__name__)

AuthMode = Literal["basic", "ntlm", "credssp", "any"]
_SOAP = "application/soap+xml;charset=UTF-8"
#: What the lab answers to a plain SOAP body over http when unencrypted messages are not allowed. [I]
_UNENCRYPTED_REFUSED = SoapFault(
    5,
    "w:AccessDenied",
    "The WinRM service refuses unencrypted messages over HTTP (AllowUnencrypted is false): "
    "use NTLM/Negotiate with message encryption, or HTTPS.",
)
#: How often the accept loop checks for stop(): a server going down (or the lab stopping) waits this long.
_STOP_POLL_SECONDS = 0.02


class WinRMEndpoint:
    """A simulated server's WinRM listener at ``https://host:port/wsman`` (or http without ``tls``)."""

    def __init__(
        self,
        server: str,
        engine: Engine,
        *,
        users: Mapping[str, str],
        auth: AuthMode = "any",
        tls: ssl.SSLContext | None = None,
        transport_fault: Callable[[str], bool] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        user_file_directory: Path | None = None,
        allow_unencrypted: bool = False,
    ) -> None:
        """``user_file_directory``: where the NTLM user file goes (default: $TMPDIR); removed by close().
        ``allow_unencrypted``: accept plain SOAP bodies over http, as WinRM's ``AllowUnencrypted=true``
        does; by default only messages with WinRM message encryption are accepted without TLS."""
        if auth not in ("basic", "ntlm", "credssp", "any"):
            raise ValueError(f"auth must be 'basic', 'ntlm', 'credssp' or 'any', not {auth!r}")
        self._settings = _Settings(
            service=WinRMService(server, engine),
            directory=UserDirectory(users),
            auth=auth,
            transport_fault=transport_fault or (lambda _server: False),
            user_file=private_user_file(user_file_directory),
            accepts_plaintext=allow_unencrypted or tls is not None,
            credssp_tls=credssp_tls_context() if auth in ("credssp", "any") else None,
            delegations=[],
        )
        self._tls = tls
        self._host = host
        self._port = port
        self._httpd: _LabHTTPServer | None = None
        #: Serialises start and stop: a restart binds the port the last stop released.
        self._lifecycle = threading.Lock()

    def start(self) -> int:
        """Listen and serve on daemon threads; returns the port, the same one on every restart."""
        with self._lifecycle:
            if self._httpd is not None:
                return self._port
            httpd = _LabHTTPServer((self._host, self._port), _WinRMHandler, self._settings, self._tls)
            self._port = httpd.server_address[1]
            threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": _STOP_POLL_SECONDS},
                name=f"winrm-{self._port}",
                daemon=True,
            ).start()
            self._httpd = httpd
            return self._port

    def stop(self) -> None:
        """Close the listener, drop open connections and shells: clients now get connection refused."""
        with self._lifecycle:
            httpd, self._httpd = self._httpd, None
            if httpd is None:
                return
            httpd.shutdown()
            httpd.server_close()
            httpd.abort_connections()
            self._settings.service.close_all()

    def close(self) -> None:
        """Stop and remove the private NTLM user file."""
        self.stop()
        if os.path.exists(self._settings.user_file):
            os.unlink(self._settings.user_file)

    @property
    def url(self) -> str:
        """The WS-Man URL clients connect to."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._host}:{self._port}/wsman"

    @property
    def delegations(self) -> list[tuple[str, str]]:
        """(authenticated user, delegated DOMAIN\\user) per completed CredSSP logon."""
        return self._settings.delegations

    @property
    def running(self) -> bool:
        """True while the listener accepts connections."""
        return self._httpd is not None


@dataclass(frozen=True)
class _Settings:
    service: WinRMService
    directory: UserDirectory
    auth: AuthMode
    transport_fault: Callable[[str], bool]
    user_file: str
    #: Over TLS, or told to allow unencrypted messages.
    accepts_plaintext: bool
    #: The TLS context inside CredSSP (RSA, self-signed), shared by the endpoint's connections.
    credssp_tls: Any
    #: (authenticated user, "DOMAIN\\user" delegated) for each completed CredSSP logon, for tests.
    delegations: list[tuple[str, str]]


class _LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        settings: _Settings,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.settings = settings
        self._tls = tls
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        if self._tls is not None:
            # The handshake runs on the connection's thread (_WinRMHandler.setup), not the accept loop.
            connection = self._tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def abort_connections(self) -> None:
        """Reset every open connection, as a server going down would."""
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            _reset(connection)


class _WinRMHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _LabHTTPServer
    _acceptor: NegotiateAcceptor | CredSSPAcceptor | None = None

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def handle(self) -> None:
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, OSError) as error:
            log.debug("connection from %s ended: %s", self.client_address, error)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def do_POST(self) -> None:
        settings = self.server.settings
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        user, auth_reply = self._authenticate()
        if user is None:
            return
        if body and settings.transport_fault(settings.service.server):
            log.info("simulating a network failure for %s", settings.service.server)
            _reset(self.connection)
            self.close_connection = True
            return
        content_type = self.headers.get("Content-Type", "")
        encrypted = encryption.is_encrypted(content_type)
        if encrypted:
            if self._acceptor is None or not self._acceptor.complete:
                self._send(400, b"", {})
                return
            try:
                body = encryption.unwrap(self._acceptor, content_type, body)
            except (ValueError, struct.error) as error:
                log.info("undecryptable message: %s", error)
                self._send(400, b"", {})
                return
        elif body and not settings.accepts_plaintext:
            self._send(
                500, fault_reply("", _UNENCRYPTED_REFUSED, settings.service.server), {"Content-Type": _SOAP}
            )
            return
        headers = {"WWW-Authenticate": auth_reply} if auth_reply else {}
        if not body:
            self._send(200, b"", headers)
            return
        status, payload = self._dispatch(body, user, self._delegates())
        if encrypted and self._acceptor is not None:
            headers["Content-Type"], payload = encryption.wrap(self._acceptor, payload)
        else:
            headers["Content-Type"] = _SOAP
        self._send(status, payload, headers)

    def _delegates(self) -> bool:
        """Whether this connection's logon can pass its credential on to another machine: CredSSP (the
        client delegated it) and Basic (a cleartext logon holds the password) [I]; not Negotiate/NTLM."""
        if isinstance(self._acceptor, CredSSPAcceptor):
            return self._acceptor.delegated is not None
        return self._acceptor is None

    def _dispatch(self, body: bytes, user: str, delegated: bool) -> tuple[int, bytes]:
        service = self.server.settings.service
        message_id = ""
        try:
            request = parse_request(body)
            message_id = request.message_id
            return 200, service.handle(request, user, delegated=delegated)
        except SoapFault as fault:
            return 500, fault_reply(message_id, fault, service.server)
        except Exception as error:
            log.exception("the lab's WinRM service failed on a request")
            internal = SoapFault(2147500037, "w:InternalError", f"The lab's WinRM service failed: {error}")
            return 500, fault_reply(message_id, internal, service.server)

    def _authenticate(self) -> tuple[str | None, str | None]:
        """(user, WWW-Authenticate value for the reply), or (None, None) after answering 401 itself."""
        settings = self.server.settings
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and settings.auth in ("basic", "any"):
            user = settings.directory.check_basic(value.strip())
            if user is not None:
                return user, None
        elif scheme in ("negotiate", "ntlm") and settings.auth in ("ntlm", "credssp", "any"):
            self._acceptor = self._acceptor or NegotiateAcceptor(settings.directory, settings.user_file)
            try:
                token = self._acceptor.step(base64.b64decode(value.strip()))
            except (PermissionError, ValueError) as error:
                log.info("Negotiate logon refused: %s", error)
                self._acceptor = None
            else:
                reply = f"Negotiate {base64.b64encode(token).decode()}" if token else None
                if self._acceptor.user is not None:
                    return self._acceptor.user, reply
                self._send(401, b"", {"WWW-Authenticate": reply or "Negotiate"})
                return None, None
        elif scheme == "credssp" and settings.auth in ("credssp", "any"):
            return self._authenticate_credssp(value.strip())
        elif not scheme and self._acceptor is not None and self._acceptor.user is not None:
            return self._acceptor.user, None
        offers = {
            "basic": ['Basic realm="WSMAN"'],
            "ntlm": ["Negotiate"],
            "credssp": ["Negotiate", "CredSSP"],
            "any": ["Negotiate", 'Basic realm="WSMAN"', "CredSSP"],
        }
        self._send(401, b"", {"WWW-Authenticate": offers[settings.auth]})
        return None, None

    def _authenticate_credssp(self, value: str) -> tuple[str | None, str | None]:
        """One CredSSP leg. pypsrp (requests-credssp) repeats the request, body included, with each token;
        only the leg that completes the handshake (the client's TSCredentials) is answered 200 and served."""
        settings = self.server.settings
        if not isinstance(self._acceptor, CredSSPAcceptor) or self._acceptor.complete:
            self._acceptor = CredSSPAcceptor(settings.directory, settings.user_file, settings.credssp_tls)
        acceptor = self._acceptor
        try:
            token = acceptor.step(base64.b64decode(value))
        except (PermissionError, ValueError) as error:
            log.info("CredSSP logon refused: %s", error)
            self._acceptor = None
            self._send(401, b"", {"WWW-Authenticate": "CredSSP"})
            return None, None
        if acceptor.user is not None:
            assert acceptor.delegated is not None
            settings.delegations.append((acceptor.user, "\\".join(acceptor.delegated)))
            return acceptor.user, None
        if acceptor.failed:  # the reply token is a TSRequest with the NTSTATUS (SEC_E_LOGON_DENIED)
            log.info("CredSSP logon refused by the inner Negotiate")
            self._acceptor = None
        # An empty token is legitimate (TLS 1.3 acceptor leg): the header must still read "CredSSP <b64>".
        self._send(401, b"", {"WWW-Authenticate": "CredSSP " + base64.b64encode(token or b"").decode()})
        return None, None

    def _send(self, status: int, payload: bytes, headers: Mapping[str, str | list[str]]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            for item in [value] if isinstance(value, str) else value:
                self.send_header(name, item)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _reset(connection: socket.socket) -> None:
    """Abort a TCP connection with a reset, no reply: what a network failure looks like to the client.

    ``shutdown`` first: ``close`` alone leaves the socket open while the handler's rfile/wfile hold it.
    """
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
