"""Run a cmdlet that must run locally ("it cannot be called from a remote management session":
Move-CsManagementServer) through a one-shot scheduled task on the server, as Ansible's become does.

Over the remoting session the worker writes a fixed script (:data:`SCRIPT`, shipped here, never built from
input), registers a task that runs it as the administrator (the session's credential, given to the Task
Scheduler, which logs on locally: no remote session, and a credential that reaches SQL Server), starts it,
polls its LastTaskResult, reads the result file and unregisters the task. The request (modules, cmdlet,
parameters) reaches the script as base64 JSON data; the script allows only :data:`ALLOWED` cmdlets and
splats the parameters. The result file stays on the server as a record (no secret in it).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from plugins.kit.shell import ParameterValue

#: The only cmdlets the script runs.
ALLOWED = ("Move-CsManagementServer",)
#: Where the script and the results live on the server (exists on every Windows Server).
DIRECTORY = "C:\\ProgramData"
SCRIPT_PATH = f"{DIRECTORY}\\lync-failover-run-local.ps1"
#: LastTaskResult while the task runs, and before its first run (Task Scheduler's SCHED_S_TASK_RUNNING,
#: SCHED_S_TASK_HAS_NOT_RUN).
STILL_RUNNING = (0x41301, 0x41303)

SCRIPT = """\
# lync-failover: run one allowed cmdlet in a local logon (written by the worker; see worker/run_locally.py)
param([Parameter(Mandatory = $true)][string]$Request, [Parameter(Mandatory = $true)][string]$Result)
$ErrorActionPreference = 'Stop'
$allowed = @('@ALLOWED@')
$answer = @{ objects = @(); error = $null }
try {
    $r = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Request)) | ConvertFrom-Json
    if ($allowed -notcontains $r.cmdlet) { throw "lync-failover runs only $($allowed -join ', ') locally" }
    $loaded = $false
    foreach ($module in $r.modules) {
        if (-not $loaded) { try { Import-Module -Name $module; $loaded = $true } catch { $last = $_ } }
    }
    if (-not $loaded) { throw $last }
    $parameters = @{}
    foreach ($p in $r.parameters.PSObject.Properties) { $parameters[$p.Name] = $p.Value }
    $answer.objects = @(& $r.cmdlet @parameters | ForEach-Object { "$_" })
} catch {
    $answer.error = @{
        message = $_.Exception.Message
        id = $_.FullyQualifiedErrorId
        category = "$($_.CategoryInfo.Category)"
    }
}
$answer | ConvertTo-Json -Depth 4 | Set-Content -Path $Result -Encoding UTF8
if ($answer.error) { exit 1 }
""".replace("@ALLOWED@", "', '".join(ALLOWED))

_TASK_XML = """\
<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>lync-failover: one command that must run locally</Description>
  </RegistrationInfo>
  <Principals>
    <Principal id="Author"><LogonType>Password</LogonType><RunLevel>HighestAvailable</RunLevel></Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <ExecutionTimeLimit>PT2H</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>powershell.exe</Command>
      <Arguments>{arguments}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


#: A cmdlet and its parameters, as the session sends them.
Command = tuple[str, dict[str, ParameterValue]]
#: Writes the fixed script (the same text every time: writing it again is harmless).
WRITE_SCRIPT: Command = ("Set-Content", {"Path": SCRIPT_PATH, "Value": SCRIPT})


@dataclass(frozen=True)
class LocalRun:
    """One run: the task's name, its definition, where its result goes, and the commands that drive it."""

    task_name: str
    task_xml: str
    result_path: str

    def register(self, username: str, password: str) -> Command:
        """Register the task to run as ``username`` (the Task Scheduler keeps the password until removal)."""
        task = {"TaskName": self.task_name, "Xml": self.task_xml, "User": username, "Password": password}
        return "Register-ScheduledTask", {**task, "Force": True}

    def start(self) -> Command:
        """Start it (it runs asynchronously)."""
        return "Start-ScheduledTask", {"TaskName": self.task_name}

    def poll(self) -> Command:
        """Its LastTaskResult: still running, or its exit code."""
        return "Get-ScheduledTaskInfo", {"TaskName": self.task_name}

    def read_result(self) -> Command:
        """The result file the script wrote."""
        return "Get-Content", {"Path": self.result_path, "Raw": True}

    def unregister(self) -> Command:
        """Remove the task (and the password the Task Scheduler held)."""
        return "Unregister-ScheduledTask", {"TaskName": self.task_name, "Confirm": False}


def prepare(cmdlet: str, parameters: Mapping[str, ParameterValue], modules: list[str]) -> LocalRun:
    """The task for one run of ``cmdlet`` (one of :data:`ALLOWED`); ValueError for any other."""
    if cmdlet.lower() not in (a.lower() for a in ALLOWED):
        raise ValueError(f"{cmdlet} is not one of the cmdlets run locally ({', '.join(ALLOWED)})")
    run_id = uuid.uuid4().hex
    request = {"modules": modules, "cmdlet": cmdlet, "parameters": dict(parameters)}
    encoded = base64.b64encode(json.dumps(request).encode()).decode()
    result_path = f"{DIRECTORY}\\lync-failover-{run_id}.json"
    arguments = (
        f'-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{SCRIPT_PATH}" '
        f'-Request {encoded} -Result "{result_path}"'
    )
    return LocalRun(f"lync-failover-{run_id}", _TASK_XML.format(arguments=escape(arguments)), result_path)


@dataclass(frozen=True)
class Outcome:
    """What the script wrote: the cmdlet's objects as text, or its error."""

    objects: list[str]
    error_message: str = ""
    error_id: str = ""
    category: str = ""


def read_outcome(text: str) -> Outcome:
    """The result file's JSON; an Outcome with an error when it cannot be read."""
    try:
        answer = json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return Outcome(
            [], f"the run-locally result is not JSON: {text[:200]!r}", "RunLocallyResultUnreadable"
        )
    objects = answer.get("objects") or []
    objects = [str(o) for o in (objects if isinstance(objects, list) else [objects])]
    error = answer.get("error")
    if not isinstance(error, dict):
        return Outcome(objects)
    return Outcome(
        objects, str(error.get("message", "")), str(error.get("id", "")), str(error.get("category", ""))
    )
