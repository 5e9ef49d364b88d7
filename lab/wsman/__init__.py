"""The lab's remoting layer: a WinRM/PSRP endpoint that pypsrp cannot tell from a Windows server.

Engine output objects reach pypsrp as ``GenericComplexObject``: ``obj.types`` holds the type names and the
properties are in ``obj.extended_properties`` (see :mod:`lab.wsman.values`).
"""

from lab.wsman.server import WinRMEndpoint
from lab.wsman.tls import LabTls, make_lab_tls

__all__ = ["LabTls", "WinRMEndpoint", "make_lab_tls"]
