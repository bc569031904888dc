"""The JSON Schema of the incident format, generated from the models."""

from __future__ import annotations

import json
from typing import Any

from remedy.incident import BUILTIN_OPTIONS, SCHEMA_ID, Incident


def incident_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for incident files, as editors and CI validators use it."""
    schema = Incident.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    options = defs.get("Options")
    if options:
        # In the file, `refund: false` disables a built-in option and custom options sit beside
        # the built-in ones under free names (the model gathers them under `custom`).
        props = options["properties"]
        props.pop("custom", None)
        for name in BUILTIN_OPTIONS:
            ref = props[name].get("$ref")
            if ref:
                props[name] = {"anyOf": [{"$ref": ref}, {"type": "boolean"}]}
        options["additionalProperties"] = {
            "anyOf": [{"$ref": "#/$defs/CustomOption"}, {"type": "boolean"}]
        }
        options["propertyNames"] = {"pattern": "^[a-z][a-z0-9_]*$"}
    for definition in defs.values():
        definition.get("properties", {}).pop("enabled", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **{k: v for k, v in schema.items() if k not in ("$id",)},
    }


def schema_text() -> str:
    """The schema as stable, indented JSON text (committed as incident.schema.json)."""
    return json.dumps(incident_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
