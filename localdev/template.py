"""Load template.yaml as plain data, turning CloudFormation's short-form tags into their long form.

`!Ref X` becomes {"Ref": "X"}, `!GetAtt A.B` becomes {"Fn::GetAtt": ["A", "B"]}, `!Condition C` becomes
{"Condition": "C"}, and every other `!Name value` becomes {"Fn::Name": value} (Sub, If, Equals, Not, Select, ...).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (its wheels are): the template parses ~10 times faster.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CloudFormationLoader(_SafeLoader):  # type: ignore[valid-type,misc]
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
    """The template at `path` as a dict, with intrinsic functions in their long form: a copy of its own, parsed
    once per version of the file (the local server and every test's table read it again and again)."""
    file = Path(path).resolve()
    stat = file.stat()
    return copy.deepcopy(_parsed(file, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(file: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """The parse behind load_template; the file's time and size in the key, so an edited template is read again."""
    with file.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{file} is not a CloudFormation template (its top level is not a mapping)")
    return document
