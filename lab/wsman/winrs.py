"""The WinRS cmd shell (``Client.execute_cmd``): each command line runs through ``Engine.execute``."""

from __future__ import annotations

import shlex
import threading
import uuid
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from lab.api import CallContext, Engine, ExecResult
from lab.wsman.shells import command_gone, command_response, empty, receive_response, shell_gone, wait_until
from lab.wsman.soap import NS, Request, SoapFault

RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"


@dataclass
class _Process:
    result: ExecResult | None = None
    delivered: bool = False


class CmdShell:
    """A cmd.exe shell: text in, stdout/stderr and an exit code out."""

    def __init__(self, shell_id: str, context: CallContext, engine: Engine) -> None:
        self.shell_id = shell_id
        self._context = context
        self._engine = engine
        self._lock = threading.Condition()
        self._processes: dict[str, _Process] = {}
        self._closed = False

    def command(self, request: Request) -> ET.Element:
        """Start ``rsp:Command`` with ``rsp:Arguments`` (or the words of the command line) on a worker."""
        line = request.body.find("rsp:CommandLine", NS)
        words = shlex.split(line.findtext("rsp:Command", "", NS), posix=False) if line is not None else []
        if line is None or not words:
            raise SoapFault(2150858817, "w:InvalidMessageInformationHeader", "Command without an executable")
        arguments = [_unquote(word) for word in words[1:]]
        arguments += [argument.text or "" for argument in line.iterfind("rsp:Arguments", NS)]
        command_id = str(uuid.uuid4()).upper()
        process = _Process()
        with self._lock:
            if self._closed:
                raise shell_gone(self.shell_id)
            self._processes[command_id] = process
        threading.Thread(
            target=self._run,
            args=(process, _unquote(words[0]), arguments),
            name=f"winrs-{command_id}",
            daemon=True,
        ).start()
        return command_response(command_id)

    def send(self, request: Request) -> ET.Element:
        """Standard input is accepted and ignored: lab executables read none."""
        return empty("SendResponse")

    def receive(self, request: Request) -> ET.Element:
        """Wait for the process to exit, then return its output, exit code and CommandState Done."""
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = (desired.get("CommandId") or "").upper() if desired is not None else ""
        with self._lock:
            process = self._processes.get(command_id)
            if process is None:
                raise command_gone(command_id)
            wait_until(
                self._lock, lambda: self._closed or process.result is not None, request.operation_timeout
            )
            if process.result is None:
                raise shell_gone(self.shell_id)
            result, first = process.result, not process.delivered
            process.delivered = True
        streams = [
            ("stdout", result.stdout.encode() if first else b"", True),
            ("stderr", result.stderr.encode() if first else b"", True),
        ]
        return receive_response(command_id, streams, done=True, exit_code=result.exit_code)

    def signal(self, request: Request) -> ET.Element:
        """Ctrl-C or Terminate: the process is forgotten (lab executables are not interruptible)."""
        element = request.body.find("rsp:Signal", NS)
        with self._lock:
            if element is not None:
                self._processes.pop((element.get("CommandId") or "").upper(), None)
        return empty("SignalResponse")

    def close(self) -> None:
        """Wake every waiting Receive; they answer that the shell is gone."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def _run(self, process: _Process, executable: str, arguments: list[str]) -> None:
        try:
            result = self._engine.execute(self._context, executable, arguments)
        except Exception as error:
            result = ExecResult(exit_code=1, stderr=f"{type(error).__name__}: {error}\r\n")
        with self._lock:
            process.result = result
            self._lock.notify_all()


def _unquote(word: str) -> str:
    return word[1:-1] if len(word) >= 2 and word[0] == word[-1] == '"' else word
