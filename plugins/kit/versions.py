"""The Lync Server versions as ``Get-CsService -CentralManagement`` reports them (Version), in one table."""

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


LYNC_2010 = LyncVersion(5, "Lync Server 2010", cms_failover=False)
LYNC_2013 = LyncVersion(6, "Lync Server 2013", cms_failover=True)
SFB_2015 = LyncVersion(7, "Skype for Business Server 2015", cms_failover=True)
#: Every version the built-in plugins know, by number.
VERSIONS = {version.number: version for version in (LYNC_2010, LYNC_2013, SFB_2015)}


def lync_version(number: int | None) -> LyncVersion | None:
    """The version with this number; None for an unknown number or none."""
    return VERSIONS.get(number) if number is not None else None


def version_name(number: int | None) -> str:
    """``Lync Server 2013``; ``version 9`` for a number the table does not know."""
    known = lync_version(number)
    return known.name if known is not None else f"version {number}"
