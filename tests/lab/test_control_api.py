"""The lab's control API over real HTTP (urllib): health, state, the journal of what a pypsrp client sent,
verification before and after the fix, fault settings and the errors a wrong request gets."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.fixtures_lab import RunningLab
from tests.lab.test_lab_pypsrp import FE01, POOL1, POOL2, run, runspace

EDGE1 = "edge1.contoso.com"
ADMIN = "CONTOSO\\lyncadmin"


def call(lab: RunningLab, path: str, body: bytes | None = None) -> tuple[int, Any]:
    """GET ``path`` (or POST ``body``): the HTTP status and the decoded JSON answer."""
    request = Request(lab.control_url + path, data=body, method="GET" if body is None else "POST")
    try:
        with urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def get(lab: RunningLab, path: str) -> Any:
    """The answer to a GET that must succeed."""
    status, answer = call(lab, path)
    assert status == 200, answer
    return answer


@pytest.fixture
def lab(lab_factory: Callable[..., RunningLab]) -> RunningLab:
    """The Edge scenario: the fix is two cmdlets (Set-CsEdgeServer, Invoke-CsPoolFailover)."""
    return lab_factory("edge-other-site")


def fix_the_edge_and_fail_over(lab: RunningLab) -> None:
    """The correct run for edge-other-site, through pypsrp."""
    steps: list[tuple[str, dict[str, object]]] = [
        ("Set-CsEdgeServer", {"Identity": f"EdgeServer:{EDGE1}", "Registrar": f"Registrar:{POOL2}"}),
        ("Invoke-CsPoolFailover", {"PoolFqdn": POOL1, "DisasterMode": True}),
    ]
    with runspace(lab) as pool:
        for cmdlet, parameters in steps:
            _output, ps = run(pool, cmdlet, **parameters)
            assert not ps.had_errors, [str(e) for e in ps.streams.error]


def test_health_names_the_scenario(lab: RunningLab) -> None:
    assert get(lab, "/health") == {"ok": True, "scenario": "edge-other-site"}


def test_state_shows_the_disaster(lab: RunningLab) -> None:
    state = get(lab, "/state")

    assert state["cms"]["pool"] == POOL2 and state["cms"]["available"] is True
    assert state["edge_next_hops"] == {EDGE1: POOL1}
    assert state["down_servers"] == ["fe01.pool1.contoso.com", "fe02.pool1.contoso.com", "sql01.contoso.com"]
    assert state["users"]["sip:alice@contoso.com"] == POOL1


def test_journal_since_n_lists_what_pypsrp_sent(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        run(pool, "Get-CsPool")
        since = get(lab, "/journal")[-1]["seq"]
        run(pool, "Set-CsEdgeServer", Identity=f"EdgeServer:{EDGE1}", registrar=f"Registrar:{POOL2}")
        run(pool, "Get-CsUser", Identity="sip:nobody@contoso.com")

    entries = get(lab, f"/journal?since={since}")

    assert [(e["seq"], e["server"], e["user"], e["cmdlet"], e["outcome"]) for e in entries] == [
        (since + 1, FE01, ADMIN, "Set-CsEdgeServer", "ok"),
        (since + 2, FE01, ADMIN, "Get-CsUser", "error"),
    ]
    assert entries[0]["parameters"] == {"Identity": f"EdgeServer:{EDGE1}", "Registrar": f"Registrar:{POOL2}"}
    assert entries[1]["error"] == 'Management object not found for identity "sip:nobody@contoso.com".'
    assert all(e["started"] and e["ended"] for e in entries)


def test_journal_since_must_be_a_number(lab: RunningLab) -> None:
    status, answer = call(lab, "/journal?since=last")
    assert status == 400
    assert "since must be a whole number" in answer["error"]


def test_verify_reports_the_differences_until_the_failover_is_done(lab: RunningLab) -> None:
    before = get(lab, "/verify")
    assert before["ok"] is False
    assert f"Edge pool {EDGE1} uses {POOL1} as next hop, expected {POOL2}" in before["differences"]

    fix_the_edge_and_fail_over(lab)

    assert get(lab, "/verify") == {"ok": True, "differences": []}


def test_post_faults_answers_the_new_settings_and_get_reads_them(lab: RunningLab) -> None:
    spec = {"latency": {"invoke-cspoolfailover": 900}, "latency_scale": 0.01, "fail_next": {"Get-CsUser": 2}}
    status, answer = call(lab, "/faults", json.dumps(spec).encode())

    assert status == 200
    assert answer["latency"] == {"Invoke-CsPoolFailover": 900.0}
    assert (answer["latency_scale"], answer["fail_next"]) == (0.01, {"Get-CsUser": 2})
    assert get(lab, "/faults") == answer


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{latency", "the body is not JSON"),
        (b'["down"]', "POST /faults takes a JSON object"),
        (b'{"slowness": 3}', '"slowness"'),
        (b'{"latency": {"Get-CsNothing": 3}}', '"Get-CsNothing" is not a command this lab answers'),
        (b'{"transport_fault_rate": {"*": 1.5}}', "transport_fault_rate of * must be between 0 and 1.0"),
        (
            b'{"latency_scale": 0.5, "down": ["fe09.pool2.contoso.com"]}',
            '"fe09.pool2.contoso.com" is not a server',
        ),
        (
            b'{"latency_scale": 0.5, "next_hops": {"edge9.contoso.com": "pool2.contoso.com"}}',
            '"edge9.contoso.com" is not an Edge pool',
        ),
        (
            b'{"next_hops": {"edge1.contoso.com": "pool9.contoso.com"}}',
            "'pool9.contoso.com' is not a Front End",
        ),
    ],
)
def test_a_bad_fault_body_is_400_naming_the_problem_and_changes_nothing(
    lab: RunningLab, body: bytes, named: str
) -> None:
    before = get(lab, "/faults")

    status, answer = call(lab, "/faults", body)

    assert status == 400
    assert named in answer["error"]
    assert get(lab, "/faults") == before


def test_post_next_hops_drifts_the_topology_and_blocks_the_failover_again(lab: RunningLab) -> None:
    fix_the_edge_and_fail_over(lab)
    before = get(lab, "/faults")

    status, answer = call(lab, "/faults", json.dumps({"next_hops": {EDGE1: POOL1}}).encode())

    assert (status, answer) == (200, before)
    assert get(lab, "/state")["edge_next_hops"] == {EDGE1: POOL1}
    assert (
        f"Edge pool {EDGE1} uses {POOL1} as next hop, expected {POOL2}" in get(lab, "/verify")["differences"]
    )


@pytest.mark.parametrize(("path", "body"), [("/nothing", None), ("/state", b"{}")])
def test_an_unknown_route_is_404_listing_the_routes(lab: RunningLab, path: str, body: bytes | None) -> None:
    status, answer = call(lab, path, body)

    assert status == 404
    for route in ("GET /state", "GET /journal", "GET /verify", "GET /faults", "POST /faults", "GET /health"):
        assert route in answer["error"]


def test_concurrent_downs_and_ups_all_answer_and_leave_engine_and_endpoint_agreeing(lab: RunningLab) -> None:
    server = "fe02.pool2.contoso.com"
    bodies = [json.dumps({"down" if i % 2 else "up": [server]}).encode() for i in range(40)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = [status for status, _answer in pool.map(lambda body: call(lab, "/faults", body), bodies)]

    assert statuses == [200] * len(bodies)
    assert lab.server.endpoints[server].running == lab.engine.is_up(server)
    call(lab, "/faults", json.dumps({"up": [server]}).encode())
    with runspace(lab, server) as runspace_pool:
        assert run(runspace_pool, "Get-CsPool")[0]


def test_an_unexpected_failure_is_500_with_a_json_error(lab: RunningLab) -> None:
    def broken() -> None:
        raise RuntimeError("the endpoint could not restart")

    lab.engine.on_change(broken)

    status, answer = call(lab, "/faults", json.dumps({"down": ["fe02.pool2.contoso.com"]}).encode())

    assert status == 500
    assert "the endpoint could not restart" in answer["error"]
