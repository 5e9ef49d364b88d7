"""What the WinRS shells (PowerShell and cmd) share: the shell interface, long-poll waits, Receive replies."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol
from xml.etree import ElementTree as ET

from lab.wsman.soap import Request, SoapFault, operation_timeout, q

COMMAND_STATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/"
#: Room left in an envelope for everything but the base64 stream data.
_ENVELOPE_OVERHEAD = 4096


class Shell(Protocol):
    """A shell created by a WS-Man Create; each method answers one request with the reply's body element."""

    def command(self, request: Request) -> ET.Element: ...

    def send(self, request: Request) -> ET.Element: ...

    def receive(self, request: Request) -> ET.Element: ...

    def signal(self, request: Request) -> ET.Element: ...

    def close(self) -> None:
        """Abort whatever runs and wake every waiting Receive."""
        ...


def shell_gone(shell_id: str) -> SoapFault:
    """The fault for a shell that does not exist (never created, deleted, or the server restarted)."""
    return SoapFault(
        2150858843,
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Open a new shell.",
    )


def command_gone(command_id: str) -> SoapFault:
    """The fault for a command the shell does not know (terminated, or never made)."""
    return SoapFault(
        2150858843,
        "w:InvalidSelectors",
        f"The command {command_id} was not found in the shell; run it again.",
    )


def wait_until(condition: threading.Condition, ready: Callable[[], bool], timeout: float) -> None:
    """Wait (holding ``condition``) until ``ready()``; raise the OperationTimeout fault at the deadline."""
    deadline = time.monotonic() + timeout
    while not ready():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise operation_timeout()
        condition.wait(remaining)


def payload_budget(request: Request) -> int:
    """How many raw bytes of stream data fit in one reply to ``request`` once base64-encoded."""
    return max(1024, (request.max_envelope_size - _ENVELOPE_OVERHEAD) * 3 // 4)


def receive_response(
    command_id: str | None,
    streams: Sequence[tuple[str, bytes, bool]],
    *,
    done: bool,
    exit_code: int | None = None,
) -> ET.Element:
    """``rsp:ReceiveResponse`` with ``(name, data, end)`` streams and, for a command, its CommandState."""
    response = ET.Element(q("rsp", "ReceiveResponse"))
    for name, data, end in streams:
        stream = ET.SubElement(response, q("rsp", "Stream"), Name=name)
        if command_id is not None:
            stream.set("CommandId", command_id)
        if end:
            stream.set("End", "true")
        stream.text = base64.b64encode(data).decode("ascii")
    if command_id is not None:
        state = ET.SubElement(
            response,
            q("rsp", "CommandState"),
            CommandId=command_id,
            State=COMMAND_STATE + ("Done" if done else "Running"),
        )
        if exit_code is not None:
            ET.SubElement(state, q("rsp", "ExitCode")).text = str(exit_code)
    return response


def command_response(command_id: str) -> ET.Element:
    """``rsp:CommandResponse`` naming the new command."""
    response = ET.Element(q("rsp", "CommandResponse"))
    ET.SubElement(response, q("rsp", "CommandId")).text = command_id
    return response


def empty(tag: str) -> ET.Element:
    """An empty ``rsp:<tag>`` reply body (SendResponse, SignalResponse)."""
    return ET.Element(q("rsp", tag))
