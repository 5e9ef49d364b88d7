"""WinRM message encryption: the ``multipart/encrypted`` body pypsrp's ``encryption.py`` sends and expects."""

from __future__ import annotations

import re
import struct

from lab.wsman.auth import NegotiateAcceptor

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_BOUNDARY_PARAMETER = re.compile(r'boundary="?([^";]+)"?')


def is_encrypted(content_type: str) -> bool:
    """True for a body wrapped with the connection's security context."""
    return content_type.lower().startswith("multipart/encrypted")


def unwrap(acceptor: NegotiateAcceptor, content_type: str, body: bytes) -> bytes:
    """Decrypt an encrypted request body; raises ``ValueError`` when it is malformed."""
    match = _BOUNDARY_PARAMETER.search(content_type)
    if match is None:
        raise ValueError("encrypted body without a MIME boundary")
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


def wrap(acceptor: NegotiateAcceptor, message: bytes) -> bytes:
    """Encrypt a reply body; send it with :data:`CONTENT_TYPE`."""
    header, encrypted, padding = acceptor.wrap(message)
    preamble = b"\r\n".join(
        [
            _BOUNDARY,
            f"\tContent-Type: {PROTOCOL}".encode(),
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d"
            % (len(message) + padding),
            _BOUNDARY,
            b"\tContent-Type: application/octet-stream",
            b"",
        ]
    )
    return preamble + struct.pack("<i", len(header)) + header + encrypted + _BOUNDARY + b"--\r\n"
