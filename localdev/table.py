"""The table, created on any DynamoDB endpoint exactly as template.yaml declares it."""

from __future__ import annotations

from typing import Any

from localdev.paths import TEMPLATE
from localdev.template import load_template

# Each table of the template, and the setting that names it.
TABLES = {"Table": "TABLE_NAME"}


def _properties(resource: str) -> dict[str, Any]:
    """A table's properties in template.yaml."""
    properties: dict[str, Any] = load_template(TEMPLATE)["Resources"][resource]["Properties"]
    return properties


def table_definition(table_name: str, resource: str = "Table") -> dict[str, Any]:
    """CreateTable arguments from one of the template's tables (keys, attributes, indexes)."""
    props = _properties(resource)
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in props["GlobalSecondaryIndexes"]
        ]
    return definition


def create_table(client: Any, table_name: str, resource: str = "Table") -> None:
    """Create one of the template's tables and turn on its TTL, as the stack would."""
    client.create_table(**table_definition(table_name, resource))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    ttl = _properties(resource).get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
