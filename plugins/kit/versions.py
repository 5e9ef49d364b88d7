"""The Lync Server versions as ``Get-CsService -CentralManagement`` reports them (Version), in one table.

Sources: the cmdlet reference's "Applicable" lines (MicrosoftDocs/office-docs-powershell); the management
shell pages ("Import-Module Lync", "Import-Module SkypeforBusiness"); the paired-pools deployment pages of
2013, 2015 and 2019 (Bootstrapper's folder). Version 8 = 2019 is confirmed by a 2019 topology's
``ServiceVersion="8"``; 5 = 2010 follows the sequence [I].
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LyncVersion:
    """One version of Lync Server and what the failover procedure does differently on it."""

    number: int
    name: str
    #: True: backup pairing exists and a CMS hosted here fails over with Invoke-CsManagementServerFailover
    #: (seed step 5); False (Lync 2010): no pairing, the CMS moves by Install-CsDatabase and
    #: Move-CsManagementServer (seed step 6).
    cms_failover: bool
    #: The management shell's module: what a remoting session imports before running Lync cmdlets.
    module: str
    #: The folder of Bootstrapper.exe on its servers.
    deployment_folder: str
    #: Parameters the reference lists for Invoke-CsPoolFailover and Invoke-CsPoolFailback on this version
    #: beyond Lync Server 2013's.
    pool_failover_extras: tuple[str, ...] = ()

    @property
    def bootstrapper(self) -> str:
        """Bootstrapper's full path, quoted for cmd.exe (the folder has spaces)."""
        return f'"{self.deployment_folder}\\Bootstrapper.exe"'


#: Skype for Business Server's additions to Invoke-CsPoolFailover (Failback has the first and the last).
_SFB_POOL_FAILOVER = ("DatabaseCommandTimeoutInSeconds", "ServicesStopDelayMins", "SkipDataVerification")

LYNC_2010 = LyncVersion(
    5,
    "Lync Server 2010",
    cms_failover=False,
    module="Lync",
    deployment_folder="C:\\Program Files\\Microsoft Lync Server 2010\\Deployment",
)
LYNC_2013 = LyncVersion(
    6,
    "Lync Server 2013",
    cms_failover=True,
    module="Lync",
    deployment_folder="C:\\Program Files\\Microsoft Lync Server 2013\\Deployment",
)
SFB_2015 = LyncVersion(
    7,
    "Skype for Business Server 2015",
    cms_failover=True,
    module="SkypeForBusiness",
    deployment_folder="C:\\Program Files\\Skype for Business Server 2015\\Deployment",
    pool_failover_extras=_SFB_POOL_FAILOVER,
)
SFB_2019 = LyncVersion(
    8,
    "Skype for Business Server 2019",
    cms_failover=True,
    module="SkypeForBusiness",
    deployment_folder="C:\\Program Files\\Skype for Business Server 2019\\Deployment",
    pool_failover_extras=_SFB_POOL_FAILOVER,
)
#: Every version the built-in plugins know, by number.
VERSIONS = {version.number: version for version in (LYNC_2010, LYNC_2013, SFB_2015, SFB_2019)}
#: The modules to try, in order, on a server whose version the inventory does not give: field scripts load
#: SkypeForBusiness, else Lync.
MODULES_TO_TRY = (SFB_2015.module, LYNC_2013.module)


def lync_version(number: int | None) -> LyncVersion | None:
    """The version with this number; None for an unknown number or none."""
    return VERSIONS.get(number) if number is not None else None


def version_name(number: int | None) -> str:
    """``Lync Server 2013``; ``version 9`` for a number the table does not know."""
    known = lync_version(number)
    return known.name if known is not None else f"version {number}"
