"""The lab's WinRM endpoint as an unmodified pypsrp client sees it, over real sockets on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from pypsrp.client import Client
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lab.wsman import WinRMEndpoint, make_lab_tls
from tests.lab.stub_engine import POOL_TYPE, StubEngine

SERVER = "fe01.lab.local"
USERS = {"LAB\\Admin": "Pa55w.rd"}


@pytest.fixture
def engine() -> StubEngine:
    return StubEngine()


@pytest.fixture
def endpoint(engine: StubEngine) -> Iterator[WinRMEndpoint]:
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, allow_unencrypted=True)
    endpoint.start()
    yield endpoint
    engine.release.set()
    endpoint.close()


def port_of(endpoint: WinRMEndpoint) -> int:
    port = urlsplit(endpoint.url).port
    assert port is not None
    return port


def basic(endpoint: WinRMEndpoint, username: str = "admin", **options: Any) -> WSMan:
    """A Basic-auth client over plain HTTP, for an endpoint that allows unencrypted messages."""
    return WSMan(
        "127.0.0.1",
        port=port_of(endpoint),
        username=username,
        password=options.pop("password", "Pa55w.rd"),
        ssl=False,
        auth="basic",
        encryption="never",
        **options,
    )


def invoke(wsman: WSMan, cmdlet: str, **parameters: Any) -> tuple[list[Any], PowerShell]:
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet(cmdlet)
        for name, value in parameters.items():
            ps.add_parameter(name, value)
        return ps.invoke(), ps


def test_objects_keep_type_names_and_properties(endpoint: WinRMEndpoint) -> None:
    pools, ps = invoke(basic(endpoint, username="LAB\\ADMIN"), "Get-CsPool", Count=2)

    assert not ps.had_errors
    assert [pool.types[0] for pool in pools] == [POOL_TYPE, POOL_TYPE]
    assert pools[1].extended_properties["PoolFqdn"] == "pool1.lab.local"
    assert pools[1].extended_properties["Index"] == 1
    assert pools[1].extended_properties["Computers"] == ["fe1.lab.local"]
    assert str(pools[0]) == "pool0.lab.local"
    assert pools[0].extended_properties["Server"] == SERVER
    assert pools[0].extended_properties["User"] == "LAB\\Admin"


def test_parameters_switches_positionals_and_statements_arrive_intact(
    endpoint: WinRMEndpoint, engine: StubEngine
) -> None:
    with RunspacePool(basic(endpoint)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-CsPool").add_parameter("Identity", "pool.lab.local").add_parameter("Force")
        ps.add_argument("positional").add_parameter("Names", ["a", "b"]).add_parameter("Map", {"k": 1})
        ps.add_cmdlet("Write-Streams").add_statement().add_cmdlet("Get-CsPool")
        ps.invoke()

    first, second = [commands for _context, commands in engine.calls]
    assert [command.name for command in first] == ["Get-CsPool", "Write-Streams"]
    assert first[0].parameters == (
        ("Identity", "pool.lab.local"),
        ("Force", None),  # add_parameter("Force"): a name without a value, as pypsrp sends it
        (None, "positional"),
        ("Names", ["a", "b"]),
        ("Map", {"k": 1}),
    )
    assert [command.name for command in second] == ["Get-CsPool"]


def test_non_terminating_error_and_other_streams(endpoint: WinRMEndpoint) -> None:
    output, ps = invoke(basic(endpoint), "Write-Streams")

    assert output == ["still here"]
    assert not ps.had_errors
    assert [str(error) for error in ps.streams.error] == ["one server is down"]
    assert ps.streams.error[0].fq_error == "ServerDown,Get-CsPoolState"
    assert [warning.message for warning in ps.streams.warning] == ["the pool is degraded"]
    assert [verbose.message for verbose in ps.streams.verbose] == ["checking the pool"]
    assert [info.message_data for info in ps.streams.information] == ["What if: Performing the operation"]


def test_terminating_error_fails_the_pipeline_with_its_record(endpoint: WinRMEndpoint) -> None:
    output, ps = invoke(basic(endpoint), "Invoke-CsPoolFailover")

    assert output == []
    assert ps.had_errors
    assert ps.state == PSInvocationState.FAILED
    record: Any = ps.streams.error[-1]
    assert str(record) == "The pool is not paired."
    assert record.exception.adapted_properties["Message"] == "The pool is not paired."
    assert record.fq_error == "PoolNotPaired,Invoke-CsPoolFailover"
    assert record.message.startswith("InvalidOperation")


def test_an_engine_bug_fails_the_pipeline_instead_of_hanging(endpoint: WinRMEndpoint) -> None:
    _output, ps = invoke(basic(endpoint), "Break-Lab")

    assert ps.had_errors
    assert "KeyError" in str(ps.streams.error[-1])


def test_basic_over_https_verified_against_the_lab_ca(engine: StubEngine, tmp_path: Path) -> None:
    tls = make_lab_tls(tmp_path)
    assert make_lab_tls(tmp_path).ca_path.read_bytes() == tls.ca_path.read_bytes()
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, auth="basic", tls=tls.server_context())
    port = endpoint.start()
    try:
        assert endpoint.url == f"https://127.0.0.1:{port}/wsman"
        wsman = WSMan(
            "127.0.0.1",
            port=port,
            username="admin",
            password="Pa55w.rd",
            auth="basic",
            cert_validation=str(tls.ca_path),  # type: ignore[arg-type]  # pypsrp accepts a CA bundle path
        )
        pools, _ps = invoke(wsman, "Get-CsPool")
    finally:
        endpoint.close()
    assert pools[0].extended_properties["PoolFqdn"] == "pool0.lab.local"


@pytest.mark.parametrize("username", ["LAB\\admin", "admin@lab.local", "ADMIN"])
def test_ntlm_with_message_encryption_over_http(engine: StubEngine, username: str) -> None:
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS, auth="ntlm")
    port = endpoint.start()
    try:
        wsman = WSMan(
            "127.0.0.1",
            port=port,
            username=username,
            password="Pa55w.rd",
            ssl=False,
            auth="ntlm",
            encryption="always",
        )
        pools, _ps = invoke(wsman, "Get-CsPool")
    finally:
        endpoint.close()
    assert pools[0].extended_properties["User"] == "LAB\\Admin"


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_unencrypted_messages_over_http_are_refused_by_default_as_windows_does(
    engine: StubEngine, auth: str
) -> None:
    endpoint = WinRMEndpoint(SERVER, engine, users=USERS)
    port = endpoint.start()
    try:
        wsman = WSMan(
            "127.0.0.1",
            port=port,
            username="admin",
            password="Pa55w.rd",
            ssl=False,
            auth=auth,
            encryption="never",
        )
        with pytest.raises(WSManFaultError) as refused:
            invoke(wsman, "Get-CsPool")
    finally:
        endpoint.close()
    assert refused.value.code == 5
    assert "unencrypted" in refused.value.reason and "AllowUnencrypted" in refused.value.reason
    assert engine.calls == []


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_wrong_password_is_an_authentication_error(endpoint: WinRMEndpoint, auth: str) -> None:
    wsman = WSMan(
        "127.0.0.1",
        port=port_of(endpoint),
        username="admin",
        password="wrong",
        ssl=False,
        auth=auth,
        encryption="never",
    )
    with pytest.raises(AuthenticationError):
        invoke(wsman, "Get-CsPool")


def test_eight_clients_at_once(endpoint: WinRMEndpoint) -> None:
    def run(count: int) -> list[int]:
        pools, _ps = invoke(basic(endpoint), "Get-CsPool", Count=count)
        return [pool.extended_properties["Index"] for pool in pools]

    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(run, range(1, 9)))

    assert results == [list(range(count)) for count in range(1, 9)]


def test_a_command_longer_than_the_operation_timeout_completes(
    endpoint: WinRMEndpoint, engine: StubEngine
) -> None:
    with RunspacePool(basic(endpoint, operation_timeout=1, read_timeout=10)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Wait-Release")
        ps.begin_invoke()
        ps.poll_invoke()
        ps.poll_invoke()
        assert ps.state == PSInvocationState.RUNNING
        engine.release.set()
        assert ps.end_invoke() == ["released"]


def test_ctrl_c_stops_a_running_pipeline(endpoint: WinRMEndpoint) -> None:
    with RunspacePool(basic(endpoint)) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Wait-Release")
        ps.begin_invoke()
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        after = PowerShell(pool)
        after.add_cmdlet("Get-CsPool")
        assert len(after.invoke()) == 1


def test_stop_refuses_connections_and_start_serves_again_on_the_same_port(endpoint: WinRMEndpoint) -> None:
    port = endpoint.start()
    endpoint.stop()
    assert not endpoint.running
    with pytest.raises(requests.exceptions.ConnectionError):
        invoke(basic(endpoint), "Get-CsPool")

    assert endpoint.start() == port
    assert endpoint.running
    pools, _ps = invoke(basic(endpoint), "Get-CsPool")
    assert len(pools) == 1


def test_transport_fault_is_a_connection_error(engine: StubEngine) -> None:
    failing = threading.Event()
    endpoint = WinRMEndpoint(
        SERVER, engine, users=USERS, transport_fault=lambda server: failing.is_set(), allow_unencrypted=True
    )
    endpoint.start()
    try:
        with RunspacePool(basic(endpoint)) as pool:
            failing.set()
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-CsPool")
            with pytest.raises(requests.exceptions.ConnectionError):
                ps.invoke()
            failing.clear()
    finally:
        endpoint.close()


def test_a_large_output_arrives_whole_in_envelope_sized_replies(endpoint: WinRMEndpoint) -> None:
    wsman = basic(endpoint)
    wsman.update_max_payload_size()
    assert wsman.max_envelope_size == 512 * 1024

    pools, _ps = invoke(basic(endpoint, max_envelope_size=51200), "Get-CsPool", Count=3000)

    assert [pool.extended_properties["Index"] for pool in pools] == list(range(3000))


def test_execute_cmd_returns_output_and_exit_code(endpoint: WinRMEndpoint, engine: StubEngine) -> None:
    client = Client(
        "127.0.0.1",
        port=port_of(endpoint),
        username="admin",
        password="Pa55w.rd",
        ssl=False,
        auth="basic",
        encryption="never",
    )
    stdout, stderr, rc = client.execute_cmd("Bootstrapper.exe /Setup")

    assert (stdout, stderr, rc) == ("Bootstrapper.exe /Setup done\r\n", "reboot\r\n", 3010)
    assert [(exe, args) for _context, exe, args in engine.executions] == [("Bootstrapper.exe", ("/Setup",))]
