"""PsrpShell against a real WinRM endpoint on loopback: what plugins get back, and how failures surface."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest
import requests

from lab.wsman import WinRMEndpoint, make_lab_tls
from plugins.kit.shell import (
    AuthenticationError,
    CmdletError,
    CommandInterrupted,
    CommandTimeout,
    ConnectionDropped,
    Credential,
    TransportError,
)
from tests.worker.engine_double import EngineDouble
from tests.worker.inventory_data import inventory_data, write_inventory
from worker.executor import PsrpShell, step_deadline
from worker.inventory import Inventory, ServerEntry, load_inventory

SERVER = "fe01.pool1.contoso.com"
USER = "CONTOSO\\lyncadmin"
PASSWORD = "Lab-Passw0rd!"
#: The endpoint's user directory: the bare name (the client logs on as DOMAIN\user).
USERS = {"lyncadmin": PASSWORD}


def _inventory(directory: Path, endpoint: WinRMEndpoint, **server: object) -> Inventory:
    data = inventory_data(endpoint.url)
    data["servers"][0].update({"auth": "ntlm", "ca_bundle": None, **server})
    return load_inventory(write_inventory(directory, data))


def _credentials(password: str = PASSWORD) -> Callable[[ServerEntry], Credential]:
    def lookup(_server: ServerEntry) -> Credential:
        return Credential(USER, password)

    return lookup


def _open_shells(endpoint: WinRMEndpoint) -> int:
    """How many shells (runspace pools) the endpoint holds open: the lab's own bookkeeping."""
    return len(endpoint._settings.service._shells)


@pytest.fixture
def engine() -> EngineDouble:
    return EngineDouble()


@pytest.fixture
def endpoint(engine: EngineDouble) -> Iterator[WinRMEndpoint]:
    # The inventory asks for encryption "never": the endpoint must allow it, as AllowUnencrypted=true would.
    listener = WinRMEndpoint(SERVER, engine, users=USERS, auth="ntlm", allow_unencrypted=True)
    listener.start()
    yield listener
    listener.close()


@pytest.fixture
def shell(tmp_path: Path, endpoint: WinRMEndpoint) -> Iterator[PsrpShell]:
    psrp = PsrpShell(_inventory(tmp_path, endpoint), credentials=_credentials(), command_timeout_s=30)
    yield psrp
    psrp.close_all()


def test_objects_arrive_with_type_names_and_plain_properties(shell: PsrpShell) -> None:
    result = shell.run(SERVER, "Get-CsPool", {"Identity": "pool1.contoso.com"})

    [pool] = result.objects
    assert pool.type_names[0] == "Microsoft.Rtc.Management.Xds.DisplayPool"
    assert pool.text == "pool1.contoso.com"
    assert pool.get("computers") == ["fe01.pool1.contoso.com", "fe02.pool1.contoso.com"]
    assert pool.get("Site") == {"Name": "Datacenter1"}
    assert str(pool.get("WhenChanged")).startswith("2024-05-01T12:30:00")
    assert pool.get("Servers") == 2
    assert json.loads(json.dumps(dict(pool.properties))) == dict(pool.properties)


def test_a_switch_arrives_as_a_switch_and_host_text_comes_back(
    shell: PsrpShell, engine: EngineDouble
) -> None:
    result = shell.run(SERVER, "Invoke-CsPoolFailover", {"PoolFqdn": "pool1.contoso.com", "WhatIf": True})

    [call] = [call for call in engine.calls if call.name == "Invoke-CsPoolFailover"]
    assert call.parameters == (("PoolFqdn", "pool1.contoso.com"), ("WhatIf", True))
    assert result.information == ['What if: Performing "Failover" on target "pool1.contoso.com".']
    assert result.warnings == ["Failover can take a while."]
    assert result.verbose == ["Checking the backup pool."]


def test_a_terminating_error_raises_cmdlet_error_with_its_id(shell: PsrpShell) -> None:
    with pytest.raises(CmdletError) as raised:
        shell.run(SERVER, "Get-CsNothing", {"Bogus": "x"})

    assert raised.value.message == "A parameter cannot be found that matches parameter name 'Bogus'."
    assert raised.value.error_id == "NamedParameterNotFound,Get-CsNothing"
    assert raised.value.category == "InvalidArgument"
    assert raised.value.server == SERVER


def test_non_terminating_errors_come_back_with_the_output(shell: PsrpShell) -> None:
    result = shell.run(SERVER, "Get-CsUser")

    assert [item.text for item in result.objects] == ["sip:alice@contoso.com"]
    assert result.errors == ["User bob not found."]


def test_the_runspace_pool_is_reused_between_commands(shell: PsrpShell, engine: EngineDouble) -> None:
    shell.run(SERVER, "Get-CsPool")
    shell.run(SERVER, "Get-CsPool")

    assert shell.pools_opened == 1
    assert engine.names() == ["Import-Module", "Get-CsPool", "Get-CsPool"]


def test_a_command_sent_while_the_pool_is_busy_gets_its_own_and_both_are_reused(
    tmp_path: Path, endpoint: WinRMEndpoint, engine: EngineDouble
) -> None:
    psrp = PsrpShell(_inventory(tmp_path, endpoint), credentials=_credentials(), command_timeout_s=5)
    ended: list[str] = []

    def hold() -> None:
        try:
            psrp.run(SERVER, "Wait-CsStop")
        except CommandTimeout:
            ended.append("timed out")

    busy = threading.Thread(target=hold)
    busy.start()
    try:
        while "Wait-CsStop" not in engine.names():
            time.sleep(0.01)
        psrp.run(SERVER, "Get-CsPool")
        assert busy.is_alive(), "the second command waited for the first one's pool"
    finally:
        busy.join()
    assert ended == ["timed out"]
    psrp.run(SERVER, "Get-CsPool")
    psrp.run(SERVER, "Get-CsPool")

    assert psrp.pools_opened == 2
    assert engine.names().count("Import-Module") == 2
    psrp.close_all()


def test_a_wrong_password_is_an_authentication_error(tmp_path: Path, endpoint: WinRMEndpoint) -> None:
    psrp = PsrpShell(_inventory(tmp_path, endpoint), credentials=_credentials("wrong"))

    with pytest.raises(AuthenticationError) as raised:
        psrp.run(SERVER, "Get-CsPool")

    assert "credential 'lab'" in raised.value.message and "check its password" in raised.value.message
    assert "wrong" not in str(raised.value)


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ConnectionError("vault.contoso.com: Max retries exceeded"), KeyError("lync/lab")],
    ids=["vault-down", "entry-missing"],
)
def test_a_failing_credential_lookup_is_an_authentication_error_naming_it(
    tmp_path: Path, endpoint: WinRMEndpoint, engine: EngineDouble, failure: Exception
) -> None:
    def vault(_server: ServerEntry) -> Credential:
        raise failure

    psrp = PsrpShell(_inventory(tmp_path, endpoint), credentials=vault)

    with pytest.raises(AuthenticationError) as raised:
        psrp.run(SERVER, "Get-CsPool")

    assert 'credential "lab"' in raised.value.message and "lync_failover_credentials" in raised.value.message
    assert type(failure).__name__ in raised.value.message and "cannot reach" not in raised.value.message
    assert engine.names() == []


def test_a_stopped_server_is_a_transport_error_and_a_restart_heals(
    shell: PsrpShell, endpoint: WinRMEndpoint
) -> None:
    shell.run(SERVER, "Get-CsPool")
    endpoint.stop()

    with pytest.raises(TransportError):
        shell.run(SERVER, "Get-CsPool")

    endpoint.start()
    assert shell.run(SERVER, "Get-CsPool").objects
    assert shell.pools_opened == 2


def test_a_restarted_server_is_reconnected_to_without_an_error(
    shell: PsrpShell, endpoint: WinRMEndpoint, engine: EngineDouble
) -> None:
    shell.run(SERVER, "Get-CsPool")
    endpoint.stop()
    endpoint.start()

    assert shell.run(SERVER, "Get-CsPool").objects
    assert shell.pools_opened == 2
    assert engine.names() == ["Import-Module", "Get-CsPool", "Import-Module", "Get-CsPool"]


def test_a_command_past_its_deadline_is_stopped_on_the_server(
    tmp_path: Path, endpoint: WinRMEndpoint, engine: EngineDouble
) -> None:
    psrp = PsrpShell(_inventory(tmp_path, endpoint), credentials=_credentials(), command_timeout_s=1)

    with pytest.raises(CommandTimeout, match="timed out after 1 s"):
        psrp.run(SERVER, "Wait-CsStop")

    assert engine.stopped.wait(10), "the server never saw the pipeline stopped"
    assert _open_shells(endpoint) == 0, "the timed-out session's runspace pool was left open on the server"
    assert psrp.run(SERVER, "Get-CsPool").objects


def test_the_step_deadline_bounds_all_its_commands_together(shell: PsrpShell, engine: EngineDouble) -> None:
    with step_deadline(2), pytest.raises(CommandTimeout, match="bounds the whole step"):
        shell.run(SERVER, "Get-CsPool")
        shell.run(SERVER, "Wait-CsStop")

    assert engine.stopped.wait(10), "the server never saw the pipeline stopped"
    with step_deadline(0), pytest.raises(CommandTimeout, match="time ran out before it was sent"):
        shell.run(SERVER, "Get-CsPool")
    assert engine.names() == ["Import-Module", "Get-CsPool", "Wait-CsStop"]


def test_an_executable_runs_in_the_cmd_shell(shell: PsrpShell, engine: EngineDouble) -> None:
    result = shell.run_executable(SERVER, "Bootstrapper.exe", ["/Setup"])

    assert result.exit_code == 0
    assert result.stdout == f"Bootstrapper.exe /Setup: done on {SERVER}\r\n"
    assert engine.executions == [("Bootstrapper.exe", ("/Setup",))]


def test_tls_is_verified_against_the_inventory_ca_bundle(tmp_path: Path, engine: EngineDouble) -> None:
    tls = make_lab_tls(tmp_path / "tls")
    listener = WinRMEndpoint(SERVER, engine, users=USERS, auth="basic", tls=tls.server_context())
    listener.start()
    try:
        unverified = PsrpShell(_inventory(tmp_path, listener, auth="basic"), credentials=_credentials())
        with pytest.raises(AuthenticationError, match="set ca_bundle"):
            unverified.run(SERVER, "Get-CsPool")

        verified = PsrpShell(
            _inventory(tmp_path, listener, auth="basic", ca_bundle=str(tls.ca_path)),
            credentials=_credentials(),
        )
        assert verified.run(SERVER, "Get-CsPool").objects
        verified.close_all()
    finally:
        listener.close()


class Drops:
    """An endpoint's transport fault that drops chosen requests: counted from ``arm()``, those with a body."""

    def __init__(self) -> None:
        self.chosen: Collection[int] = ()
        self.seen = 0
        self.dropped: list[int] = []

    def arm(self, chosen: Collection[int]) -> None:
        """Drop the requests numbered ``chosen`` (1 is the next one sent), from now on."""
        self.chosen, self.seen, self.dropped = chosen, 0, []

    def __call__(self, _server: str) -> bool:
        self.seen += 1
        if self.seen in self.chosen:
            self.dropped.append(self.seen)
            return True
        return False


@pytest.fixture
def drops() -> Drops:
    return Drops()


@pytest.fixture
def lossy(tmp_path: Path, engine: EngineDouble, drops: Drops) -> Iterator[PsrpShell]:
    """A PsrpShell to an endpoint that drops the requests ``drops`` chooses (NTLM, message encryption)."""
    listener = WinRMEndpoint(SERVER, engine, users=USERS, auth="ntlm", transport_fault=drops)
    listener.start()
    psrp = PsrpShell(_inventory(tmp_path, listener), credentials=_credentials(), command_timeout_s=30)
    yield psrp
    psrp.close_all()
    listener.close()


def test_a_dropped_receive_is_sent_again_even_for_a_change(
    lossy: PsrpShell, drops: Drops, engine: EngineDouble
) -> None:
    lossy.run(SERVER, "Get-CsPool")
    drops.arm({2})  # the Command, then its first Receive

    result = lossy.run(SERVER, "Invoke-CsPoolFailover", {"PoolFqdn": "pool1.contoso.com"})

    assert drops.dropped == [2]
    assert result.warnings == ["Failover can take a while."]
    assert engine.names() == ["Import-Module", "Get-CsPool", "Invoke-CsPoolFailover"]
    assert lossy.pools_opened == 1


def test_a_dropped_read_is_sent_again_as_a_new_pipeline_in_the_same_session(
    lossy: PsrpShell, drops: Drops, engine: EngineDouble
) -> None:
    lossy.run(SERVER, "Get-CsPool")
    drops.arm({1, 3})  # its Command; then the resent Command's first Receive

    result = lossy.run(SERVER, "Get-CsPool", {"Identity": "pool2.contoso.com"})

    assert drops.dropped == [1, 3]
    assert [pool.text for pool in result.objects] == ["pool2.contoso.com"]
    assert engine.names() == ["Import-Module", "Get-CsPool", "Get-CsPool"]
    assert lossy.pools_opened == 1


def test_a_dropped_command_of_a_change_is_not_sent_again(
    lossy: PsrpShell, drops: Drops, engine: EngineDouble
) -> None:
    lossy.run(SERVER, "Get-CsPool")
    drops.arm({1})

    with pytest.raises(CommandInterrupted) as raised:
        lossy.run(SERVER, "Invoke-CsPoolFailover", {"PoolFqdn": "pool1.contoso.com"})

    assert not isinstance(raised.value, ConnectionDropped), "a change that may have run is no mere drop"
    assert drops.dropped == [1]
    assert "Invoke-CsPoolFailover" not in engine.names(), "the change was sent again"


def test_a_dropped_session_opening_opens_a_new_one(
    lossy: PsrpShell, drops: Drops, engine: EngineDouble
) -> None:
    drops.arm({1})  # the Create of the runspace pool

    assert lossy.run(SERVER, "Get-CsPool").objects

    assert drops.dropped == [1]
    assert engine.names() == ["Import-Module", "Get-CsPool"]
    assert lossy.pools_opened == 1


def test_a_read_the_link_keeps_dropping_ends_as_connection_dropped(
    lossy: PsrpShell, drops: Drops, engine: EngineDouble
) -> None:
    lossy.run(SERVER, "Get-CsPool")
    drops.arm(range(1, 100))

    with pytest.raises(ConnectionDropped, match="dropped it 6 times"):
        lossy.run(SERVER, "Get-CsPool")

    assert drops.dropped[:6] == [1, 2, 3, 4, 5, 6]
    assert engine.names() == ["Import-Module", "Get-CsPool"]
