"""The lab's control API: JSON over HTTP on loopback, to watch the deployment and inject faults.

``GET /state`` the deployment, ``GET /journal[?since=N]`` every cmdlet received, ``GET /verify`` the state
against the scenario's expected end state, ``GET /faults`` and ``POST /faults`` the fault settings,
``GET /health`` liveness.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lab.engine import LabEngine

log = logging.getLogger(__name__)
ROUTES = ("GET /state", "GET /journal", "GET /verify", "GET /faults", "POST /faults", "GET /health")


class _ControlHTTPServer(ThreadingHTTPServer):
    #: Room for a burst of concurrent requests (socketserver's default backlog is 5).
    request_queue_size = 128


class ControlServer:
    """Serves the control API for one engine."""

    def __init__(self, engine: LabEngine, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine
        self._server = _ControlHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="lab-control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def get(self, path: str, query: dict[str, list[str]]) -> object:
        """Answer a GET; raise LookupError for an unknown path, ValueError for a bad query."""
        if path == "/state":
            return self.engine.state()
        if path == "/journal":
            since = query.get("since", ["0"])[0]
            if not since.isdigit():
                raise ValueError(f"since must be a whole number, not {since!r}")
            return self.engine.journal(int(since))
        if path == "/verify":
            return self.engine.verify()
        if path == "/faults":
            return self.engine.set_faults({})
        if path == "/health":
            return {"ok": True, "scenario": self.engine.scenario}
        raise LookupError(path)

    def post(self, path: str, body: object) -> object:
        """Answer a POST; raise LookupError for an unknown path, ValueError for a bad body."""
        if path != "/faults":
            raise LookupError(path)
        if not isinstance(body, dict):
            raise ValueError('POST /faults takes a JSON object, e.g. {"latency_scale": 0.01}')
        return self.engine.set_faults(body)


def _handler_for(control: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LyncLabControl/1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._answer(lambda: control.get(url.path, parse_qs(url.query)))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as error:
                self._send(HTTPStatus.BAD_REQUEST, {"error": f"the body is not JSON: {error}"})
                return
            self._answer(lambda: control.post(url.path, body))

        def _answer(self, produce: Callable[[], object]) -> None:
            try:
                self._send(HTTPStatus.OK, produce())
            except LookupError:
                self._send(
                    HTTPStatus.NOT_FOUND, {"error": f"no such endpoint; try one of {', '.join(ROUTES)}"}
                )
            except ValueError as error:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            except Exception as error:
                log.exception("the control API failed on %s %s", self.command, self.path)
                self._send(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"error": f"the lab failed: {error!r}; its log has the traceback"},
                )

        def _send(self, status: HTTPStatus, payload: Any) -> None:
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the journal is the record."""

    return Handler
