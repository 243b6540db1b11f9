"""Write template.yaml as CloudFormation receives it: the SAM transform applied, as `sam deploy` would.

Run with .venv-sam's python (aws-sam-translator comes with aws-sam-cli there): `bash scripts/transform-template.sh`.
Code locations become the s3:// URIs `sam package` would write (the transform accepts nothing else), and managed
policy names resolve to ARNs built from the name, as IAM would; nothing reaches AWS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PACKAGED_CODE = "s3://packaged-code/{name}.zip"


class _ManagedPolicies:
    """IAM's answer for AWS managed policy names, built offline: arn:aws:iam::aws:policy/<name>."""

    def load(self) -> dict[str, str]:
        return _NamedPolicies()


class _NamedPolicies(dict[str, str]):
    def get(self, name: str, default: Any = None) -> str:  # type: ignore[override]
        return f"arn:aws:iam::aws:policy/{name}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every local code folder replaced by an S3 URI, as `sam package` leaves it."""
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(field), str) and not properties[field].startswith("s3://"):
                properties[field] = PACKAGED_CODE.format(name=name)
    return template


def main(source: Path, target: Path) -> None:
    template = packaged(yaml_parse(source.read_text(encoding="utf-8")))
    try:
        transformed = transform(template, {}, _ManagedPolicies())
    except InvalidDocumentException as e:
        sys.exit("SAM transform failed:\n" + "\n".join(f"  {cause}" for cause in e.causes))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(transformed, indent=1, sort_keys=True), encoding="utf-8")
    print(f"SAM transform: {source} -> {target}, {len(transformed['Resources'])} resources")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
