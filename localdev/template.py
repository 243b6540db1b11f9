"""Load template.yaml as plain data, turning CloudFormation's short-form tags into their long form.

`!Ref X` becomes {"Ref": "X"}, `!GetAtt A.B` becomes {"Fn::GetAtt": ["A", "B"]}, `!Condition C` becomes
{"Condition": "C"}, and every other `!Name value` becomes {"Fn::Name": value} (Sub, If, Equals, Not, Select, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that also accepts CloudFormation's intrinsic-function tags; yaml.SafeLoader is left as it was."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{tag_suffix}", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path) -> dict[str, Any]:
    """The template at `path` as a dict, with intrinsic functions in their long form."""
    with Path(path).open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template (its top level is not a mapping)")
    return document
