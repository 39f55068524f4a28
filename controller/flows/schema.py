"""The published flow schema, assembled from the node types' fragments, and its defaults.

`flow_schema()` is what `callflow schema` prints and what `controller/schema/flow.schema.json`
holds (a test keeps the two equal). JSON Schema's `default` does nothing by itself, so
`apply_defaults` fills every missing field that has one, once, at load: the runtime then reads
config without fallbacks of its own.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from controller.nodes import NODE_TYPES
from controller.nodes.schema_parts import LANGUAGE_PATTERN
from controller.nodes.schema_parts import SCHEMA_DEFS as SHARED_DEFS

SCHEMA_ID = "urn:callflow:schema:flow:1"
FLOW_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
NODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"

# References are checked against the ids that exist (graph.py), not against the id pattern:
# a malformed id is reported once, where it is defined.
_NODE_REFERENCE = {"type": "string", "minLength": 1, "description": "A node id."}


def _outputs_schema(name: str) -> dict[str, Any]:
    node_type = NODE_TYPES[name]
    properties: dict[str, Any] = {
        output: {"$ref": "#/$defs/nodeId"} for output in node_type.outputs
    }
    if node_type.has_branches:
        properties["branches"] = {
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/nodeId"},
            "description": "Digit (or entry) → node id.",
        }
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _node_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "type"],
        "additionalProperties": False,
        "properties": {
            "id": {
                "type": "string",
                "pattern": NODE_ID_PATTERN,
                "description": "Unique within the flow; outputs refer to it.",
            },
            "type": {"enum": list(NODE_TYPES), "description": "The node type."},
            "label": {"type": "string", "maxLength": 200, "description": "Shown to people."},
            "config": {
                "type": "object",
                "default": {},
                "description": "Settings of the node; their fields depend on its type.",
            },
            "outputs": {
                "type": "object",
                "default": {},
                "description": "Output name → id of the node to run next.",
            },
        },
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {
                    "properties": {
                        "config": {"$ref": f"#/$defs/{name}.config"},
                        "outputs": {"$ref": f"#/$defs/{name}.outputs"},
                    }
                },
            }
            for name in NODE_TYPES
        ],
    }


SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "default": {},
    "description": "Settings for the whole flow.",
    "properties": {
        "language": {
            "type": "string",
            "pattern": LANGUAGE_PATTERN,
            "default": "en",
            "description": "Language of spoken numbers, dates and words unless an item says "
            "otherwise.",
        },
        "typeAhead": {
            "type": "boolean",
            "default": True,
            "description": "Keys pressed during the prompt just before a single-digit dtmf node "
            "answer it; older keys are always discarded. false: every dtmf node starts clean.",
        },
        "recordSession": {
            "type": "boolean",
            "default": False,
            "description": "Record the whole call (both directions) into the recordings "
            "directory; the file is listed in the call's record.",
        },
    },
}


@cache
def _schema() -> dict[str, Any]:
    defs: dict[str, Any] = {"node": _node_schema(), "nodeId": _NODE_REFERENCE, **SHARED_DEFS}
    for name, node_type in NODE_TYPES.items():
        defs[f"{name}.config"] = node_type.config_schema
        defs[f"{name}.outputs"] = _outputs_schema(name)
        defs.update(node_type.schema_defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "callflow flow",
        "description": "A call flow: a directed graph of nodes run on each call.",
        "type": "object",
        "required": ["name", "graph"],
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string", "description": "Schema reference for editors."},
            "id": {
                "type": "string",
                "pattern": FLOW_ID_PATTERN,
                "description": "The flow's id; in a file it must equal the file name.",
            },
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "Display name.",
            },
            "description": {"type": "string", "default": "", "description": "What it is for."},
            "settings": SETTINGS_SCHEMA,
            "graph": {
                "type": "object",
                "description": "The nodes and where calls start.",
                "required": ["startNodeId", "nodes"],
                "additionalProperties": False,
                "properties": {
                    "startNodeId": {**_NODE_REFERENCE, "description": "Where calls start."},
                    "nodes": {
                        "type": "array",
                        "description": "The nodes, in any order.",
                        "minItems": 1,
                        "maxItems": 5000,
                        "items": {"$ref": "#/$defs/node"},
                    },
                },
            },
        },
        "$defs": defs,
    }


def flow_schema() -> dict[str, Any]:
    """A fresh copy of the published schema."""
    return copy.deepcopy(_schema())


def schema_text() -> str:
    return json.dumps(_schema(), indent=2, ensure_ascii=False) + "\n"


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` as JSON Schema means it (ECMA-262: `$` is the very end of the text). Python's
    `$` also matches before a final newline, so "id\n" would pass `^[a-z]+$`: each `$`
    outside a character class becomes `\\Z`."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 with ECMA-262 `pattern`s (the published schema's meaning, and the one other
# validators give it).
FlowValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@cache
def validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(_schema())
    return FlowValidator(_schema())  # type: ignore[no-any-return]


_if_validators: dict[int, Draft202012Validator] = {}


def _condition_holds(if_schema: dict[str, Any], instance: Any) -> bool:
    # Keyed by id(): the `if` schemas are module constants that live as long as the process.
    checker = _if_validators.get(id(if_schema))
    if checker is None:
        checker = _if_validators[id(if_schema)] = validator().evolve(schema=if_schema)
    return checker.is_valid(instance)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        schema = {**_schema()["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def apply_defaults(instance: Any, schema: dict[str, Any] | None = None) -> None:
    """Fill missing fields that have a `default`, in place, through $ref, allOf and if/then/else.

    Safe on invalid documents: it only writes into mappings and descends where types match,
    so it can run before every schema error has been fixed.
    """
    schema = _resolve(_schema() if schema is None else schema)
    if isinstance(instance, dict):
        for key, property_schema in schema.get("properties", {}).items():
            sub = _resolve(property_schema)
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                apply_defaults(instance[key], sub)
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            apply_defaults(item, schema["items"])
    for sub in schema.get("allOf", ()):
        apply_defaults(instance, sub)
    if "if" in schema:
        branch = "then" if _condition_holds(schema["if"], instance) else "else"
        if branch in schema:
            apply_defaults(instance, schema[branch])
