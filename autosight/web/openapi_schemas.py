"""OpenAPI schemas of the report-shaped answers, taken from ``schemas/report.schema.json`` itself.

The API serves parts of report.json, so their published schema *is* the report's: a field added to
the report (and so to its schema) appears in the OpenAPI document with no change here. The report
schema's ``$defs`` become OpenAPI components named ``Report_<def>``.
"""

from __future__ import annotations

import copy
from typing import Any

from reporting import load_schema

DEF_PREFIX = "#/$defs/"
COMPONENT_PREFIX = "Report_"


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: (f"#/components/schemas/{COMPONENT_PREFIX}{value[len(DEF_PREFIX):]}"
                      if key == "$ref" and isinstance(value, str) and value.startswith(DEF_PREFIX)
                      else _rewrite_refs(value))
                for key, value in node.items() if key not in ("$schema", "$id", "$defs")}
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


class ReportSchemas:
    """Sub-schemas of report.json, ready for the OpenAPI document."""

    def __init__(self) -> None:
        self._schema = load_schema()

    def components(self) -> dict[str, Any]:
        defs = {f"{COMPONENT_PREFIX}{name}": _rewrite_refs(value)
                for name, value in self._schema.get("$defs", {}).items()}
        return {**defs, "Report": _rewrite_refs(self._schema)}

    def part(self, *path: str) -> dict[str, Any]:
        """The schema of ``report[path[0]][path[1]]...`` (following ``properties``)."""
        node = self._schema
        for key in path:
            node = node["properties"][key]
        return _rewrite_refs(copy.deepcopy(node))

    def has(self, key: str) -> bool:
        return key in self._schema["properties"]

    def object_of(self, parts: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
        """An object schema with the given properties (extra keys allowed: the report may grow)."""
        return {"type": "object", "required": required, "properties": parts}

    @staticmethod
    def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}
