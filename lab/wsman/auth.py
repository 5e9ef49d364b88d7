"""Who is calling: the lab's user directory, HTTP Basic, and Negotiate/NTLM through pyspnego.

pyspnego's NTLM acceptor reads its credentials from the file named by the process-wide ``NTLM_USER_FILE``
variable. Each endpoint keeps a private (0600) user file (in the lab's directory when it has one), and each
NTLM step runs under one process lock with the variable pointing at that file, so endpoints with different
users do not see each other's. The file holds the caller's password only during a step: emptied right after.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any

import spnego
import spnego.tls
from spnego.exceptions import InvalidTokenError, SpnegoError

_USER_FILE_ENV = "NTLM_USER_FILE"
_USER_FILE_LOCK = threading.Lock()


class UserDirectory:
    """The lab's users; accepts ``DOMAIN\\user``, ``user@domain`` and ``user``, case-insensitively."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = {_bare_name(name).lower(): (name, password) for name, password in users.items()}

    def canonical(self, login: str) -> str | None:
        """The name as the directory spells it, or None for an unknown user."""
        entry = self._users.get(_bare_name(login).lower())
        return entry[0] if entry else None

    def password(self, login: str) -> str | None:
        """The password of a known user, or None."""
        entry = self._users.get(_bare_name(login).lower())
        return entry[1] if entry else None

    def verify(self, login: str, password: str) -> bool:
        """Whether ``password`` is the password of the user ``login`` names."""
        known = self.password(login)
        return known is not None and known == password

    def check_basic(self, credentials: str) -> str | None:
        """The canonical user for a Basic ``Authorization`` value, or None when the credentials are wrong."""
        try:
            login, _, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return self.canonical(login) if self.password(login) == password else None


class _SessionWrapping:
    """WinRM message encryption with a complete security context (``self._context``): for CredSSP the
    wrapped data are TLS records of at most 16 KiB each (lab.wsman.encryption splits longer messages)."""

    _context: Any

    def unwrap(self, header: bytes, data: bytes) -> bytes:
        """Decrypt one WinRM-encrypted message part."""
        plain: bytes = self._context.unwrap_winrm(header, data)
        return plain

    def wrap(self, data: bytes) -> tuple[bytes, bytes, int]:
        """Encrypt ``data``: (header, encrypted data, padding length)."""
        header, encrypted, padding = self._context.wrap_winrm(data)
        return header, encrypted, padding


class NegotiateAcceptor(_SessionWrapping):
    """The server side of one TCP connection's Negotiate (NTLM) context, with WinRM message wrapping."""

    def __init__(self, directory: UserDirectory, user_file: str) -> None:
        self._directory = directory
        self._user_file = user_file
        self._context: Any = None
        self.user: str | None = None

    @property
    def complete(self) -> bool:
        """True once the client is authenticated."""
        return self.user is not None

    def step(self, token: bytes) -> bytes | None:
        """Consume a client token; return the reply token. Raises ``PermissionError`` on a failed logon."""
        login = _ntlm_login(token)
        user = None
        if login is not None:
            user = self._directory.canonical(login[1])
            if user is None:
                raise PermissionError(f"unknown user {login[1]!r}")
        if self._context is None or (login is None and self._context.complete):
            self._context = spnego.server(
                protocol="negotiate", options=spnego.NegotiateOptions.wrapping_winrm
            )
            self.user = None
        with self._credentials(login, user):
            try:
                reply: bytes | None = self._context.step(token)
            except SpnegoError as error:
                self._context = None
                raise PermissionError(str(error)) from error
        if self._context.complete and user is not None:
            self.user = user
        return reply

    def _credentials(self, login: tuple[str, str] | None, user: str | None) -> AbstractContextManager[None]:
        """The user's line in the user file for the length of one step only (emptied right after)."""
        line = None
        if login is not None and user is not None:
            line = f"{login[0]}:{login[1]}:{self._directory.password(user) or ''}\n"
        return _user_file_env(self._user_file, line)


class _UserFileNegotiate:
    """The Negotiate acceptor *inside* CredSSP, writing the caller's user-file line around each step.

    Inside CredSSP the NTLM tokens travel in TLS-encrypted TSRequests, so the HTTP layer cannot peek at the
    AUTHENTICATE message as :class:`NegotiateAcceptor` does; this proxy sees the decrypted NTLM token that
    pyspnego's CredSSPProxy hands to its ``credssp_negotiate_context`` and does the same there.
    """

    def __init__(self, directory: UserDirectory, user_file: str) -> None:
        self._directory = directory
        self._user_file = user_file
        self.user: str | None = None
        with _user_file_env(user_file, None):  # NTLMProxy's acceptor insists the file exists when built
            self._inner: Any = spnego.server(protocol="negotiate")

    def step(self, token: bytes | None = None, **kwargs: Any) -> bytes | None:
        login = _ntlm_login(token or b"")
        line = None
        if login is not None:
            self.user = self._directory.canonical(login[1])
            if self.user is None:
                # pyspnego turns a SpnegoError into the CredSSP error TSRequest the client reports
                raise InvalidTokenError(context_msg=f"unknown user {login[1]!r}")  # SEC_E_LOGON_DENIED
            line = f"{login[0]}:{login[1]}:{self._directory.password(self.user) or ''}\n"
        with _user_file_env(self._user_file, line):
            reply: bytes | None = self._inner.step(token, **kwargs)
        return reply

    def __getattr__(self, name: str) -> Any:  # complete, wrap, unwrap, client_principal, ...
        return getattr(self._inner, name)


class CredSSPAcceptor(_SessionWrapping):
    """The server side of one TCP connection's CredSSP context, with WinRM message wrapping.

    The handshake (a TLS channel with an RSA certificate, NTLM inside it, the public-key binding, then the
    client's TSCredentials) runs in pyspnego's CredSSPProxy; :attr:`delegated` holds the password credential
    the client delegated, once it is checked against the directory.
    """

    def __init__(
        self, directory: UserDirectory, user_file: str, tls_context: spnego.tls.CredSSPTLSContext
    ) -> None:
        self._directory = directory
        self._negotiate = _UserFileNegotiate(directory, user_file)
        self._context: Any = spnego.server(
            protocol="credssp", credssp_tls_context=tls_context, credssp_negotiate_context=self._negotiate
        )
        self.user: str | None = None
        #: (domain, user name) the client delegated; the password is checked, not kept.
        self.delegated: tuple[str, str] | None = None

    @property
    def complete(self) -> bool:
        """True once the client is authenticated and its delegated credential checked."""
        return self.user is not None

    @property
    def failed(self) -> bool:
        """True when pyspnego answered with a CredSSP error TSRequest (wrong password, unknown user)."""
        return bool(self._context.get_extra_info("auth_stage") == "Authentication failure")

    def step(self, token: bytes) -> bytes | None:
        """Consume a client token; return the reply token. Raises ``PermissionError`` on a failed logon."""
        try:
            reply: bytes | None = self._context.step(token)
        except SpnegoError as error:  # TLS failure, public-key binding mismatch
            raise PermissionError(str(error)) from error
        if not self._context.complete:
            return reply
        credential = self._context.get_extra_info("client_credential")  # TSPasswordCreds
        authenticated = self._negotiate.user
        delegated = self._directory.canonical(f"{credential.domain_name}\\{credential.username}")
        if authenticated is None or delegated != authenticated:
            raise PermissionError(
                f"delegated credential {credential.domain_name}\\{credential.username} is not the "
                f"authenticated user {authenticated}"
            )
        if self._directory.password(delegated) != credential.password:
            raise PermissionError(f"the password delegated for {delegated} is wrong")
        self.delegated = (credential.domain_name, credential.username)
        self.user = authenticated
        return reply


@cache
def credssp_tls_context() -> spnego.tls.CredSSPTLSContext:
    """The TLS server context inside CredSSP: a self-signed RSA certificate like WinRM's ``CREDSSP-<host>``.

    RSA only: pyspnego computes pubKeyAuth from the PKCS#1 public key, which an EC key has not (the client
    fails with "format is invalid with this key"). Independent of the HTTPS certificate; one per process (an
    RSA key takes about 50 ms to make), shared by every endpoint as WinRM shares its CREDSSP certificate.
    """
    context = spnego.tls.default_tls_context(usage="accept")
    cert_pem, key_pem, public_key = spnego.tls.generate_tls_certificate()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "credssp.pem")
        with open(path, "wb") as pem:
            pem.write(cert_pem + key_pem)
        context.context.load_cert_chain(path)
    context.public_key = public_key
    return context


@contextmanager
def _user_file_env(user_file: str, line: str | None) -> Iterator[None]:
    """NTLM_USER_FILE -> ``user_file`` holding ``line`` (if any) for one step, under the process lock."""
    with _USER_FILE_LOCK:
        if line is not None:
            _write(user_file, line)
        previous = os.environ.get(_USER_FILE_ENV)
        os.environ[_USER_FILE_ENV] = user_file
        try:
            yield
        finally:
            _write(user_file, "")
            if previous is None:
                os.environ.pop(_USER_FILE_ENV, None)
            else:
                os.environ[_USER_FILE_ENV] = previous


def private_user_file(directory: str | os.PathLike[str] | None = None) -> str:
    """Create an empty 0600 file for an endpoint's NTLM credentials, in ``directory`` (default: $TMPDIR)."""
    handle, path = tempfile.mkstemp(prefix="lab-ntlm-", suffix=".users", dir=directory)
    os.close(handle)
    return path


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as user_file:
        user_file.write(text)


def _bare_name(login: str) -> str:
    return login.rpartition("\\")[2].partition("@")[0]


def _ntlm_login(token: bytes) -> tuple[str, str] | None:
    """(domain, user) of an NTLM AUTHENTICATE message inside ``token``; None for other messages."""
    start = token.find(b"NTLMSSP\x00")
    if start < 0 or len(token) < start + 64:
        return None
    message = token[start:]
    if struct.unpack_from("<I", message, 8)[0] != 3:
        return None
    encoding = "utf-16-le" if struct.unpack_from("<I", message, 60)[0] & 1 else "latin-1"

    def field(offset: int) -> str:
        length, _, position = struct.unpack_from("<HHI", message, offset)
        return message[position : position + length].decode(encoding)

    return field(28), field(36)
