"""Schema pieces shared by several node types: durations, value sources, audio items.

Audio items appear in play nodes and in dtmf prompts, so they are defined once here. An
`audioId` names a file under the audio root; its pattern admits only relative paths whose
segments start with a letter or digit, so `..`, absolute paths and hidden files cannot match.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.audio import AUDIO_ID_PATTERN
from controller.nodes.base import AudioUse, VariableRead
from controller.templates import FLOW_VARIABLE_PATTERN, NAME_PATTERN

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


def milliseconds(description: str, default: int, minimum: int, maximum: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": minimum,
        "maximum": maximum,
        "default": default,
        "description": f"{description} (milliseconds)",
    }


def flow_variable(description: str, default: str | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": FLOW_VARIABLE_PATTERN}
    if default is None:
        schema = {"type": ["string", "null"], "pattern": FLOW_VARIABLE_PATTERN}
    return {**schema, "default": default, "description": description}


VARIABLE_REFERENCE = {"type": "string", "pattern": "^" + NAME_PATTERN + "$"}

VALUE_SOURCE: dict[str, Any] = {
    "description": "Where a value comes from: a literal, or a variable, contact field or "
    "custom attribute read when the node runs.",
    "if": {"type": "object"},
    "then": {
        "type": "object",
        "required": ["source"],
        "properties": {
            "source": {
                "enum": ["variable", "contact", "customAttribute"],
                "description": "`variable`: a flow or sys.* variable; `contact`: a contact field; "
                "`customAttribute`: one of the contact's custom attributes.",
            }
        },
        "allOf": [
            {
                "if": {"properties": {"source": {"const": "variable"}}, "required": ["source"]},
                "then": {
                    "required": ["variable"],
                    "additionalProperties": False,
                    "properties": {
                        "source": {},
                        "variable": {**VARIABLE_REFERENCE, "description": "The variable's name."},
                    },
                },
            },
            {
                "if": {"properties": {"source": {"const": "contact"}}, "required": ["source"]},
                "then": {
                    "required": ["field"],
                    "additionalProperties": False,
                    "properties": {
                        "source": {},
                        "field": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The contact field, e.g. firstName.",
                        },
                    },
                },
            },
            {
                "if": {
                    "properties": {"source": {"const": "customAttribute"}},
                    "required": ["source"],
                },
                "then": {
                    "required": ["attributeName"],
                    "additionalProperties": False,
                    "properties": {
                        "source": {},
                        "attributeName": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The custom attribute, e.g. accountBalance.",
                        },
                    },
                },
            },
        ],
    },
    "else": {"type": ["string", "number"]},
}

_VALUE = {"$ref": "#/$defs/valueSource"}

_LANGUAGE = {
    "type": ["string", "null"],
    "pattern": LANGUAGE_PATTERN,
    "default": None,
    "description": "Language of the dictionary (ar, fr, en, ...); null takes the flow's "
    "`settings.language`.",
}

_ITEM_KINDS: dict[str, dict[str, Any]] = {
    "audioFile": {
        "required": ["audioId"],
        "properties": {
            "audioId": {
                "type": "string",
                "pattern": AUDIO_ID_PATTERN,
                "maxLength": 200,
                "description": "File under the audio root, without extension "
                "(`<audioId>.wav`, optionally in a language folder).",
            },
            "language": _LANGUAGE,
        },
    },
    "number": {
        "required": ["value"],
        "properties": {
            "value": _VALUE,
            "mode": {
                "enum": ["full", "digits", "currency"],
                "default": "full",
                "description": "`full`: as words; `digits`: digit by digit; `currency`: an "
                "amount in major and minor units.",
            },
            "currency": {
                "type": "string",
                "pattern": "^[A-Z]{3}$",
                "default": "MAD",
                "description": "ISO 4217 code used by `currency` mode.",
            },
            "language": _LANGUAGE,
        },
    },
    "date": {
        "required": ["value"],
        "properties": {
            "value": _VALUE,
            "format": {
                "enum": ["day_month_year", "weekday_day_month", "day_month"],
                "default": "day_month_year",
                "description": "Which parts of the date are spoken.",
            },
            "language": _LANGUAGE,
        },
    },
    "word": {
        "required": ["value"],
        "properties": {
            "value": _VALUE,
            "language": _LANGUAGE,
        },
    },
}


def _item_kind(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
        "then": {
            "required": spec["required"],
            "additionalProperties": False,
            "properties": {"type": {}, **spec["properties"]},
        },
    }


AUDIO_ITEM: dict[str, Any] = {
    "type": "object",
    "description": "One piece of audio: a recorded file, or a number, date or word spoken "
    "from the language's dictionary.",
    "required": ["type"],
    "properties": {"type": {"enum": list(_ITEM_KINDS), "description": "The kind of item."}},
    "allOf": [_item_kind(kind, spec) for kind, spec in _ITEM_KINDS.items()],
}


# Published once under $defs and referenced, so the schema file stays small and editors show
# one definition.
SCHEMA_DEFS: dict[str, Any] = {"audioItem": AUDIO_ITEM, "valueSource": VALUE_SOURCE}


def audio_items(description: str, *, required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "array",
        "items": {"$ref": "#/$defs/audioItem"},
        "maxItems": 50,
        "description": description,
    }
    if required:
        schema["minItems"] = 1
    else:
        schema["default"] = []
    return schema


def item_reads(items: list[dict[str, Any]], pointer: str) -> Iterator[VariableRead]:
    for index, item in enumerate(items):
        value = item.get("value")
        if isinstance(value, dict) and value.get("source") == "variable":
            yield VariableRead(f"{pointer}/{index}/value/variable", value["variable"])


def item_audio(items: list[dict[str, Any]], pointer: str) -> Iterator[AudioUse]:
    for index, item in enumerate(items):
        if item.get("type") == "audioFile":
            yield AudioUse(f"{pointer}/{index}/audioId", item["audioId"], item.get("language"))


def item_spoken(items: list[dict[str, Any]], pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, item) for the number, date and word items, which need a dictionary."""
    for index, item in enumerate(items):
        if item.get("type") in ("number", "date", "word"):
            yield f"{pointer}/{index}", item
