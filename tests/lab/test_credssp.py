"""CredSSP against a lab endpoint, over http (WinRM message encryption, 16 KiB TLS records) and https, with
an unmodified pypsrp + requests-credssp client: the handshake, the delegated credential the second hop needs,
large messages both ways, and the refusals (research credssp/FINDINGS.md)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests_credssp.exceptions
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lab.wsman import WinRMEndpoint, make_lab_tls
from tests.lab.stub_engine import POOL_TYPE, StubEngine
from tests.lab.test_wsman import invoke

SERVER = "fe01.lab.local"
USERS = {"CONTOSO\\lyncadmin": "Pa55w.rd"}


@pytest.fixture
def engine() -> StubEngine:
    return StubEngine()


@pytest.fixture(params=["http", "https"])
def endpoint(request: Any, engine: StubEngine, tmp_path: Path) -> Iterator[WinRMEndpoint]:
    tls = make_lab_tls(tmp_path).server_context() if request.param == "https" else None
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, auth="credssp", tls=tls)
    endpoint.start()
    yield endpoint
    engine.release.set()
    endpoint.close()


def client(endpoint: WinRMEndpoint, password: str = "Pa55w.rd", **options: Any) -> WSMan:
    url = urlsplit(endpoint.url)
    return WSMan(
        "127.0.0.1",
        port=url.port,
        ssl=url.scheme == "https",
        auth="credssp",
        username=r"CONTOSO\lyncadmin",
        password=password,
        cert_validation=False,
        **options,
    )


def over_http(endpoint: WinRMEndpoint, auth: str) -> WSMan:
    """A client of ``auth`` over http with WinRM message encryption."""
    url = urlsplit(endpoint.url)
    return WSMan(
        "127.0.0.1", port=url.port, ssl=False, auth=auth, username=r"CONTOSO\lyncadmin", password="Pa55w.rd"
    )


def test_first_request_and_delegated_credential(endpoint: WinRMEndpoint) -> None:
    wsman = client(endpoint)
    wsman.update_max_payload_size()
    assert wsman.max_envelope_size == 512 * 1024
    assert endpoint.delegations == [("CONTOSO\\lyncadmin", "CONTOSO\\lyncadmin")]


def test_a_credssp_session_is_delegated_and_an_ntlm_one_is_not(engine: StubEngine) -> None:
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, auth="credssp")
    endpoint.start()
    try:
        for auth in ("credssp", "ntlm"):
            invoke(over_http(endpoint, auth), "Get-CsPool")
        assert [context.delegated for context, _commands in engine.calls] == [True, False]
    finally:
        endpoint.close()


def test_runspace_pool_and_a_large_output(endpoint: WinRMEndpoint) -> None:
    pools, ps = invoke(client(endpoint), "Get-CsPool", Count=2)
    assert not ps.had_errors
    assert pools[0].types[0] == POOL_TYPE
    assert pools[0].extended_properties["User"] == "CONTOSO\\lyncadmin"
    # replies of up to 500 KiB: over http these go back as multipart/x-multi-encrypted 16 KiB parts
    pools, _ps = invoke(client(endpoint), "Get-CsPool", Count=3000)
    assert [pool.extended_properties["Index"] for pool in pools] == list(range(3000))


def test_a_large_request(endpoint: WinRMEndpoint, engine: StubEngine) -> None:
    """A request over 16 KiB: pypsrp sends multipart/x-multi-encrypted over http."""
    with RunspacePool(client(endpoint)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Write-Streams").add_parameter("Message", "x" * 60000)
        assert ps.invoke() == ["still here"]
    _context, commands = engine.calls[-1]
    assert dict(commands[0].parameters)["Message"] == "x" * 60000


def test_tls12_only_inside_credssp(engine: StubEngine) -> None:
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, auth="credssp")
    endpoint._settings.credssp_tls.context.maximum_version = ssl.TLSVersion.TLSv1_2
    endpoint.start()
    try:
        pools, _ps = invoke(client(endpoint), "Get-CsPool")
        assert pools[0].extended_properties["PoolFqdn"] == "pool0.lab.local"
    finally:
        endpoint.close()


def test_wrong_password(endpoint: WinRMEndpoint) -> None:
    with pytest.raises(requests_credssp.exceptions.NTStatusException) as error:
        client(endpoint, password="wrong").update_max_payload_size()
    assert error.value.status == 0x8009030C  # SEC_E_LOGON_DENIED
    assert endpoint.delegations == []


def test_any_offers_credssp_and_ntlm_still_works(engine: StubEngine) -> None:
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, auth="any")
    endpoint.start()
    try:
        for auth in ("ntlm", "negotiate", "credssp"):
            pools, _ps = invoke(over_http(endpoint, auth), "Get-CsPool")
            assert pools[0].extended_properties["User"] == "CONTOSO\\lyncadmin"
        assert len(endpoint.delegations) == 1
    finally:
        endpoint.close()


def test_unknown_user(endpoint: WinRMEndpoint) -> None:
    url = urlsplit(endpoint.url)
    wsman = WSMan(
        "127.0.0.1",
        port=url.port,
        ssl=url.scheme == "https",
        auth="credssp",
        username=r"CONTOSO\nobody",
        password="Pa55w.rd",
        cert_validation=False,
    )
    with pytest.raises(requests_credssp.exceptions.NTStatusException) as error:
        wsman.update_max_payload_size()
    assert error.value.status == 0x8009030C


def test_delegating_another_users_credential_is_refused(engine: StubEngine) -> None:
    """NTLM as lyncadmin inside CredSSP, but a TSPasswordCreds for someone else: the server refuses."""
    import base64

    import requests
    import spnego

    users = {**USERS, "CONTOSO\\other": "0ther"}
    endpoint = WinRMEndpoint(SERVER, engine, users=users, auth="credssp", allow_unencrypted=True)
    endpoint.start()
    try:
        credentials: list[Any] = [
            spnego.NTLMHash("CONTOSO\\lyncadmin", nt_hash=_nt_hash("Pa55w.rd")),
            spnego.Password("CONTOSO\\other", "0ther"),
        ]
        context = spnego.client(credentials, protocol="credssp")
        session = requests.Session()
        token, status = context.step(), 0
        while token is not None:
            response = session.post(
                endpoint.url, headers={"Authorization": "CredSSP " + base64.b64encode(token).decode()}
            )
            status = response.status_code
            if context.complete or status != 401:
                break
            token = context.step(base64.b64decode(response.headers["WWW-Authenticate"].split(" ", 1)[1]))
        assert context.complete  # the client sent its TSCredentials
        assert status == 401
        assert endpoint.delegations == []
    finally:
        endpoint.close()


def _nt_hash(password: str) -> str:
    from spnego._ntlm_raw.crypto import ntowfv1

    return ntowfv1(password).hex()
