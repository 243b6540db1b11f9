"""A tool's arguments model as the JSON Schema offered to models: strict form, which OpenAI and Anthropic both take.

Strict form: every object lists all its properties as required and allows no others; a property that may be left
out is nullable instead (null means "not given": its default); refs are inlined; and only the keywords strict mode
accepts are kept. Length and range bounds are not among them, so they are said in the property's description and
enforced by the model's own validation when the call is run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from aichat.providers.interface import ToolSpec
from aichat.tools.tool import Tool

Schema = dict[str, Any]

# Said in words, since strict mode refuses them as keywords.
_BOUNDS = {
    "minLength": "at least {} characters", "maxLength": "at most {} characters",
    "minimum": "at least {}", "maximum": "at most {}", "exclusiveMinimum": "more than {}",
    "exclusiveMaximum": "less than {}", "minItems": "at least {} items", "maxItems": "at most {} items",
    "pattern": "matching {}",
}
_MAX_DEPTH = 16  # inlining a recursive model would never end


def spec(tool: Tool[Any]) -> ToolSpec:
    """The tool as a model is offered it."""
    return ToolSpec(name=tool.name, description=tool.description, parameters=strict_schema(tool.Arguments))


def strict_schema(model: type[BaseModel]) -> Schema:
    """The model's JSON Schema in strict form; ValueError for a model strict mode cannot express (a free dict)."""
    root = model.model_json_schema()
    schema, _ = _strict(root, root.get("$defs", {}), 0)
    return schema


def _strict(node: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> tuple[Schema, list[str]]:
    """One schema node in strict form, and the bounds it had, in words, for its property's description."""
    if depth > _MAX_DEPTH:
        raise ValueError("a tool's arguments must not be recursive or nest deeper than 16 levels")
    node = _inlined(node, defs)
    bounds = _bounds(node)
    out: Schema = {k: node[k] for k in ("type", "enum", "const") if k in node}
    if "anyOf" in node:
        variants = []
        for variant in node["anyOf"]:
            schema, more = _strict(variant, defs, depth + 1)
            variants.append(schema)
            bounds += more
        out["anyOf"] = variants
    if "items" in node:
        out["items"] = _described(*_strict(node["items"], defs, depth + 1))
    if node.get("type") == "object" or "properties" in node:
        out.update(_object(node, defs, depth))
    if "description" in node:
        out["description"] = node["description"]
    return out, bounds


def _object(node: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> Schema:
    if isinstance(node.get("additionalProperties"), Mapping) or node.get("additionalProperties") is True:
        raise ValueError("strict mode cannot offer an object with free keys (a dict); give it named fields")
    optional = set(node.get("properties", {})) - set(node.get("required", ()))
    properties = {}
    for name, prop in node.get("properties", {}).items():
        schema = _described(*_strict(prop, defs, depth + 1))
        properties[name] = _nullable(schema) if name in optional else schema
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _inlined(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node with its $ref (or a lone allOf, pydantic's older wrapping of one) replaced by what it names."""
    if "$ref" in node:
        name = str(node["$ref"]).removeprefix("#/$defs/")
        if name not in defs:
            raise ValueError(f"unresolvable $ref {node['$ref']!r}")
        return {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        return {**_inlined(node["allOf"][0], defs), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def _bounds(node: Mapping[str, Any]) -> list[str]:
    if "minLength" in node and "maxLength" in node:
        rest = [_BOUNDS[k].format(node[k]) for k in _BOUNDS if k in node and k not in ("minLength", "maxLength")]
        return [f"{node['minLength']} to {node['maxLength']} characters", *rest]
    return [_BOUNDS[k].format(node[k]) for k in _BOUNDS if k in node]


def _described(schema: Schema, bounds: list[str]) -> Schema:
    """The property's schema with its bounds said at the end of its description."""
    if not bounds:
        return schema
    said = "; ".join(bounds)
    description = schema.get("description")
    return {**schema, "description": f"{description} ({said})" if description else said}


def _nullable(schema: Schema) -> Schema:
    """The schema, also allowing null (for a property the model may leave out)."""
    if schema.get("type") == "null" or any(v.get("type") == "null" for v in schema.get("anyOf", ())):
        return schema
    if isinstance(schema.get("type"), list):
        return {**schema, "type": [*schema["type"], "null"]}
    description = {"description": schema["description"]} if "description" in schema else {}
    inner = {k: v for k, v in schema.items() if k != "description"}
    return {"anyOf": [inner, {"type": "null"}], **description}
