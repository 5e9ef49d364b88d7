"""``python -m lab serve`` as an operator runs it: a real process that writes the inventory, says where
everything is without printing the password, refuses bad scenarios with exit code 2, stops on SIGTERM and
resumes a saved state."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest
import requests
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lab.engine import LabEngine
from lab.scenario import load_scenario, scenario_names

REPOSITORY = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0
EDGE_OTHER_SITE_SERVERS = {
    "fe01.pool1.contoso.com": "lync.site.datacenter1",
    "fe02.pool1.contoso.com": "lync.site.datacenter1",
    "edge01.edge1.contoso.com": "lync.site.datacenter1",
    "fe01.pool2.contoso.com": "lync.site.datacenter2",
    "fe02.pool2.contoso.com": "lync.site.datacenter2",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def environment(password: str | None) -> dict[str, str]:
    """The test's environment with ``LAB_PASSWORD`` set to ``password`` or removed."""
    env = {k: v for k, v in os.environ.items() if k != "LAB_PASSWORD"}
    if password is not None:
        env["LAB_PASSWORD"] = password
    return env


def wait_for(
    condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes], output: Path
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` if the deadline passes or the lab exits."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the lab exited ({process.returncode}) before {what}:\n{output.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {STARTUP_SECONDS} s:\n{output.read_text()}")
        time.sleep(0.05)


def get_json(url: str, data: bytes | None = None) -> Any:
    with urlopen(Request(url, data=data, method="POST" if data else "GET"), timeout=10) as reply:
        return json.loads(reply.read())


def answers(url: str) -> bool:
    try:
        return get_json(url) is not None
    except (URLError, ConnectionError):
        return False


class ServedLab:
    """One ``python -m lab serve`` process; its output goes to a file, read after it exits."""

    def __init__(
        self, directory: Path, output_path: Path, *options: str, password: str | None = None
    ) -> None:
        self.directory = directory
        self.inventory_path = directory / "inventory.json"
        self.output_path = output_path
        port = free_port()
        self.control_url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "lab",
            "serve",
            "--directory",
            str(directory),
            "--control-port",
            str(port),
        ]
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(
                [*command, *options],
                cwd=REPOSITORY,
                env=environment(password),
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self) -> None:
        """Until the inventory is written and the control API answers."""
        wait_for(self.inventory_path.exists, "an inventory", self.process, self.output_path)
        wait_for(
            lambda: answers(self.control_url + "/health"), "a control API", self.process, self.output_path
        )

    @property
    def inventory(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.inventory_path.read_text())
        return loaded

    def terminate(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything the lab printed."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        return code, self.output_path.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServedLab]]:
    """``serve(*options, password=None)`` starts a lab in ``tmp_path/lab`` and waits until it is ready."""
    started: list[ServedLab] = []

    def start(*options: str, password: str | None = None) -> ServedLab:
        lab = ServedLab(tmp_path / "lab", tmp_path / f"serve-{len(started)}.out", *options, password=password)
        started.append(lab)
        lab.wait_until_ready()
        return lab

    yield start
    for lab in started:
        lab.kill()


def run_to_exit(tmp_path: Path, *options: str) -> tuple[int, str]:
    """A serve that is expected to exit by itself: its code and output."""
    done = subprocess.run(
        [sys.executable, "-m", "lab", "serve", "--directory", str(tmp_path / "lab"), *options],
        cwd=REPOSITORY,
        env=environment(None),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )
    return done.returncode, done.stdout + done.stderr


def get_cs_pool(lab: ServedLab, fqdn: str, password: str) -> list[Any]:
    """Get-CsPool through pypsrp at the server's endpoint and credential, as the inventory gives them."""
    inventory = lab.inventory
    server = next(s for s in inventory["servers"] if s["fqdn"] == fqdn)
    url = urlsplit(server["endpoint"])
    username = inventory["credentials"][server["credential"]]["username"]
    wsman = WSMan(
        "127.0.0.1", port=url.port, username=username, password=password, ssl=False, auth=server["auth"]
    )
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-CsPool")
        return ps.invoke()


def test_serve_writes_the_inventory_and_says_where_everything_but_the_password_is(
    serve: Callable[..., ServedLab],
) -> None:
    lab = serve("--scenario", "edge-other-site")
    inventory = lab.inventory
    password_file = lab.directory / "lab.password"
    password = password_file.read_text().strip()

    assert inventory["format"] == "lync-failover-inventory/1"
    assert inventory["control_queue"] == "lync.control"
    queues = {site["name"]: site["queue"] for site in inventory["sites"]}
    sites = {pool["fqdn"]: pool["site"] for pool in inventory["pools"]}
    assert {s["fqdn"]: queues[sites[s["pool"]]] for s in inventory["servers"]} == EDGE_OTHER_SITE_SERVERS
    assert all(urlsplit(s["endpoint"]).hostname == "127.0.0.1" for s in inventory["servers"])
    assert inventory["credentials"] == {
        "lab": {
            "username": "CONTOSO\\lyncadmin",
            "password_env": "LAB_PASSWORD",
            "password_file": "lab.password",
        }
    }
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert len(get_cs_pool(lab, "fe01.pool2.contoso.com", password)) == 3

    code, output = lab.terminate()

    assert code == 0
    assert lab.control_url in output
    assert str(lab.inventory_path) in output
    assert "lab.password" in output
    assert password not in output


def test_a_password_from_lab_password_is_neither_written_nor_printed(serve: Callable[..., ServedLab]) -> None:
    lab = serve("--scenario", "edge-other-site", password="Lab-Pa55-from-env")

    assert not (lab.directory / "lab.password").exists()
    assert "password_file" not in lab.inventory["credentials"]["lab"]
    code, output = lab.terminate()
    assert code == 0
    assert "from LAB_PASSWORD" in output
    assert "Lab-Pa55-from-env" not in output


def test_an_unknown_scenario_exits_2_listing_the_scenarios(tmp_path: Path) -> None:
    code, output = run_to_exit(tmp_path, "--scenario", "nosuch")

    assert code == 2
    assert '"nosuch"' in output
    for name in scenario_names():
        assert name in output


def test_an_invalid_scenario_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    shipped = (REPOSITORY / "lab" / "scenarios" / "edge-other-site.yaml").read_text().splitlines()
    broken = tmp_path / "broken-site.yaml"
    broken.write_text("\n".join([*shipped[:1], "colour: blue", *shipped[1:]]) + "\n")

    code, output = run_to_exit(tmp_path, "--scenario", str(broken))

    assert code == 2
    assert 'broken-site.yaml, line 2: unknown key "colour"' in output
    assert not (tmp_path / "lab" / "inventory.json").exists()


def test_sigterm_saves_the_state_and_a_restart_resumes_it(
    serve: Callable[..., ServedLab], tmp_path: Path
) -> None:
    state = tmp_path / "lab-state.json"
    first = serve("--scenario", "edge-other-site", "--state", str(state))
    get_json(first.control_url + "/faults", json.dumps({"down": ["fe02.pool2.contoso.com"]}).encode())

    code, output = first.terminate()
    assert code == 0
    assert state.exists()
    assert f"state saved to {state}" in output

    first.inventory_path.unlink()
    second = serve("--scenario", "edge-other-site", "--state", str(state))
    assert "fe02.pool2.contoso.com" in get_json(second.control_url + "/state")["down_servers"]
    password = (second.directory / "lab.password").read_text().strip()
    with pytest.raises(requests.exceptions.ConnectionError):
        get_cs_pool(second, "fe02.pool2.contoso.com", password)
    assert len(get_cs_pool(second, "fe01.pool2.contoso.com", password)) == 3
    assert second.terminate()[0] == 0


def test_a_state_file_in_a_directory_not_yet_made_is_saved_on_sigterm(
    serve: Callable[..., ServedLab], tmp_path: Path
) -> None:
    state = tmp_path / "not" / "yet" / "lab-state.json"
    lab = serve("--scenario", "edge-other-site", "--state", str(state))

    code, output = lab.terminate()

    assert code == 0, output
    assert f"lab stopped; state saved to {state}" in output
    assert json.loads(state.read_text())["scenario"] == "edge-other-site"


def test_a_corrupt_state_file_exits_2_naming_it(tmp_path: Path) -> None:
    state = tmp_path / "lab-state.json"
    state.write_text('{"scenario": "edge-other-site"')

    code, output = run_to_exit(tmp_path, "--scenario", "edge-other-site", "--state", str(state))

    assert code == 2
    assert f"{state}: cannot resume" in output
    assert "Traceback" not in output


def test_resuming_a_state_of_another_scenario_exits_2_naming_both(tmp_path: Path) -> None:
    state = tmp_path / "lab-state.json"
    LabEngine.from_scenario(load_scenario("cms-2010")).save(state)

    code, output = run_to_exit(tmp_path, "--scenario", "edge-same-site", "--state", str(state))

    assert code == 2
    assert '"cms-2010"' in output and '"edge-same-site"' in output
    assert "drop --state" in output and f"delete {state}" in output
    assert not (tmp_path / "lab" / "inventory.json").exists()


def test_resuming_without_scenario_serves_the_state_files_scenario(
    serve: Callable[..., ServedLab], tmp_path: Path
) -> None:
    state = tmp_path / "lab-state.json"
    LabEngine.from_scenario(load_scenario("edge-other-site")).save(state)

    lab = serve("--state", str(state))

    assert get_json(lab.control_url + "/health")["scenario"] == "edge-other-site"
    assert lab.terminate()[0] == 0


def test_basic_over_http_is_refused_with_exit_2(tmp_path: Path) -> None:
    code, output = run_to_exit(tmp_path, "--auth", "basic", "--transport", "http")

    assert code == 2
    assert "--auth basic with --transport https" in output
