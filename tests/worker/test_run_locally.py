"""The run-locally mechanism against a running lab: Move-CsManagementServer, which "cannot be called from a
remote management session", runs through a one-shot scheduled task as the administrator, and nothing
secret is left where the lab (Windows) keeps records."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugins.kit.shell import CmdletError, Credential, ParameterValue
from tests.fixtures_lab import RunningLab
from worker import run_locally
from worker.executor import PsrpShell
from worker.inventory import ServerEntry, load_inventory

FE01, FE02, FE03 = (f"fe0{n}.pool2.contoso.com" for n in (1, 2, 3))
EXPORTS: dict[str, ParameterValue] = {
    "ConfigurationFileName": "c:\\CsConfigurationFile.zip",
    "LisConfigurationFileName": "c:\\CsLisConfigurationFile.zip",
    "Force": True,
}


def psrp_shell(lab: RunningLab, password: str | None = None) -> PsrpShell:
    def credential(_server: ServerEntry) -> Credential:
        return Credential(lab.engine.administrator, password or lab.server.password)

    return PsrpShell(load_inventory(lab.inventory_path), credentials=credential, command_timeout_s=30)


def test_move_cs_management_server_runs_in_a_one_shot_scheduled_task(
    lab_factory: Callable[..., RunningLab],
) -> None:
    lab = lab_factory("cms-2010")
    shell = psrp_shell(lab)
    shell.run(
        FE01, "Install-CsDatabase", {"CentralManagementDatabase": True, "SqlServerFqdn": "sql03.contoso.com"}
    )
    with pytest.raises(CmdletError, match="must be run locally"):
        shell.run(FE01, "Move-CsManagementServer", EXPORTS)
    seen = len(lab.engine.journal())

    result = shell.run_locally(FE01, "Move-CsManagementServer", EXPORTS)

    assert [o.text for o in result.objects][1:] == [FE02, FE03]
    assert lab.engine.state()["cms"]["pool"] == "pool2.contoso.com"  # type: ignore[index]
    steps = [(e["cmdlet"], e["user"], e["outcome"]) for e in lab.engine.journal(seen)]
    administrator = lab.engine.administrator
    # Over the session: the script, the task, its start, polls until it ended, its result, its removal. In
    # the task's own logon, as the administrator: the module, then the move.
    assert [s for s in steps if s[0] in ("Import-Module", "Move-CsManagementServer")][-2:] == [
        ("Import-Module", administrator, "ok"),
        ("Move-CsManagementServer", administrator, "ok"),
    ]
    over_the_session = [cmdlet for cmdlet, _user, _outcome in steps]
    for cmdlet in ("Set-Content", "Register-ScheduledTask", "Start-ScheduledTask", "Get-ScheduledTaskInfo"):
        assert cmdlet in over_the_session
    assert over_the_session[-2:] == ["Get-Content", "Unregister-ScheduledTask"]
    register = next(e for e in lab.engine.journal(seen) if e["cmdlet"] == "Register-ScheduledTask")
    assert register["parameters"]["Password"] == "***"  # type: ignore[index]
    assert lab.server.password not in str(lab.engine.journal())
    assert lab.engine.state()["deployment"]["tasks"] == {FE01: {}}  # type: ignore[index]


def test_the_cmdlets_error_comes_back_as_the_cmdlets_error(lab_factory: Callable[..., RunningLab]) -> None:
    lab = lab_factory("cms-2010")

    with pytest.raises(CmdletError) as caught:
        psrp_shell(lab).run_locally(FE01, "Move-CsManagementServer", EXPORTS)

    assert caught.value.message == (
        'The Central Management store database is not installed on SQL Server "sql03.contoso.com". '
        "Run Install-CsDatabase -CentralManagementDatabase first."
    )
    assert caught.value.error_id == "DatabaseNotInstalled,Move-CsManagementServer"


def test_a_wrong_password_fails_to_register_the_task_and_only_allowed_cmdlets_run(
    lab_factory: Callable[..., RunningLab],
) -> None:
    lab = lab_factory("cms-2010", auth="basic", transport="https")
    shell = psrp_shell(lab)
    with pytest.raises(CmdletError, match="is not one of the cmdlets run locally"):
        shell.run_locally(FE01, "Remove-Item", {"Path": "c:\\"})
    assert run_locally.ALLOWED == ("Move-CsManagementServer",)
    # The session's logon works (Basic), the task's does not: the Task Scheduler checks the password.
    lab.engine.accept_passwords(lambda _user, _password: False)
    with pytest.raises(CmdletError, match="The user name or password is incorrect"):
        shell.run_locally(FE01, "Move-CsManagementServer", EXPORTS)
