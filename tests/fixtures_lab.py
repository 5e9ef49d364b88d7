"""Fixture: a running lab (real WinRM endpoints on loopback) for a scenario, stopped after the test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lab.serve import LabServer


class RunningLab:
    """A started lab plus what a test needs to point workers at it."""

    def __init__(self, server: LabServer) -> None:
        self.server = server
        self.engine = server.engine
        self.inventory_path = server.inventory_path
        self.password_env = server.password_env
        self.control_url = server.control_url

    @property
    def inventory(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.inventory_path.read_text())
        return loaded

    @property
    def queues(self) -> list[str]:
        """Every site queue and the control queue of the lab's inventory."""
        inventory = self.inventory
        return [site["queue"] for site in inventory["sites"]] + [inventory["control_queue"]]

    def cmdlets(self) -> list[str]:
        """The names of the cmdlets the lab received, in order."""
        return [str(entry["cmdlet"]) for entry in self.engine.journal()]


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., RunningLab]]:
    """``lab_factory("cms-2013-primary", transport="https", auth="basic")`` starts a lab."""
    from lab.serve import LabOptions, LabServer

    started: list[LabServer] = []

    def start(scenario: str, **options: Any) -> RunningLab:
        directory = tmp_path / f"lab-{len(started)}"
        server = LabServer(LabOptions(scenario=scenario, directory=directory, **options))
        server.start()
        started.append(server)
        return RunningLab(server)

    yield start
    for server in started:
        server.stop()
