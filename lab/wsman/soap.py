"""WS-Management SOAP envelopes: parse a request, build a reply or a fault."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "cfg": "http://schemas.microsoft.com/wbem/wsman/1/config",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

ACTION = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL_ACTION = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

#: The fault code pypsrp treats as "nothing yet, poll again".
OPERATION_TIMEOUT_CODE = 2150858793
_DURATION = re.compile(r"^PT(?:(\d+)M)?(\d+(?:\.\d+)?)S$")


def q(prefix: str, name: str) -> str:
    """The ElementTree name of ``prefix:name``."""
    return f"{{{NS[prefix]}}}{name}"


@dataclass
class Request:
    """The parts of a WS-Man request the lab acts on."""

    action: str
    message_id: str
    resource_uri: str
    body: ET.Element
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    operation_timeout: float = 20.0
    max_envelope_size: int = 153600

    @property
    def shell_id(self) -> str:
        """The ShellId selector, upper-cased (clients send it in either case)."""
        return self.selectors.get("ShellId", "").upper()


class SoapFault(Exception):
    """A WS-Man fault the server answers with (HTTP 500)."""

    def __init__(self, code: int, subcode: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.message = message


def operation_timeout() -> SoapFault:
    """The fault a Receive answers when nothing arrived within the client's OperationTimeout."""
    return SoapFault(
        OPERATION_TIMEOUT_CODE,
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in "
        "OperationTimeout.",
    )


def parse_request(data: bytes) -> Request:
    """Parse a SOAP envelope; raise :class:`SoapFault` when it is not a WS-Man request."""
    try:
        envelope = ET.fromstring(data)
    except ET.ParseError as error:
        raise SoapFault(2150858817, "w:InvalidMessageInformationHeader", f"Malformed XML: {error}") from error
    header = envelope.find("s:Header", NS)
    body = envelope.find("s:Body", NS)
    if header is None or body is None:
        raise SoapFault(2150858817, "w:InvalidMessageInformationHeader", "The envelope lacks Header or Body.")
    request = Request(
        action=header.findtext("wsa:Action", "", NS).strip(),
        message_id=header.findtext("wsa:MessageID", "", NS).strip(),
        resource_uri=header.findtext("wsman:ResourceURI", "", NS).strip(),
        body=body,
    )
    for selector in header.iterfind("wsman:SelectorSet/wsman:Selector", NS):
        request.selectors[selector.get("Name", "")] = (selector.text or "").strip()
    for option in header.iterfind("wsman:OptionSet/wsman:Option", NS):
        request.options[option.get("Name", "")] = (option.text or "").strip()
    match = _DURATION.match(header.findtext("wsman:OperationTimeout", "", NS).strip())
    if match:
        request.operation_timeout = int(match.group(1) or 0) * 60 + float(match.group(2))
    size = header.findtext("wsman:MaxEnvelopeSize", "", NS).strip()
    if size.isdigit():
        request.max_envelope_size = int(size)
    return request


def reply(request: Request, action: str, *content: ET.Element) -> bytes:
    """A reply envelope for ``request`` with ``content`` in its body."""
    envelope, body = _envelope(action, request.message_id)
    body.extend(content)
    return _serialize(envelope)


def fault_reply(request_message_id: str, fault: SoapFault, machine: str) -> bytes:
    """A SOAP fault envelope with the WS-Man fault detail pypsrp parses."""
    envelope, body = _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", request_message_id)
    soap_fault = ET.SubElement(body, q("s", "Fault"))
    code = ET.SubElement(soap_fault, q("s", "Code"))
    ET.SubElement(code, q("s", "Value")).text = "s:Receiver"
    ET.SubElement(ET.SubElement(code, q("s", "Subcode")), q("s", "Value")).text = fault.subcode
    ET.SubElement(ET.SubElement(soap_fault, q("s", "Reason")), q("s", "Text")).text = fault.message
    detail = ET.SubElement(soap_fault, q("s", "Detail"))
    wsman_fault = ET.SubElement(detail, q("wsmanfault", "WSManFault"), Code=str(fault.code), Machine=machine)
    ET.SubElement(wsman_fault, q("wsmanfault", "Message")).text = fault.message
    return _serialize(envelope)


def _envelope(action: str, relates_to: str) -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(q("s", "Envelope"))
    header = ET.SubElement(envelope, q("s", "Header"))
    ET.SubElement(header, q("wsa", "Action")).text = action
    ET.SubElement(header, q("wsa", "MessageID")).text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, q("wsa", "RelatesTo")).text = relates_to
    ET.SubElement(header, q("wsa", "To")).text = ANONYMOUS
    return envelope, ET.SubElement(envelope, q("s", "Body"))


def _serialize(envelope: ET.Element) -> bytes:
    data: bytes = ET.tostring(envelope, encoding="utf-8", xml_declaration=False)
    return data
