"""The exact commands each scenario's failover sends, in order (seed step in brackets).

One line per command, ``server cmdlet -Param value``; ``Import-Module`` is left out (session set-up). Lines
marked ``~`` come from steps that run in parallel (one per server): each server's lines keep their order,
the servers interleave as they will.
"""

from __future__ import annotations

DISCOVERY = """
fe01.pool2 Get-CsPoolBackupRelationship -PoolFqdn pool1.contoso.com -LocalStore
fe01.pool2 Invoke-CsManagementServerFailover -WhatIf
fe01.pool2 Get-CsService -CentralManagement
fe01.pool2 Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus
"""
#: The CMS is healthy: its replicas are read during discovery.
REPLICAS = "fe01.pool2 Get-CsManagementStoreReplicationStatus\n"
#: The discover phase's last reads: the Edge pools, then a sample of the users homed on pool1.
EDGES = """fe01.pool2 Get-CsService -EdgeServer
fe01.pool2 Get-CsUser -Filter RegistrarPool -eq "pool1.contoso.com" -ResultSize 10
"""
#: cms2010.bootstrap's check on one Front End: is the CMS service (its Master Replicator Agent) there?
CMS_SERVICE_CHECK = "Get-CsWindowsService -Name RTCMASTER -ErrorAction SilentlyContinue"


def pool_failover(*users: str) -> str:
    """Seed step 7 (PoolState read by the check, again just before the failover is sent), then the
    verification: PoolState, the sampled users' pool information, and the example site plugin's read of the
    backup pool."""
    infos = "".join(
        f"fe01.pool2 Get-CsUserPoolInfo -Identity sip:{user}@contoso.com -LocalStore\n" for user in users
    )
    return f"""
fe01.pool2 Get-CsRegistrarConfiguration -Identity Service:Registrar:pool1.contoso.com
fe01.pool2 Get-CsRegistrarConfiguration -Identity Service:Registrar:pool1.contoso.com
fe01.pool2 Invoke-CsPoolFailover -PoolFqdn pool1.contoso.com -DisasterMode -Verbose
fe01.pool2 Get-CsRegistrarConfiguration -Identity Service:Registrar:pool1.contoso.com
{infos}fe01.pool2 Get-CsPool -Identity pool2.contoso.com
"""


#: Most scenarios home alice and bob on pool1; the drill's default scenario adds carol.
POOL = pool_failover("alice", "bob")


#: Marks a line of a parallel step.
PARALLEL = "~ "


def cms_service_checks(*servers: str) -> str:
    """The CMS answers on the failover target: each Front End is checked for the CMS service, at once."""
    return "".join(f"{PARALLEL}{server} {CMS_SERVICE_CHECK}\n" for server in servers)


def bootstrapped(*servers: str) -> str:
    """Bootstrapper on each server, at once: its CMS service check, then setup."""
    setup = "Bootstrapper.exe -arguments ['/Setup']"
    return "".join(
        f"{PARALLEL}{server} {CMS_SERVICE_CHECK}\n{PARALLEL}{server} {setup}\n" for server in servers
    )


def cms_2013(server: str, pool: str, primary: str, mirror: str) -> str:
    """Seed step 5 on ``server`` of Backup_Pool ``pool``: mirror state, failover in the documented form (the
    topology's primary, its mirror added, whichever is principal), validate, replicas."""
    return f"""
{server} Get-CsService -UserDatabase
{server} Get-CsDatabaseMirrorState -DatabaseType CentralMgmt -PoolFqdn {pool}.contoso.com -LocalStore
{server} Get-CsService -CentralManagement
{server} Invoke-CsManagementServerFailover -BackupSqlServerFqdn {primary}.contoso.com \
-BackupSqlInstanceName rtc \
-BackupMirrorSqlServerFqdn {mirror}.contoso.com -BackupMirrorSqlInstanceName rtc -Force
{server} Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus
{server} Get-CsManagementStoreReplicationStatus
"""


def cms_backup_of(pool: str) -> str:
    """Seed step 2 for CMS_Pool: its backup pool, asked on pool2's first Front End."""
    return f"fe01.pool2 Get-CsPoolBackupRelationship -PoolFqdn {pool}.contoso.com -LocalStore\n"


#: The CMS on the failed pool1, failed over to its backup pool2 (mirrored on sql03/sql04) by the 2013 path:
#: the same commands whichever partner is principal, whatever order Get-CsService lists the CMS services
#: in, and on Skype for Business Server (the module differs, not the commands).
CMS_POOL1_TO_POOL2 = (
    DISCOVERY + cms_backup_of("pool1") + EDGES + cms_2013("fe01.pool2", "pool2", "sql03", "sql04")
)

EXPECTED = {
    "cms-2013-primary": CMS_POOL1_TO_POOL2 + pool_failover("alice", "bob", "carol"),
    "cms-2013-mirror": CMS_POOL1_TO_POOL2 + pool_failover("alice", "bob", "carol"),
    # The CMS is on pool0, a Lync 2010 pool with no backup pairing to ask for: Backup_Pool is the failover
    # target, pool2. Bootstrapper runs where the CMS service is not yet (all but the mover, fe01).
    "cms-2010": DISCOVERY
    + EDGES
    + """
fe01.pool2 Get-CsService -UserDatabase
fe01.pool2 Test-Path -Path ['c:\\\\CsConfigurationFile.zip']
fe01.pool2 Test-Path -Path ['c:\\\\CsLisConfigurationFile.zip']
fe01.pool2 Get-CsService -CentralManagement
fe01.pool2 Install-CsDatabase -CentralManagementDatabase -Clean -SqlServerFqdn sql03.contoso.com \
-SqlInstanceName rtc
fe01.pool2 Get-CsService -CentralManagement
fe01.pool2 Set-Content -Path ['C:\\\\ProgramData\\\\lync-failover-run-local.ps1'] -Value <text>
fe01.pool2 Register-ScheduledTask -TaskName lync-failover-<id> -Xml <text> -User CONTOSO\\lyncadmin \
-Password *** -Force
fe01.pool2 Start-ScheduledTask -TaskName lync-failover-<id>
fe01.pool2 Move-CsManagementServer -ConfigurationFileName c:\\CsConfigurationFile.zip \
-LisConfigurationFileName c:\\CsLisConfigurationFile.zip -Force
fe01.pool2 Get-Content -Path ['C:\\\\ProgramData\\\\lync-failover-<id>.json'] -Raw
fe01.pool2 Unregister-ScheduledTask -TaskName ['lync-failover-<id>'] -Confirm False
fe01.pool2 Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus
fe01.pool2 Get-CsManagementStoreReplicationStatus
"""
    + bootstrapped("fe02.pool2", "fe03.pool2")
    + POOL,
    "cms-elsewhere-healthy": DISCOVERY + REPLICAS + EDGES + POOL,
    "cms-elsewhere-unavailable": DISCOVERY
    + cms_backup_of("pool3")
    + EDGES
    + cms_2013("fe01.pool4", "pool4", "sql07", "sql08")
    + POOL,
    "edge-same-site": DISCOVERY
    + REPLICAS
    + EDGES
    + cms_service_checks("fe01.pool2", "fe02.pool2")
    + """
fe01.pool3 Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com
fe01.pool3 Set-CsEdgeServer -Identity EdgeServer:edge1.contoso.com -Registrar Registrar:pool3.contoso.com
fe01.pool3 Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com
fe01.pool3 Enable-CsTopology
fe01.pool3 Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com
"""
    + POOL,
    "edge-other-site": DISCOVERY
    + REPLICAS
    + EDGES
    + cms_service_checks("fe01.pool2", "fe02.pool2")
    + """
fe01.pool2 Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com
fe01.pool2 Set-CsEdgeServer -Identity EdgeServer:edge1.contoso.com -Registrar Registrar:pool2.contoso.com
fe01.pool2 Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com
"""
    + POOL,
}


def cms_2013_unmirrored(server: str, pool: str, primary: str) -> str:
    """Seed step 5 to a Backup_Pool whose CMS database has no mirror: no mirror parameters."""
    return f"""
{server} Get-CsService -UserDatabase
{server} Get-CsDatabaseMirrorState -DatabaseType CentralMgmt -PoolFqdn {pool}.contoso.com -LocalStore
{server} Get-CsService -CentralManagement
{server} Invoke-CsManagementServerFailover -BackupSqlServerFqdn {primary}.contoso.com \
-BackupSqlInstanceName rtc -Force
{server} Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus
{server} Get-CsManagementStoreReplicationStatus
"""


#: The scenarios of "what real deployments do" (docs/lab-scenarios.md).
EXPECTED |= {
    "backup-unmirrored": DISCOVERY
    + cms_backup_of("pool1")
    + EDGES
    + cms_2013_unmirrored("fe01.pool2", "pool2", "sql03")
    + POOL,
    "cms-standby-listed-first": CMS_POOL1_TO_POOL2 + POOL,
    "sfb-2019": CMS_POOL1_TO_POOL2 + POOL,
    "sfb-mixed": DISCOVERY
    + cms_backup_of("pool3")
    + EDGES
    + cms_2013_unmirrored("fe01.pool4", "pool4", "sql07")
    + POOL,
}


def expected_commands(scenario: str) -> list[str]:
    """The scenario's expected command lines (parallel ones marked)."""
    return [line for line in EXPECTED[scenario].splitlines() if line.strip()]


def aligned(received: list[str], expected: list[str]) -> tuple[list[str], list[str]]:
    """Both lists without marks, each run of parallel lines put in server order in both (each server's own
    lines keep their order), so that equal lists mean: the right commands, in an order the plan allows."""
    plain = [line.removeprefix(PARALLEL) for line in expected]
    got = list(received)
    start = 0
    while start < len(expected):
        if not expected[start].startswith(PARALLEL):
            start += 1
            continue
        end = start
        while end < len(expected) and expected[end].startswith(PARALLEL):
            end += 1
        by_server = lambda line: line.split()[0]  # noqa: E731 - sorted() is stable
        got[start:end] = sorted(got[start:end], key=by_server)
        plain[start:end] = sorted(plain[start:end], key=by_server)
        start = end
    return got, plain
