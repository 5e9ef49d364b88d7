"""Sending a WS-Management request again when a lossy link dropped it, where that cannot do anything twice.

One PowerShell command is several HTTP requests: Command (starts the pipeline), Receive (its output, polled),
Signal (stop it), and Delete (close the runspace pool). When the connection is reset or closed with no answer,
the client cannot know whether the server processed the request. Sending again is harmless for a Receive, a
Signal, a Delete, opening a new runspace pool, and a new pipeline that only reads; never for the Command of a
pipeline that changes something, which the server may have started (worker.executor decides which is which).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import TypeVar

import requests
from pypsrp.wsman import WSMan
from urllib3.exceptions import ProtocolError

from plugins.kit.shell import ConnectionDropped, ParameterValue

log = logging.getLogger(__name__)

#: How many dropped requests one command may send again. Each resend opens a new connection at once: a drop
#: is the link's, not a sign of a busy server, so the pause is short and fixed.
RESENDS = 5
RESEND_PAUSE_S = 0.02
#: The verbs of cmdlets that only read (approved verbs: Get retrieves a resource, Test verifies it).
READING_VERBS = frozenset({"get", "test"})

T = TypeVar("T")


def dropped(error: BaseException) -> bool:
    """Whether the connection was reset or closed after the request went out, with no answer."""
    if isinstance(error, requests.exceptions.ConnectionError) and error.args:
        reason = error.args[0]
        lost = RemoteDisconnected | ConnectionResetError | BrokenPipeError
        return isinstance(reason, ProtocolError) and any(isinstance(arg, lost) for arg in reason.args)
    return False


def reads_only(cmdlet: str, parameters: Mapping[str, ParameterValue]) -> bool:
    """Whether a pipeline of this one cmdlet changes nothing: a Get or Test verb, or ``-WhatIf``."""
    return cmdlet.partition("-")[0].lower() in READING_VERBS or parameters.get("WhatIf") is True


@dataclass
class Resends:
    """The resends one command may still make (of any of its requests), and what running out means."""

    server: str
    command: str
    #: Nothing resent changes the server (a session opening, a read): running out is ConnectionDropped.
    #: Otherwise the last drop stands (the executor reports it as CommandInterrupted).
    changes_nothing: bool
    left: int = RESENDS

    def send(self, request: Callable[[], T], wsman: WSMan | None = None) -> T:
        """``request()``, sent again after a short pause while the link drops it and resends are left."""
        while True:
            try:
                return request()
            except Exception as error:
                if not dropped(error):
                    raise
                if self.left == 0:
                    if self.changes_nothing:
                        raise ConnectionDropped(
                            self.server, self.command, f"the link dropped it {RESENDS + 1} times: {error}"
                        ) from error
                    raise
                log.info(
                    "%s on %s: the connection dropped (%s); sending again", self.command, self.server, error
                )
            self.left -= 1
            if wsman is not None:  # its message encryption died with the connection: log on anew, as pypsrp
                wsman.transport.encryption = None  # does itself after a read timeout
            time.sleep(RESEND_PAUSE_S)
