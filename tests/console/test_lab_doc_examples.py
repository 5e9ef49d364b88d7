"""docs/lab.md's fault examples name hosts the default scenario has, so they work as written."""

from __future__ import annotations

import json
import re

import yaml

from lab.scenario import DEFAULT_SCENARIO
from tests.console.cli_helpers import REPO


def test_the_next_hops_example_names_an_edge_pool_of_the_default_scenario() -> None:
    doc = (REPO / "docs" / "lab.md").read_text(encoding="utf-8")
    scenario = yaml.safe_load((REPO / "lab" / "scenarios" / f"{DEFAULT_SCENARIO}.yaml").read_text())
    edge_pools = {pool["fqdn"] for pool in scenario["edge_pools"]}
    front_end_pools = {pool["fqdn"] for pool in scenario["pools"]}

    body = re.search(r"""-d '(\{"next_hops".*?\})'""", doc)

    assert body is not None, "docs/lab.md shows a next_hops example"
    hops: dict[str, str] = json.loads(body.group(1))["next_hops"]
    assert set(hops) <= edge_pools and set(hops.values()) <= front_end_pools, (hops, edge_pools)
