"""Trims a built layer's botocore to the services the layer makes clients for (aichat.core.aws.SERVICES): their
folders under botocore/data, and their entries in endpoints.json. Run by scripts/build-python.sh.

botocore lists every service folder (about 450) and parses the 1.2 MB endpoints.json at a process's first client;
with only the layer's own services, that first client is what a table function's cold start spends most on after
`import botocore` (docs/performance.md#layers has the figures).

    python scripts/trim_botocore.py LAYER_PYTHON_FOLDER
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path


def endpoint_prefix(service_dir: Path) -> str:
    """The endpointPrefix of a service's newest API version (its key in endpoints.json)."""
    version = max(p for p in service_dir.iterdir() if p.is_dir())
    plain, packed = version / "service-2.json", version / "service-2.json.gz"
    model = json.loads(plain.read_text() if plain.is_file() else gzip.decompress(packed.read_bytes()))
    return str(model["metadata"]["endpointPrefix"])


def trim(layer: Path, services: frozenset[str]) -> tuple[int, int]:
    """Keep `services` alone in layer/botocore; returns the service folders and endpoints.json entries removed."""
    data = layer / "botocore" / "data"
    missing = sorted(name for name in services if not (data / name).is_dir())
    if missing:
        raise SystemExit(f"trim_botocore: botocore has no service {', '.join(missing)}: check aichat.core.aws.SERVICES")
    removed = 0
    for folder in data.iterdir():
        if folder.is_dir() and folder.name not in services:
            shutil.rmtree(folder)
            removed += 1
    prefixes = {endpoint_prefix(data / name) for name in services}
    endpoints_file = data / "endpoints.json"
    endpoints = json.loads(endpoints_file.read_text())
    dropped = 0
    for partition in endpoints["partitions"]:
        kept = {name: entry for name, entry in partition["services"].items() if name in prefixes}
        dropped += len(partition["services"]) - len(kept)
        partition["services"] = kept
    endpoints_file.write_text(json.dumps(endpoints, separators=(",", ":")))
    return removed, dropped


def main() -> None:
    layer = Path(sys.argv[1])
    sys.path.insert(0, str(layer))
    from aichat.core.aws import SERVICES

    removed, dropped = trim(layer, SERVICES)
    print(f"trim_botocore: kept {', '.join(sorted(SERVICES))}; removed {removed} service folders and {dropped} "
          "endpoints.json entries")


if __name__ == "__main__":
    main()
