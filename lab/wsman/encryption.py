"""WinRM message encryption: the ``multipart/encrypted`` body pypsrp's ``encryption.py`` sends and expects.

Negotiate/NTLM: ``protocol="application/HTTP-SPNEGO-session-encrypted"``, one part per message.
CredSSP: ``protocol="application/HTTP-CredSSP-session-encrypted"``; the wrapped data are TLS records, at most
16 KiB of plaintext each, so a message over 16 KiB goes as ``multipart/x-multi-encrypted`` with one part per
16 KiB piece (pypsrp does so for requests, and accepts either for replies).
"""

from __future__ import annotations

import re
import struct

from lab.wsman.auth import CredSSPAcceptor, NegotiateAcceptor

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CREDSSP_PROTOCOL = "application/HTTP-CredSSP-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
#: The most plaintext one CredSSP part (one TLS record) carries.
CREDSSP_CHUNK = 16384
_BOUNDARY = b"--Encrypted Boundary"
_BOUNDARY_PARAMETER = re.compile(r'boundary="?([^";]+)"?')
_PROTOCOL_PARAMETER = re.compile(r'protocol="?([^";]+)"?', re.IGNORECASE)

Acceptor = NegotiateAcceptor | CredSSPAcceptor


def is_encrypted(content_type: str) -> bool:
    """True for a body wrapped with the connection's security context."""
    return content_type.lower().startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def protocol_of(acceptor: Acceptor) -> str:
    return CREDSSP_PROTOCOL if isinstance(acceptor, CredSSPAcceptor) else PROTOCOL


def unwrap(acceptor: Acceptor, content_type: str, body: bytes) -> bytes:
    """Decrypt an encrypted request body; raises ``ValueError`` when it is malformed."""
    match = _BOUNDARY_PARAMETER.search(content_type)
    if match is None:
        raise ValueError("encrypted body without a MIME boundary")
    protocol = _PROTOCOL_PARAMETER.search(content_type)
    if protocol is not None and protocol.group(1).lower() != protocol_of(acceptor).lower():
        raise ValueError(f"message protocol {protocol.group(1)} is not the connection's authentication")
    separator = re.compile(rb"--\s*" + re.escape(match.group(1).encode()) + rb"(?:--)?\r\n")
    parts = [part for part in separator.split(body) if part]
    message = b""
    for header_part, payload in zip(parts[::2], parts[1::2], strict=True):
        expected = int(header_part.split(b"Length=")[1].strip())
        wrapped = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"")
        header_length = struct.unpack("<i", wrapped[:4])[0]
        plain = acceptor.unwrap(wrapped[4 : 4 + header_length], wrapped[4 + header_length :])
        if len(plain) != expected:
            raise ValueError(f"decrypted {len(plain)} bytes where the header announced {expected}")
        message += plain
    return message


def wrap(acceptor: Acceptor, message: bytes) -> tuple[str, bytes]:
    """Encrypt a reply body: (Content-Type, body)."""
    protocol = protocol_of(acceptor)
    if isinstance(acceptor, CredSSPAcceptor) and len(message) > CREDSSP_CHUNK:
        kind = "multipart/x-multi-encrypted"
        chunks = [message[i : i + CREDSSP_CHUNK] for i in range(0, len(message), CREDSSP_CHUNK)]
    else:
        kind, chunks = "multipart/encrypted", [message]
    body = b"".join(_part(acceptor, protocol, chunk) for chunk in chunks) + _BOUNDARY + b"--\r\n"
    return f'{kind};protocol="{protocol}";boundary="Encrypted Boundary"', body


def _part(acceptor: Acceptor, protocol: str, message: bytes) -> bytes:
    header, encrypted, padding = acceptor.wrap(message)
    preamble = b"\r\n".join(
        [
            _BOUNDARY,
            f"\tContent-Type: {protocol}".encode(),
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d"
            % (len(message) + padding),
            _BOUNDARY,
            b"\tContent-Type: application/octet-stream",
            b"",
        ]
    )
    return preamble + struct.pack("<i", len(header)) + header + encrypted
