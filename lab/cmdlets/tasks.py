"""Windows' Task Scheduler and files, as the run-locally mechanism uses them (docs/operator.md).

A one-shot task runs ``powershell.exe -File <script> -Request <base64 JSON> -Result <path>`` as the user it
was registered for, in a logon on the server itself: not a remote management session, and with a
credential that reaches SQL Server (no second hop). The lab does not run PowerShell script text: it takes
the script's contract as given [I: the runner's script, checked only on Windows]: the request names the
modules to try, a cmdlet and its parameters; the result file receives ``{"objects": [...], "error":
{"message", "id", "category"} | null}``; the task's LastTaskResult is 0, or 1 after an error.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from xml.etree import ElementTree as ET

from lab import lync_facts
from lab.api import CommandCall, PowerShellError
from lab.cmdlets.base import Cmdlet, Invocation, ps_object
from lab.model import ScheduledTask

_TASK_NAMESPACE = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
_POWERSHELL = re.compile(r"(^|\\)powershell(\.exe)?$", re.IGNORECASE)


def set_content(inv: Invocation) -> None:
    """Write the value (lines joined as Windows does) to each file on this server."""
    text = "\r\n".join(inv.texts("Value"))
    files = inv.deployment.written.setdefault(inv.server, {})
    for path in inv.texts("Path"):
        files[path.lower()] = text


def get_content(inv: Invocation) -> None:
    """A file the lab wrote: one string with ``-Raw``, else one per line; not found: non-terminating."""
    for path in inv.texts("Path"):
        text = inv.deployment.written.get(inv.server, {}).get(path.lower())
        if text is None:
            inv.output.write_error(
                inv.error(
                    lync_facts.PATH_NOT_FOUND.format(path=path),
                    "PathNotFound",
                    category="ObjectNotFound",
                    target=path,
                )
            )
            continue
        for value in [text] if inv.flag("Raw") else text.split("\r\n"):
            inv.output.write_output(value)


def register_scheduled_task(inv: Invocation) -> None:
    """Register a task from its XML definition, to run as ``-User`` (whose password is checked)."""
    if inv.parameter_set != "Xml":
        raise inv.error("The lab registers tasks from -Xml only.", "NotSupported", category="NotImplemented")
    user = inv.text("User") or inv.user
    if not inv.check_password(user, inv.text("Password") or ""):
        raise inv.error(lync_facts.LOGON_FAILURE, "HRESULT 0x8007052e", category="AuthenticationError")
    name = inv.text("TaskName") or ""
    tasks = inv.deployment.tasks.setdefault(inv.server, {})
    if name.lower() in tasks and not inv.flag("Force"):
        raise inv.error(f"Cannot create a file when that file already exists. ({name})", "HRESULT 0x800700b7")
    command, arguments = _exec_action(inv, inv.text("Xml") or "")
    tasks[name.lower()] = ScheduledTask(name=name, command=command, arguments=arguments, user=user)


def start_scheduled_task(inv: Invocation) -> None:
    """Start the task: its request runs in a logon on this server, on a thread of its own."""
    task = _task(inv)
    request = _request(inv, task)
    if request is None:
        task.last_result = lync_facts.TASK_PROGRAM_NOT_FOUND
        return
    modules, call, result_path = request
    task.last_result = lync_facts.TASK_RUNNING
    server, written = inv.server, inv.deployment.written

    def done(objects: list[object], error: PowerShellError | None) -> None:
        problem = None
        if error is not None:
            problem = {"message": error.message, "id": error.error_id, "category": error.category}
        answer = {"objects": [str(o) for o in objects], "error": problem}
        written.setdefault(server, {})[result_path.lower()] = json.dumps(answer)
        task.last_result = 0 if error is None else 1

    inv.run_locally(task.user, modules, call, done)


def get_scheduled_task_info(inv: Invocation) -> None:
    """The task's last result (running, not yet run, or its exit code)."""
    task = _task(inv)
    inv.output.write_output(
        ps_object(
            lync_facts.TASK_INFO,
            TaskName=task.name,
            TaskPath="\\",
            LastTaskResult=task.last_result,
            NumberOfMissedRuns=0,
        )
    )


def unregister_scheduled_task(inv: Invocation) -> None:
    """Forget the tasks named (a run in progress goes on)."""
    tasks = inv.deployment.tasks.get(inv.server, {})
    for name in inv.texts("TaskName"):
        tasks.pop(name.lower(), None)


def _task(inv: Invocation) -> ScheduledTask:
    name = inv.text("TaskName") or ""
    task = inv.deployment.tasks.get(inv.server, {}).get(name.lower())
    if task is None:
        raise inv.error(
            lync_facts.TASK_NOT_FOUND.format(name=name),
            "CmdletizationQuery_NotFound_TaskName",
            category="ObjectNotFound",
        )
    return task


def _exec_action(inv: Invocation, xml: str) -> tuple[str, str]:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        raise inv.error(
            f"The task XML is malformed. {error}", "HRESULT 0x8004131a", category="InvalidArgument"
        ) from None
    command = root.findtext("t:Actions/t:Exec/t:Command", "", _TASK_NAMESPACE)
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", "", _TASK_NAMESPACE)
    if not command:
        raise inv.error("The task XML has no Exec action.", "HRESULT 0x80041319", category="InvalidArgument")
    return command, arguments


def _request(inv: Invocation, task: ScheduledTask) -> tuple[list[str], CommandCall, str] | None:
    """The modules, the command and the result path of a powershell.exe -File task; None when the task would
    not run it (another program, a script not on the server, a request that does not decode)."""
    words = shlex.split(task.arguments, posix=True)
    options = {words[i].lower(): words[i + 1] for i in range(len(words) - 1) if words[i].startswith("-")}
    script, encoded, result = options.get("-file"), options.get("-request"), options.get("-result")
    if not _POWERSHELL.search(task.command) or not script or not encoded or not result:
        return None
    if not inv.deployment.has_file(inv.server, script):
        return None
    try:
        request = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return None
    parameters = tuple((str(k), v) for k, v in dict(request.get("parameters", {})).items())
    modules = [str(m) for m in request.get("modules", [])]
    return modules, CommandCall(str(request.get("cmdlet", "")), parameters), result


CMDLETS = (
    Cmdlet("Set-Content", set_content),
    Cmdlet("Get-Content", get_content),
    Cmdlet("Register-ScheduledTask", register_scheduled_task),
    Cmdlet("Start-ScheduledTask", start_scheduled_task),
    Cmdlet("Get-ScheduledTaskInfo", get_scheduled_task_info),
    Cmdlet("Unregister-ScheduledTask", unregister_scheduled_task),
)
