"""Every detail of Lync that the lab states: type names, error texts, versions, file names.

Source: Microsoft's cmdlet reference, MicrosoftDocs/office-docs-powershell skype/skype-ps/SkypeForBusiness/.
Values marked [I] are our inference, kept here so that one place corrects them.
"""

from __future__ import annotations

# --- versions -------------------------------------------------------------------------------------------

LYNC_2010 = 5  # [I: the sequence 6 = 2013, 7 = 2015, 8 = 2019]
LYNC_2013 = 6  # [C]
SFB_2015 = 7  # [C]
#: [C: a Skype for Business Server 2019 topology's services carry ServiceVersion="8"]
SFB_2019 = 8
#: The products the reference's "Applicable" lines name, by the version number Get-CsService reports.
PRODUCTS = {
    "Lync Server 2010": LYNC_2010,
    "Lync Server 2013": LYNC_2013,
    "Skype for Business Server 2015": SFB_2015,
    "Skype for Business Server 2019": SFB_2019,
}
#: ``ProductVersion`` of a replica, by pool version (RTM builds; Get-CsServerVersion's "5.0.8308" for 2013
#: [C], the others [I]).
PRODUCT_VERSIONS = {
    LYNC_2010: "4.0.7577.0",
    LYNC_2013: "5.0.8308.0",
    SFB_2015: "6.0.9319.0",
    SFB_2019: "7.0.2046.0",
}

#: The module each version's management shell loads (compared without case): "Import-Module Lync" (2013),
#: "Import-Module SkypeforBusiness" (2015, 2019) [C: the management shell pages]; Lync 2010's is "Lync" [I].
MODULES = {LYNC_2010: "Lync", LYNC_2013: "Lync", SFB_2015: "SkypeForBusiness", SFB_2019: "SkypeForBusiness"}
#: Bootstrapper's folder per version [C: the paired-pools deployment pages of 2013, 2015 and 2019]; 2010 [I].
DEPLOYMENT_FOLDERS = {
    LYNC_2010: "C:\\Program Files\\Microsoft Lync Server 2010\\Deployment",
    LYNC_2013: "C:\\Program Files\\Microsoft Lync Server 2013\\Deployment",
    SFB_2015: "C:\\Program Files\\Skype for Business Server 2015\\Deployment",
    SFB_2019: "C:\\Program Files\\Skype for Business Server 2019\\Deployment",
}

# --- binding: what the reference leaves open ----------------------------------------------------------

#: Parameter sets the reference marks no default for although its pages call the cmdlet without a
#: set-choosing parameter (``Get-CsService -PoolFqdn``, ``Get-CsPool``): the Identity set. [I]
DEFAULT_PARAMETER_SETS = {
    "Get-CsService": "Identity",
    "Get-CsPool": "Identity",
    "Get-CsRegistrarConfiguration": "Identity",
    "Set-CsRegistrarConfiguration": "Identity",
}
#: Values the reference does not list that a version accepts: Lync 2013's page lists "CMS" for
#: -DatabaseType, but Microsoft's Lync 2013 procedures (and the seed) pass "CentralMgmt", the value the
#: 2015 page lists for the same enum. [I: the 2013 enum has CentralMgmt; its "CMS" line is kept too]
ACCEPTED_VALUE_ADDITIONS: dict[tuple[str, str], tuple[tuple[int, tuple[str, ...]], ...]] = {
    ("Get-CsDatabaseMirrorState", "DatabaseType"): ((LYNC_2013, ("CentralMgmt",)),),
}
#: Full .NET names of the enum types the reference names by short name (for conversion errors). [I: the
#: reference gives only the short names; the namespaces follow the cmdlets' own]
ENUM_TYPES = {
    "DatabaseNameType": "Microsoft.Rtc.Management.Deployment.DatabaseNameType",
    "MirrorRole": "Microsoft.Rtc.Management.Deployment.MirrorRole",
    "PoolState": "Microsoft.Rtc.Management.WritableConfig.Settings.Registrar.PoolState",
    "BackupCategory": "Microsoft.Rtc.Management.Hadr.BackupCategory",
    "AuthenticationMechanism": "Microsoft.Rtc.SyntheticTransactions.AuthenticationMechanism",
    "TestPathType": "Microsoft.PowerShell.Commands.TestPathType",
    "FileSystemCmdletProviderEncoding": "Microsoft.PowerShell.Commands.FileSystemCmdletProviderEncoding",
    "RunLevelEnum": "Microsoft.PowerShell.Cmdletization.GeneratedTypes.ScheduledTask.RunLevelEnum",
    "ActionPreference": "System.Management.Automation.ActionPreference",
}

# --- type names: [C] the reference's OUTPUTS, [I] where it names none ------------------------------------

OBJECT = "System.Object"
#: Get-CsPool [C]. Edge pools are listed with the same type [I].
CLUSTER = "Microsoft.Rtc.Management.Deploy.Internal.Cluster"
#: Get-CsService -CentralManagement: the page names no type for this switch; the Display<Role> pattern of
#: the other switches (DisplayEdgeServer [C]) is followed. [I]
DISPLAY_CENTRAL_MANAGEMENT = "Microsoft.Rtc.Management.Xds.DisplayCentralManagementService"
DISPLAY_EDGE_SERVER = "Microsoft.Rtc.Management.Xds.DisplayEdgeServer"  # [C: Set-CsEdgeServer's page]
DISPLAY_REGISTRAR = "Microsoft.Rtc.Management.Xds.DisplayRegistrar"  # [I: the Display<Role> pattern]
DISPLAY_USER_DATABASE = "Microsoft.Rtc.Management.Xds.DisplayUserDatabase"  # [I: the Display<Role> pattern]
BACKUP_RELATION = "Microsoft.Rtc.Management.Hadr.BackupService.BackupRelation"  # [C]
STORE_STATUS = "Microsoft.Rtc.Management.Xds.CentralManagementStoreStatusResult"  # [C]
REPLICA_STATE = "Microsoft.Rtc.Management.Xds.ReplicaState"  # [C]
MIRROR_STATE = "Microsoft.Rtc.Management.Deployment.DatabaseMirrorState"  # [C]
#: Test-CsDatabase's output [C: its page]. Its properties (SqlServerFqdn, SqlInstanceName, DatabaseName,
#: ExpectedVersion, InstalledVersion, Succeed) are as administrators read it after an update
#: (``Test-CsDatabase ... | Format-Table DatabaseName, *Version``); the page lists none. [I]
TASK_OUTPUT = "Microsoft.Rtc.SyntheticTransactions.TaskOutput"
REGISTRAR_SETTINGS = "Microsoft.Rtc.Management.WritableConfig.Settings.Registrar.RegistrarSettings"  # [C]
AD_USER = "Microsoft.Rtc.Management.ADConnect.Schema.ADUser"  # [C]
NT_SERVICE = "Microsoft.Rtc.Management.Deployment.Core.NTService"  # [C]
USER_POOL_INFO = "Microsoft.Rtc.Management.Xds.GetOCsUserPoolInfoCmdlet+UserInformation"  # [C]
#: Get-CsBackupServiceStatus: the reference says only System.Object. [C]
BACKUP_SERVICE_STATUS = OBJECT
#: Its per-module entries (``BackupModules``: Identity, ExportStatus, ImportStatus [C: Microsoft's TechNet
#: blog "What does the status reported by Get-CsBackupServiceStatus mean"]); the type name [I].
BACKUP_MODULE_STATUS = "Microsoft.Rtc.Management.Hadr.BackupService.BackupModuleStatus"

# --- Windows services (Get-CsWindowsService) ------------------------------------------------------------

#: Every Front End runs these: name -> (display name, role name). [C: service names; I: display and role
#: names (NTService's RoleName [C property])]
FRONT_END_SERVICES = {
    "RTCSRV": ("Lync Server Front-End", "Registrar"),
    "RTCCMSAGT": ("Lync Server Replica Replicator Agent", "ReplicaReplicatorAgent"),
}
#: Only where the Central Management Server service is installed (Move-CsManagementServer's server,
#: Bootstrapper's, every Front End of a CMS pool failed over to). [C names; I display and role names]
CMS_SERVICES = {
    "RTCMASTER": ("Lync Server Master Replicator Agent", "CentralManagement"),
    "RTCFTA": ("Lync Server File Transfer Agent", "CentralManagement"),
}
#: An Edge server's replica agent (every replica runs one). [I: the only Edge service the lab lists]
EDGE_SERVICES = {"RTCCMSAGT": ("Lync Server Replica Replicator Agent", "ReplicaReplicatorAgent")}
RUNNING = "Running"
STOPPED = "Stopped"

# --- the run-locally mechanism: Windows' Task Scheduler and files --------------------------------------

#: Get-ScheduledTaskInfo's type [C: its page's OUTPUTS].
TASK_INFO = "Microsoft.Management.Infrastructure.CimInstance#MSFT_TaskDynamicInfo"
#: LastTaskResult values: SCHED_S_TASK_RUNNING, SCHED_S_TASK_HAS_NOT_RUN [C: Task Scheduler error codes].
TASK_RUNNING = 0x41301
TASK_NOT_RUN = 0x41303
#: A wrong password for the task's user [C: Win32 ERROR_LOGON_FAILURE's text; I: Register-ScheduledTask
#: reports it so].
LOGON_FAILURE = "The user name or password is incorrect. (Exception from HRESULT: 0x8007052E)"
#: An unknown task [I: the CIM cmdlets' "No MSFT_ScheduledTask objects found" wording].
TASK_NOT_FOUND = "No MSFT_ScheduledTask objects found with property 'TaskName' equal to '{name}'."
#: The task's program is not powershell.exe with a script the lab knows. [I]
TASK_PROGRAM_NOT_FOUND = 0x80070002
#: Get-Content of a missing file [C: PowerShell's provider text].
PATH_NOT_FOUND = "Cannot find path '{path}' because it does not exist."

# --- the Backup Service (Get-CsBackupServiceStatus) ------------------------------------------------------

#: Export and import states [C: Microsoft's TechNet blog "What does the status reported by
#: Get-CsBackupServiceStatus mean"]: export FinalState, SteadyState, NonSteadyState, NotInitialized,
#: ErrorState; import NormalState, ErrorState.
EXPORT_STATES = ("FinalState", "SteadyState", "NonSteadyState", "NotInitialized", "ErrorState")
EXPORT_NORMAL = "SteadyState"
IMPORT_NORMAL = "NormalState"
IMPORT_ERROR = "ErrorState"
#: The backup modules by -Category [C: module names on the blog and Invoke-CsBackupServiceSync's page;
#: I: which category holds which module].
BACKUP_MODULES = {
    "UserData": ("UserServices.PresenceFocus", "ConfServices.DataConf"),
    "CMS": ("CentralMgmt.CMSMaster",),
    "RGS": ("ApplicationServer.RGSDataStore", "ApplicationServer.RGSFileStore"),
}
#: "the ExportStatus for CentralMgmt.CMSMaster is NotInitialized" on a pool that is not the active CMS
#: master [C: the same blog].
CMS_MASTER_MODULE = "CentralMgmt.CMSMaster"
NOT_INITIALIZED = "NotInitialized"
#: No Front End of the pool answers, so its Backup Service cannot be asked. [I]
BACKUP_SERVICE_UNREACHABLE = (
    'Unable to get the backup service status of pool "{pool}": no Front End server answers.'
)

# --- databases ------------------------------------------------------------------------------------------

#: ``-DatabaseType`` values (lower case) and the databases each names; Lync 2013's "CMS" is its name for
#: the Central Management database. [I: names beyond xds/lis and lcscdr]
DATABASES = {
    "centralmgmt": ("xds", "lis"),
    "cms": ("xds", "lis"),
    "user": ("rtcxds", "rtcshared"),
    "archiving": ("LcsLog",),
    "monitoring": ("LcsCDR", "QoEMetrics"),
}
#: The database types a Front End pool's back end holds besides the Central Management database. [I]
POOL_DATABASE_TYPES = ("user",)
#: MirroringStatusOnPrimary/-Secondary of a database without a mirror: empty, as Microsoft's sample shows
#: next to DatabaseInaccessibleOrMirroringNotEnabled on both sides. [C: Get-CsDatabaseMirrorState's page]
NO_MIRRORING_STATUS = ""
PRINCIPAL = "Principal"
MIRROR = "Mirror"
INACCESSIBLE = "DatabaseInaccessibleOrMirroringNotEnabled"
SYNCHRONIZED = "Synchronized"
DISCONNECTED = "Disconnected"

# --- PowerShell's own errors (5.1, research: binder/FINDINGS.md) ------------------------------------------
# On Windows the suffix of a binder error's FullyQualifiedErrorId is the cmdlet's implementing .NET class
# (e.g. "Microsoft.Rtc.Management.Hadr.Invo..." for Invoke-CsPoolFailOver in a field report, cut there); the
# lab uses the cmdlet's name for every error id. [I: the class names are not published]

PARAMETER_NOT_FOUND = "A parameter cannot be found that matches parameter name '{name}'."
POSITIONAL_NOT_FOUND = "A positional parameter cannot be found that accepts argument '{value}'."
#: ``{matches}`` is each canonical name as " -Name", joined without separator.
AMBIGUOUS_PARAMETER = (
    "Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
    "Possible matches include:{matches}."
)
MISSING_ARGUMENT = (
    "Missing an argument for parameter '{name}'. Specify a parameter of type '{type}' and try again."
)
#: ``{names}`` is each canonical name prefixed by one space.
MISSING_MANDATORY = "Cannot process command because of one or more missing mandatory parameters:{names}."
AMBIGUOUS_PARAMETER_SET = "Parameter set cannot be resolved using the specified named parameters."
ALREADY_BOUND = (
    "Cannot bind parameter because parameter '{name}' is specified more than once. To provide multiple "
    "values to parameters that can accept multiple values, use the array syntax. For example, "
    '"-parameter value1,value2,value3".'
)
#: A switch (or bool) given a value that is not a bool or a number; note the trailing space.
CANNOT_CONVERT_SWITCH = "Cannot convert '{value_type}' to the type '{type}' required by parameter '{name}'. "
NULL_NOT_ALLOWED = "Cannot bind argument to parameter '{name}' because it is null."
VALIDATE_SET = (
    "Cannot validate argument on parameter '{name}'. The argument \"{value}\" does not belong to the set "
    '"{values}" specified by the ValidateSet attribute. Supply an argument that is in the set and then try '
    "the command again."
)
CANNOT_CONVERT = (
    'Cannot bind parameter \'{name}\'. Cannot convert value "{value}" to type "{type}". Error: "{error}"'
)
NO_ENUM_NAME = (
    "Unable to match the identifier name {value} to a valid enumerator name. Specify one of the following "
    "enumerator names and try again:\n{names}"
)
SEVERAL_ENUM_NAMES = (
    "The identifier name {value} cannot be processed because it is either too similar or identical to the "
    "following enumerator names: {names}. Use a more specific identifier name."
)
NOT_A_NUMBER = "Input string was not in a correct format."
NOT_A_TIMESPAN = "String was not recognized as a valid TimeSpan."
COMMAND_NOT_FOUND = (
    "The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
    "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
    "and try again."
)
MODULE_NOT_FOUND = (
    "The specified module '{name}' was not loaded because no valid module file was found in any module "
    "directory."
)
PIPELINE_STOPPED = "The pipeline has been stopped."
#: cmd.exe's answer to a program in a folder that does not exist (another version's deployment folder).
CMD_PATH_NOT_FOUND = "The system cannot find the path specified."
#: cmd.exe's answer to an unknown program.
CMD_NOT_RECOGNIZED = (
    "'{name}' is not recognized as an internal or external command,\noperable program or batch file."
)

# --- Lync's errors --------------------------------------------------------------------------------------

POOL_NOT_FOUND = 'Cannot find pool "{pool}" in the topology.'  # [I]
EDGE_POOL_NOT_FOUND = 'Cannot find Edge pool "{pool}" in the topology.'  # [I]
NO_BACKUP_POOL = 'Pool "{pool}" has no backup pool assigned in the topology.'  # [I]
CMS_UNAVAILABLE = (
    "Cannot connect to the Central Management store. The Central Management store is not available."  # [I]
)
DATABASE_NOT_PRESENT = 'Database "{database}" is not present on pool "{pool}".'
USER_NOT_FOUND = 'Management object not found for identity "{identity}".'
#: Get-CsUser -Filter: the one OPATH form the lab evaluates, users by registrar pool ("return only users who
#: have accounts on a specified Registrar pool", Get-CsUser page [C]); any other filter is refused [I: the
#: lab's scope, not the product's].
REGISTRAR_POOL_FILTER = r"""^\s*RegistrarPool\s+-eq\s+["']([^"']+)["']\s*$"""
FILTER_NOT_SIMULATED = (
    "The lab evaluates only -Filter 'RegistrarPool -eq \"<pool FQDN>\"', not: {filter}"  # [I]
)
REGISTRAR_CONFIGURATION_NOT_FOUND = (
    'Cannot get "RegistrarConfiguration" "{identity}" because it does not exist.'  # [I]
)
WHATIF_HOSTED_ON = 'What if: The Central Management Server is currently hosted on pool "{pool}".'  # [I]
WHATIF_OPERATION = 'What if: Performing the operation "{command}" on target "{pool}".'
#: "You can only invoke the failover to the database defined in the Topology Builder." [C: the reference's
#: note; I: this wording]
NOT_TOPOLOGY_DATABASE = (
    'SQL Server "{sql}" is not the {role} of the Central Management database that the topology defines for '
    'pool "{pool}" ({expected}). You can only invoke the failover to the database defined in the Topology '
    "Builder."
)
#: "If the database defined in the Topology Builder is mirrored, add the BackupMirrorSqlServerFqdn and
#: BackupMirrorSqlInstanceName parameters." [C: the reference's note; I: this wording]
MIRROR_NOT_GIVEN = (
    'The Central Management database of pool "{pool}" is mirrored on "{mirror}": add the '
    "BackupMirrorSqlServerFqdn and BackupMirrorSqlInstanceName parameters."
)
#: "This cmdlet should be run on a server in the pool to which you want to failerover the CMS." [C: note;
#: I: this wording]
CMS_FAILOVER_WRONG_POOL = (
    'Run this cmdlet on a server of the pool whose back end is "{sql}": the Central Management Server fails '
    "over to the pool the cmdlet runs in."
)
#: Neither SQL server of the target database answers. [I]
CMS_DATABASE_UNREACHABLE = 'Cannot connect to the Central Management database of pool "{pool}": {servers}.'
#: A second failover or move while one is under way. [C: Microsoft support, "Can't perform a CMS failover in
#: Skype for Business Server 2015", scenario 1, which prefixes it with "###50020:XDSForceReplication: "]
CMS_BEING_MOVED = (
    "This central management store is being moved to another location. No changes can be made until this "
    "move is complete"
)
NO_CMS_DATABASE_IN_POOL = (
    'Pool "{pool}" has no Central Management database. The Central Management Server fails over only to '
    'the backup pool of the pool hosting it ("{cms_pool}"): {backup}.'
)  # [I]
NO_BACKUP_POOL_ASSIGNED = "it has none assigned"  # [I]
CMS_SOURCE_UNREACHABLE = (
    "Cannot reach the current Central Management store to make it read-only. "
    "Use -Force to fail over without the source."
)  # [I: the reference: "When the parameter is not used, the cmdlet will first make sure all replications
#     are done, then set the source DB to read-only mode."]
#: The second hop: a cmdlet that opens SQL Server on another machine from a remoting session whose logon
#: has no credential to pass on (NTLM). [C: SQL Server's own text, seen through PowerShell remoting
#: (PowerShell/PowerShell#9331); I: the Lync cmdlet's wording around it]
SQL_SECOND_HOP = (
    'Cannot open a connection to SQL Server "{sql}\\{instance}": '
    "Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'."
)
#: "Note that the Move-CsManagementServer cmdlet must be run locally; it cannot be called from a remote
#: management session." [C: the reference's note; I: that it fails with this text in any remoting session]
MUST_RUN_LOCALLY = (
    "The Move-CsManagementServer cmdlet must be run locally; it cannot be called from a remote management "
    "session."
)
CMS_ALREADY_ON_POOL = 'The Central Management store is already hosted on pool "{pool}".'  # [I]
CMS_NOT_FAILED_OVER = (
    "The Central Management store has not been failed over: there is nothing to restore."  # [I]
)
CMS_RESTORE_UNREACHABLE = (
    'Cannot restore the Central Management store to pool "{pool}": the pool is not available.'  # [I]
)
CMS_DATABASE_NOT_INSTALLED = (
    'The Central Management store database is not installed on SQL Server "{sql}". '
    "Run Install-CsDatabase -CentralManagementDatabase first."
)  # [I]
FILE_NOT_FOUND = 'Cannot find file "{path}".'
CMS_ON_LYNC_2010 = (
    'The Central Management Server is hosted on pool "{pool}", which runs Lync Server 2010: it cannot be '
    "failed over. Move the Central Management store of Lync Server 2010 with Install-CsDatabase "
    "-CentralManagementDatabase and Move-CsManagementServer."
)  # [I]
SERVICE_NOT_FOUND = 'Cannot find any service with service name "{name}" on "{server}".'  # [I]
NOT_A_FRONT_END = 'This cmdlet must be run on a Front End server; "{server}" is not one.'  # [I]
SQL_SERVER_NOT_FOUND = 'Cannot find SQL Server "{sql}" in the topology.'  # [I]
SQL_SERVER_DOWN = (
    'Cannot connect to SQL Server "{sql}". Verify that the server is running and reachable.'  # [I]
)
SQL_INSTANCE_NOT_FOUND = 'SQL Server instance "{sql}\\{instance}" was not found.'  # [I]
TEST_ONLY_CMS = (
    "Specify -CentralManagementDatabase: the lab tests only the Central Management database."  # [I]
)
#: The schema version Test-CsDatabase expects of each Central Management database (the values [I]; with
#: -SqlServerFqdn it connects to that instance itself and needs no Central Management store [I]).
CMS_DATABASE_VERSIONS = {"xds": "10.13.2", "lis": "3.1.1"}
INSTALL_ONLY_CMS = (
    "Specify -CentralManagementDatabase: the lab installs only the Central Management database."  # [I]
)
POOL_FAILOVER_WRONG_SERVER = (
    'This cmdlet must be run on a Front End server of pool "{backup}", the backup pool of "{pool}".'  # [I]
)
#: The seed's verbatim Edge next-hop error (PowerShell itself prefixes "Invoke-CsPoolFailOver : ").
EDGE_NEXT_HOP = (
    'This Front-end pool "{pool}" is specified in\n'
    "topology as the next hop for the Edge server. Failing over this pool may cause External\n"
    "access/Federation/Split-domain/XMPP features to stop working. Please use Topology Builder to\n"
    "change the Edge internal next hop setting to point to a different Front-end pool,  before you\n"
    "proceed."
)
POOL_FAILOVER_CMS_UNAVAILABLE = (
    'Unable to fail over pool "{pool}": the Central Management store is not available.'  # [I]
)
POOL_FAILOVER_CMS_REPLICATING = (
    'Unable to fail over pool "{pool}": the Central Management store is not yet fully failed over. '
    "Wait for replication and retry."
)  # [I]
POOL_FAILOVER_NEEDS_DISASTER_MODE = (  # [I]
    'Unable to fail over pool "{pool}": the pool is not reachable. Use -DisasterMode to fail over without it.'
)
POOL_ALREADY_FAILED_OVER = 'Pool "{pool}" is already failed over to "{backup}".'  # [I]
#: An earlier Invoke-CsPoolFailover stopped midway left PoolState FailingOver: the pool "will remain in a
#: failed state until you bring it back with Set-CsRegistrarConfiguration ... -PoolState Active" [C: field
#: report, johnacook.wordpress.com 2015-05-26]; that a re-run is refused until then, and this text [I].
POOL_FAILING_OVER = (
    'Pool "{pool}" is in state FailingOver: an earlier failover did not finish. Set its PoolState to Active '
    "with Set-CsRegistrarConfiguration, then run the failover again."
)
#: Failback needs the backup pool unless -DisasterMode ("invoke pool failback even if the backup pool is
#: currently unavailable" [C: Invoke-CsPoolFailBack's page]); this text [I].
POOL_FAILBACK_BACKUP_DOWN = (
    'Unable to fail back pool "{pool}": its backup pool "{backup}" is not available. Use -DisasterMode to '
    "fail back without it (data its users created there is lost)."
)
#: The share of a pool's users serviced by the backup pool when a failover stops midway. [I]
FAILOVER_MIDWAY_SHARE = 0.5
POOL_NOT_FAILED_OVER = 'Pool "{pool}" is not failed over: there is nothing to fail back.'  # [I]
POOL_FAILBACK_SERVERS_DOWN = (
    'Unable to fail back pool "{pool}": these servers are not running: {servers}.'  # [I]
)
NEXT_HOP_NOT_USABLE = 'Cannot use pool "{pool}" as the next hop: {reason}.'  # [I]
#: The error a ``fail_next`` fault raises: a transient RPC failure. [I]
TRANSIENT_FAULT = "The RPC server is unavailable. (Exception from HRESULT: 0x800706BA)"

# --- progress text --------------------------------------------------------------------------------------

POOL_FAILOVER_PROGRESS = (
    'Checking the backup relationship of pool "{pool}".',
    'Failing over the users of pool "{pool}" to pool "{backup}".',
    'Pool "{pool}" is failed over to "{backup}".',
)  # [I]
POOL_FAILBACK_PROGRESS = (
    'Failing back the users of pool "{pool}" from pool "{backup}".',
    'Pool "{pool}" is active.',
)  # [I]
INSTALL_DATABASE_PROGRESS = (
    'Connecting to SQL Server "{sql}\\{instance}".',
    'Creating database "xds".',
    'Creating database "lis".',
    "Install-CsDatabase completed successfully.",
)  # [I]
MOVE_DONE = (
    'The Central Management store is now hosted on pool "{pool}". '
    "Local setup (Bootstrapper.exe /Setup) must be run on these computers:"
)  # [I]
BOOTSTRAPPER_NAMES = ("bootstrapper.exe", "bootstrapper")
BOOTSTRAPPER_SETUP = "/setup"
BOOTSTRAPPER_OUTPUT = (
    "Checking prerequisites for Lync Server components...",
    'Installing Central Management Server service on "{server}"...',
    "Bootstrapper completed successfully.",
)  # [I]
BOOTSTRAPPER_NOTHING = (
    'No Central Management Server role is assigned to "{server}".',
    "Bootstrapper completed successfully.",
)  # [I]
SETUP_SERVER_DOWN = (
    "Bootstrapper.exe failed: {server} went down during setup; the Central Management service was not "
    "installed. Start the server and run Bootstrapper.exe /Setup again."
)  # [I]
BOOTSTRAPPER_USAGE = "Usage: Bootstrapper.exe /Setup\nUnknown switch: {switch}"  # [I]
