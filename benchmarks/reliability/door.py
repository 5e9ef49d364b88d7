"""At the door: generated bad requests through the real runner, generated bad inventories through the loader
(and a few through a real worker start), and a PowerShell injection corpus, both as request arguments and as
cmdlet parameter values sent by the real executor."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from celery.exceptions import TimeoutError as ResultTimeout

from benchmarks.reliability.generated import (
    BadInventory,
    BadRequest,
    bad_inventories,
    bad_requests,
    broken,
    generate,
    launchers,
)
from benchmarks.reliability.rig import Rig
from benchmarks.reliability.table import Row, judged, progress
from plugins.kit.shell import RemoteError
from worker.credentials import resolve_credential
from worker.executor import PsrpShell
from worker.inventory import Inventory, InventoryError, load_inventory
from worker.rehearsal.stack import celery_command, spawn

BAD = 1000
#: --quick sends fewer bad requests through the runner (about 30 a second get through one control worker).
QUICK_BAD_REQUESTS = 250
WORKER_STARTS = 6
QUICK_WORKER_STARTS = 2
RESULT_DEADLINE_S = 120.0
WORKER_EXIT_DEADLINE_S = 60.0
#: What every argument refusal ends with: the list of what the launcher takes (it names every argument).
_TAKES = re.compile(r"\. lync\.\w+ takes: .*\Z", re.DOTALL)
#: PowerShell that must stay data: statement separators, subexpressions, escapes, quotes (ASCII and
#: typographic, which PowerShell also takes for quotes), pipes, newlines, call operators, here-strings.
CORPUS = (
    "; Remove-Item C:\\ -Recurse",
    "pool1.contoso.com; Remove-Item C:\\ -Recurse -Force",
    "$(Remove-Item C:\\ -Recurse)",
    "$(Stop-Computer -Force)",
    "${env:LAB_PASSWORD}",
    "@(Remove-Item C:\\)",
    "`; Remove-Item C:\\",
    "`$(Stop-Computer)",
    "x`nRemove-Item C:\\",
    "'; Remove-Item C:\\ -Recurse; '",
    '"; Remove-Item C:\\ -Recurse; "',
    "\u2018; Remove-Item C:\\ -Recurse; \u2019",
    "\u201c; Remove-Item C:\\ -Recurse; \u201d",
    "x | Remove-Item -Recurse",
    "x\nRemove-Item C:\\ -Recurse",
    "x\r\nStop-Computer -Force",
    "x & Remove-Item C:\\",
    "x && Remove-Item C:\\",
    "& { Remove-Item C:\\ }",
    "@'\nRemove-Item C:\\ -Recurse\n'@",
    '@"\n$(Remove-Item C:\\ -Recurse)\n"@',
    "x; Invoke-Expression 'Remove-Item C:\\'",
    "-Recurse",
    "--% Remove-Item C:\\",
    "<# #> Remove-Item C:\\",
    ']]><Obj RefId="9"/>',
    "_x000A_Remove-Item C:\\",
    "pool1.contoso.com\u037e Remove-Item C:\\",
)


@dataclass(frozen=True)
class Refusals:
    """What the runner did with requests it must refuse."""

    sent: int
    #: Commands the lab received meanwhile.
    commands: int
    #: Each request not refused with a RequestError naming its argument, said in a line.
    wrong: list[str]
    log_tracebacks: int
    result_tracebacks: int


def bad_request_rows(stack: Rig, inventory: Inventory, quick: bool) -> list[Row]:
    """1,000 generated bad requests through the real launchers: nothing runs, each a clear refusal."""
    requests = generate(bad_requests(inventory), QUICK_BAD_REQUESTS if quick else BAD)
    refusals = refuse(stack, requests)
    count = len(requests)
    title = f"{count} generated bad requests via the runner"
    kinds = Counter(request.kind for request in requests)
    progress(f"{title}: {', '.join(f'{kind} {n}' for kind, n in kinds.most_common())}")
    return refusal_rows(title, refusals)


def injection_rows(stack: Rig, inventory: Inventory) -> list[Row]:
    """The injection corpus in every text argument of every launcher (refused at the door), then as a cmdlet
    parameter value through the real executor (the lab must receive exactly that value)."""
    requests = [
        broken("injection", launcher, name, [payload] if kind == "phases" else payload)
        for launcher in launchers(inventory)
        for name, kind in launcher.fields.items()
        if kind in ("pool", "optional pool", "site", "optional site", "optional text", "phases")
        for payload in CORPUS
    ]
    rows = refusal_rows(
        f"injection corpus ({len(CORPUS)} payloads) as request arguments", refuse(stack, requests)
    )
    wrong = parameters_kept(stack, inventory)
    for line in wrong[:5]:
        progress(f"injection as a parameter value: {line}")
    rows.append(
        judged(
            "injection corpus as a cmdlet parameter value (executor → lab)",
            len(CORPUS),
            "the lab's journal shows exactly that cmdlet with exactly that value",
            f"{len(CORPUS) - len(wrong)}/{len(CORPUS)} exactly; {len(wrong)} otherwise",
            not wrong,
        )
    )
    return rows


def refuse(stack: Rig, requests: Sequence[BadRequest]) -> Refusals:
    """Send every request at once to its launcher; collect how each ended and what else happened."""
    since = stack.journal_mark()
    logs = {path: path.stat().st_size for path in stack.log_files()}
    sent = [(request, stack.send(request.task, request.args, request.kwargs)) for request in requests]
    wrong: list[str] = []
    tracebacks = 0
    for request, task_id in sent:
        result = stack.result(task_id)
        try:
            error = result.get(timeout=RESULT_DEADLINE_S, propagate=False)
        except ResultTimeout:
            wrong.append(f"{shown(request)}: no result within {RESULT_DEADLINE_S:.0f} s")
            continue
        tracebacks += "Traceback" in f"{error}{result.traceback or ''}"
        problem = refusal_problem(request, error)
        if problem:
            wrong.append(problem)
    for line in wrong[:5]:
        progress(f"not refused as it should be: {line}")
    new_logs = "".join(path.read_text(errors="replace")[size:] for path, size in logs.items())
    return Refusals(len(requests), len(stack.journal(since)), wrong, new_logs.count("Traceback"), tracebacks)


def refusal_problem(request: BadRequest, error: object) -> str:
    """What is wrong with how the runner answered a bad request ("" when it refused it clearly)."""
    if type(error).__name__ != "RequestError":
        return f"{shown(request)}: {type(error).__name__}: {str(error)[:200]}"
    said = _TAKES.sub("", str(error))
    if not any(name in said for name in request.names):
        return f"{shown(request)}: the refusal does not name {' or '.join(request.names)}: {said[:200]}"
    return ""


def refusal_rows(title: str, refusals: Refusals) -> list[Row]:
    """Three rows: nothing reached a server, each refused naming its argument, no traceback anywhere."""
    count = refusals.sent
    return [
        judged(
            f"{title}: nothing runs",
            count,
            "0 remote commands",
            f"{refusals.commands} commands",
            refusals.commands == 0,
        ),
        judged(
            f"{title}: a clear refusal each",
            count,
            "100% RequestError naming the argument",
            f"{count - len(refusals.wrong)}/{count}",
            not refusals.wrong,
        ),
        judged(
            f"{title}: no traceback",
            count,
            "0 in worker logs and results",
            f"{refusals.log_tracebacks} in worker logs, {refusals.result_tracebacks} in results",
            refusals.log_tracebacks == 0 and refusals.result_tracebacks == 0,
        ),
    ]


def inventory_rows(stack: Rig, directory: Path, quick: bool) -> list[Row]:
    """1,000 generated bad inventories through the loader, and a few through a real worker start."""
    base = json.loads(stack.lab.inventory_path.read_text(encoding="utf-8"))
    inventories = generate(bad_inventories(base), BAD)
    directory.mkdir(parents=True, exist_ok=True)
    wrong = [problem for bad in inventories if (problem := load_problem(bad, directory))]
    for line in wrong[:5]:
        progress(f"bad inventory not refused as it should be: {line}")
    first = {bad.kind: bad for bad in reversed(inventories)}
    chosen = list(first.values())[: QUICK_WORKER_STARTS if quick else WORKER_STARTS]
    failed_starts = [problem for bad in chosen if (problem := start_problem(bad, directory, stack.redis_url))]
    for line in failed_starts:
        progress(f"worker start on a bad inventory: {line}")
    count = len(inventories)
    return [
        judged(
            f"{count} generated bad inventories via the loader",
            count,
            "each an InventoryError naming the file, nothing else",
            f"{count - len(wrong)}/{count}",
            not wrong,
        ),
        judged(
            "bad inventories via `celery -A worker worker`",
            len(chosen),
            "exit 2, no traceback",
            f"{len(chosen) - len(failed_starts)}/{len(chosen)}",
            not failed_starts,
        ),
    ]


def load_problem(bad: BadInventory, directory: Path) -> str:
    """What is wrong with how the loader took a bad inventory ("" when it raised a clear InventoryError)."""
    path = write(bad, directory)
    try:
        load_inventory(path)
    except InventoryError as error:
        return "" if path.name in str(error) else f"{bad.kind}: the error does not name the file: {error}"
    except Exception as error:
        return f"{bad.kind}: {type(error).__name__}: {error}"
    return f"{bad.kind}: loaded without an error: {(bad.text or '')[:200]}"


def start_problem(bad: BadInventory, directory: Path, redis_url: str) -> str:
    """What is wrong with how a worker started on a bad inventory ends ("" for exit 2 without a traceback)."""
    path = write(bad, directory)
    log = directory / f"worker-{path.stem}.log"
    environment = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(path)}
    child = spawn("worker", celery_command("worker", "-Q", "lync.control"), log, environment)
    try:
        code = child.process.wait(timeout=WORKER_EXIT_DEADLINE_S)
    except subprocess.TimeoutExpired:
        child.stop()
        return f"{bad.kind}: the worker started"
    output = log.read_text(errors="replace")
    if code != 2 or "Traceback" in output:
        return f"{bad.kind}: exit {code}: {output[-300:]}"
    return ""


def write(bad: BadInventory, directory: Path) -> Path:
    """The inventory's file (none for a missing one), named after its defect."""
    path = directory / f"inventory-{re.sub(r'[^a-z]+', '-', bad.kind)}{bad.suffix}"
    if bad.text is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(bad.text, encoding="utf-8")
    return path


def parameters_kept(stack: Rig, inventory: Inventory) -> list[str]:
    """Each payload sent as ``Get-CsService -Identity <payload>`` by the real executor whose lab journal shows
    anything but exactly that command with exactly that value (the session's Import-Module aside)."""
    down = set(stack.state()["down_servers"])
    front_ends = {pool.fqdn for pool in inventory.front_end_pools()}
    server = next(
        entry.fqdn for entry in inventory.servers if entry.pool in front_ends and entry.fqdn not in down
    )
    shell = PsrpShell(inventory, credentials=partial(resolve_credential, inventory=inventory))
    wrong = []
    try:
        for payload in CORPUS:
            since = stack.journal_mark()
            answer = ""
            try:
                shell.run(server, "Get-CsService", {"Identity": payload})
            except RemoteError as error:  # an identity that names nothing: the lab says so
                answer = f" (it answered: {error})"
            received = [
                (e["cmdlet"], e["parameters"]) for e in stack.journal(since) if e["cmdlet"] != "Import-Module"
            ]
            if received != [("Get-CsService", {"Identity": payload})]:
                wrong.append(f"{payload!r}: the lab received {received!r}{answer}")
    finally:
        shell.close_all()
    return wrong


def shown(request: BadRequest) -> str:
    """A bad request in a line."""
    text = f"{request.kind}: {request.task} args={request.args!r} kwargs={request.kwargs!r}"
    return text if len(text) <= 240 else text[:240] + "…"
