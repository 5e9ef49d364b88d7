"""The WinRM service: routes each authenticated WS-Man request to the config, a new shell, or an open one."""

from __future__ import annotations

import base64
import threading
import uuid
from xml.etree import ElementTree as ET

from lab.api import CallContext, Engine
from lab.wsman import psrp, winrs
from lab.wsman.shells import Shell, shell_gone
from lab.wsman.soap import ACTION, NS, SHELL_ACTION, Request, SoapFault, q, reply

CONFIG_URI = "http://schemas.microsoft.com/wbem/wsman/1/config"
#: The MaxEnvelopeSizekb a Windows Server 2012 R2 WinRM service reports.
MAX_ENVELOPE_KB = 512


class WinRMService:
    """All shells of one simulated server; thread safe."""

    def __init__(self, server: str, engine: Engine) -> None:
        self.server = server
        self._engine = engine
        self._shells: dict[str, Shell] = {}
        self._lock = threading.Lock()

    def handle(self, request: Request, user: str, *, delegated: bool = False) -> bytes:
        """Answer one request by ``user`` (``delegated``: its logon can reach other machines, see
        :class:`lab.api.CallContext`); raises :class:`SoapFault` for the client to see."""
        action = request.action
        if action == ACTION + "Get" and request.resource_uri.startswith(CONFIG_URI):
            return reply(request, ACTION + "GetResponse", _config())
        if action == ACTION + "Create":
            return reply(request, ACTION + "CreateResponse", *self._create(request, user, delegated))
        shell = self._shell(request)
        if action == ACTION + "Delete":
            with self._lock:
                self._shells.pop(request.shell_id, None)
            shell.close()
            return reply(request, ACTION + "DeleteResponse")
        handlers = {
            "Command": shell.command,
            "Send": shell.send,
            "Receive": shell.receive,
            "Signal": shell.signal,
        }
        verb = action.removeprefix(SHELL_ACTION)
        if verb not in handlers:
            raise SoapFault(
                2150858771, "w:ActionNotSupported", f"The lab does not implement the action {action}."
            )
        return reply(request, f"{SHELL_ACTION}{verb}Response", handlers[verb](request))

    def close_all(self) -> None:
        """Abort every shell (the server goes down)."""
        with self._lock:
            shells, self._shells = list(self._shells.values()), {}
        for shell in shells:
            shell.close()

    def _create(self, request: Request, user: str, delegated: bool) -> tuple[ET.Element, ET.Element]:
        spec = request.body.find("rsp:Shell", NS)
        shell_id = ((spec.get("ShellId") if spec is not None else None) or str(uuid.uuid4())).upper()
        context = CallContext(server=self.server, user=user, delegated=delegated)
        shell: Shell
        if request.resource_uri == psrp.RESOURCE_URI:
            creation = spec.findtext("pwsh:creationXml", "", NS) if spec is not None else ""
            if not creation:
                raise SoapFault(2150858817, "w:InvalidMessageInformationHeader", "Create without creationXml")
            shell = psrp.PowerShellShell(shell_id, context, self._engine, base64.b64decode(creation))
        elif request.resource_uri == winrs.RESOURCE_URI:
            shell = winrs.CmdShell(shell_id, context, self._engine)
        else:
            raise SoapFault(
                2150858770, "w:DestinationUnreachable", f"The lab serves no resource {request.resource_uri}."
            )
        with self._lock:
            self._shells[shell_id] = shell
        return _resource_created(request, shell_id), _shell_info(request, shell_id, user)

    def _shell(self, request: Request) -> Shell:
        with self._lock:
            shell = self._shells.get(request.shell_id)
        if shell is None:
            raise shell_gone(request.shell_id)
        return shell


def _config() -> ET.Element:
    config = ET.Element(q("cfg", "Config"))
    ET.SubElement(config, q("cfg", "MaxEnvelopeSizekb")).text = str(MAX_ENVELOPE_KB)
    return config


def _resource_created(request: Request, shell_id: str) -> ET.Element:
    created = ET.Element(q("wst", "ResourceCreated"))
    ET.SubElement(
        created, q("wsa", "Address")
    ).text = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
    parameters = ET.SubElement(created, q("wsa", "ReferenceParameters"))
    ET.SubElement(parameters, q("wsman", "ResourceURI")).text = request.resource_uri
    selectors = ET.SubElement(parameters, q("wsman", "SelectorSet"))
    ET.SubElement(selectors, q("wsman", "Selector"), Name="ShellId").text = shell_id
    return created


def _shell_info(request: Request, shell_id: str, user: str) -> ET.Element:
    shell = ET.Element(q("rsp", "Shell"))
    spec = request.body.find("rsp:Shell", NS)
    fields = {
        "ShellId": shell_id,
        "ResourceUri": request.resource_uri,
        "Owner": user,
        "InputStreams": spec.findtext("rsp:InputStreams", "stdin", NS) if spec is not None else "stdin",
        "OutputStreams": spec.findtext("rsp:OutputStreams", "stdout", NS) if spec is not None else "stdout",
    }
    for name, value in fields.items():
        ET.SubElement(shell, q("rsp", name)).text = value
    return shell
