"""Benchmark (not a test): how fast the lab answers a real pypsrp client.

Prints the median round trip of one cmdlet and the median time to open a runspace pool, over NTLM with
message encryption (the default) or Basic over HTTPS. Usage: python benchmarks/lab_roundtrip.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lab.serve import LabOptions, LabServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50, help="cmdlet round trips to time")
    parser.add_argument("--opens", type=int, default=10, help="runspace pool opens to time")
    parser.add_argument("--transport", choices=("http", "https"), default="http")
    args = parser.parse_args()
    auth: Literal["ntlm", "basic"] = "ntlm" if args.transport == "http" else "basic"
    with tempfile.TemporaryDirectory() as directory:
        lab = LabServer(LabOptions("cms-2013-primary", Path(directory), transport=args.transport, auth=auth))
        lab.start()
        try:
            server = next(fqdn for fqdn in lab.endpoints if lab.engine.is_up(fqdn))
            url = urlsplit(lab.endpoints[server].url)

            def connect() -> WSMan:
                return WSMan(
                    url.hostname or "127.0.0.1",
                    port=url.port,
                    path=url.path.lstrip("/"),
                    ssl=url.scheme == "https",
                    auth=auth,
                    username=lab.engine.administrator,
                    password=lab.password,
                    cert_validation=str(lab.tls.ca_path) if lab.tls else False,  # type: ignore[arg-type]  # a CA path
                )

            opens = []
            for _ in range(args.opens):
                started = time.perf_counter()
                with RunspacePool(connect()):
                    opens.append(time.perf_counter() - started)
            trips = []
            with RunspacePool(connect()) as pool:
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    PowerShell(pool).add_cmdlet("Get-CsPool").invoke()
                    trips.append(time.perf_counter() - started)
        finally:
            lab.stop()
    print(f"transport {args.transport}, auth {auth}, server {server}")
    print(
        f"runspace pool open: median {statistics.median(opens) * 1000:.1f} ms over {len(opens)} opens "
        "(includes close)"
    )
    print(f"Get-CsPool round trip: median {statistics.median(trips) * 1000:.1f} ms over {len(trips)} calls")


if __name__ == "__main__":
    main()
