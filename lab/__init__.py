"""A simulated Lync Server 2010/2013 deployment that speaks real WinRM and PSRP on loopback."""
