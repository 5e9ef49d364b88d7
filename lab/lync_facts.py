"""Every detail of Lync that the lab states: type names, error texts, versions, file names.

Source: Microsoft's cmdlet reference, MicrosoftDocs/office-docs-powershell skype/skype-ps/SkypeForBusiness/.
Values marked [I] are our inference, kept here so that one place corrects them.
"""

from __future__ import annotations

# --- versions -------------------------------------------------------------------------------------------

LYNC_2010 = 5  # [I]
LYNC_2013 = 6  # [C]
#: The version each cmdlet the lab answers first shipped in, when later than Lync 2010 (lower-case names):
#: on an older server PowerShell does not know it. [C: pairing and these cmdlets came with Lync 2013]
INTRODUCED = {
    "invoke-cspoolfailover": LYNC_2013,
    "invoke-cspoolfailback": LYNC_2013,
    "invoke-csmanagementserverfailover": LYNC_2013,
    "get-cspoolbackuprelationship": LYNC_2013,
    "get-csdatabasemirrorstate": LYNC_2013,
}
#: ``ProductVersion`` of a replica, by pool version. [I]
PRODUCT_VERSIONS = {LYNC_2010: "4.0.7577.0", LYNC_2013: "5.0.8308.0"}

#: Modules ``Import-Module`` accepts (compared without case).
MODULE_NAMES = ("Lync", "SkypeForBusiness")

# --- type names -----------------------------------------------------------------------------------------

OBJECT = "System.Object"
DISPLAY_POOL = "Microsoft.Rtc.Management.Xds.DisplayPool"
DISPLAY_CENTRAL_MANAGEMENT = "Microsoft.Rtc.Management.Xds.DisplayCentralManagementService"  # [I]
DISPLAY_EDGE_SERVER = "Microsoft.Rtc.Management.Xds.DisplayEdgeServer"
DISPLAY_REGISTRAR = "Microsoft.Rtc.Management.Xds.DisplayRegistrar"
DISPLAY_USER_DATABASE = "Microsoft.Rtc.Management.Xds.DisplayUserDatabase"
BACKUP_RELATION = "Microsoft.Rtc.Management.Hadr.BackupService.BackupRelation"
STORE_STATUS = "Microsoft.Rtc.Management.Xds.CentralManagementStoreStatusResult"
REPLICA_STATE = "Microsoft.Rtc.Management.Xds.ReplicaState"
MIRROR_STATE = "Microsoft.Rtc.Management.Hadr.DatabaseMirrorState"
REGISTRAR_CONFIGURATION = (
    "Microsoft.Rtc.Management.WritableConfig.Sip.Registrar.RegistrarConfiguration"  # [I]
)
AD_USER = "Microsoft.Rtc.Management.ADConnect.Schema.OCSADUser"
WINDOWS_SERVICE = "Microsoft.Rtc.Management.Deployment.WindowsService"  # [I]

# --- Windows services (Get-CsWindowsService) ------------------------------------------------------------

#: Every Front End runs these: name -> display name. [C names; I display names]
FRONT_END_SERVICES = {
    "RTCSRV": "Lync Server Front-End",
    "RTCCMSAGT": "Lync Server Replica Replicator Agent",
}
#: Only where the Central Management Server service is installed (Move-CsManagementServer's server,
#: Bootstrapper's, every Front End of a CMS pool failed over to). [C names; I display names]
CMS_SERVICES = {
    "RTCMASTER": "Lync Server Master Replicator Agent",
    "RTCFTA": "Lync Server File Transfer Agent",
}
#: An Edge server's replica agent (every replica runs one). [I: the only Edge service the lab lists]
EDGE_SERVICES = {"RTCCMSAGT": "Lync Server Replica Replicator Agent"}
RUNNING = "Running"
STOPPED = "Stopped"

# --- databases ------------------------------------------------------------------------------------------

#: ``-DatabaseType`` values (lower case) and the databases each names. [I: names beyond xds/lis]
DATABASES = {
    "centralmgmt": ("xds", "lis"),
    "user": ("rtcxds", "rtcshared"),
    "archiving": ("LcsLog",),
    "monitoring": ("LcsCDR", "QoEMetrics"),
}
#: The database types a Front End pool's back end holds besides the Central Management database. [I]
POOL_DATABASE_TYPES = ("user",)
PRINCIPAL = "Principal"
MIRROR = "Mirror"
INACCESSIBLE = "DatabaseInaccessibleOrMirroringNotEnabled"
SYNCHRONIZED = "Synchronized"
DISCONNECTED = "Disconnected"

# --- PowerShell's own errors ----------------------------------------------------------------------------

PARAMETER_NOT_FOUND = "A parameter cannot be found that matches parameter name '{name}'."
POSITIONAL_NOT_FOUND = "A positional parameter cannot be found that accepts argument '{value}'."
AMBIGUOUS_PARAMETER = (
    "Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
    "Possible matches include: {matches}."
)
MISSING_ARGUMENT = "Missing an argument for parameter '{name}'. Specify a parameter and try again."
MISSING_MANDATORY = "Cannot process command because of one or more missing mandatory parameters: {names}."
AMBIGUOUS_PARAMETER_SET = "Parameter set cannot be resolved using the specified named parameters."
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
BAD_DATABASE_TYPE = (
    "Cannot bind parameter 'DatabaseType'. Cannot convert value \"{value}\" to type "
    '"Microsoft.Rtc.Management.Hadr.DatabaseType". Valid values are: {valid}.'
)  # [I]
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
REGISTRAR_CONFIGURATION_NOT_FOUND = (
    'Cannot get "RegistrarConfiguration" "{identity}" because it does not exist.'  # [I]
)
WHATIF_HOSTED_ON = 'What if: The Central Management Server is currently hosted on pool "{pool}".'  # [I]
WHATIF_OPERATION = 'What if: Performing the operation "{command}" on target "{pool}".'
WRONG_BACKEND_SERVER = (
    'This cmdlet must be run on a Front End server of the pool whose back end is "{sql}".'  # [I]
)
NOT_CMS_PRINCIPAL = (
    'SQL Server "{sql}" is not the principal for the Central Management database. '
    "Use the server that Get-CsDatabaseMirrorState reports as Principal."
)  # [I]
NO_CMS_DATABASE_IN_POOL = (
    'Pool "{pool}" has no Central Management database. The Central Management Server fails over only to '
    'the backup pool of the pool hosting it ("{cms_pool}"): {backup}.'
)  # [I]
NO_BACKUP_POOL_ASSIGNED = "it has none assigned"  # [I]
CMS_SOURCE_UNREACHABLE = (
    "Cannot reach the current Central Management store to make it read-only. "
    "Use -Force to fail over without the source."
)  # [I]
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
