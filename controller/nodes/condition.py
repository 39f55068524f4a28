"""Condition: branches on variables — onTrue or onFalse; onError when a value cannot be compared.

A rule is a comparison (`variable`, `operator`, `value`) or a group: `all` (every rule true)
or `any` (at least one), nested as deep as needed. Numeric operators compare numbers, and
numeric strings as numbers ("10" > "9"); equality compares numbers when both sides are numeric,
text otherwise. String `value`s are templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from controller.flows.problems import Problem, error
from controller.nodes.base import NodeSpec, VariableRead
from controller.nodes.schema_parts import VARIABLE_REFERENCE
from controller.templates import strings_in

OUTPUTS = ("onTrue", "onFalse", "onError")

OPERATORS: dict[str, str] = {
    "equals": "equal to value (numerically when both are numbers)",
    "notEquals": "not equal to value",
    "gt": "greater than value (numbers only)",
    "gte": "greater than or equal to value (numbers only)",
    "lt": "less than value (numbers only)",
    "lte": "less than or equal to value (numbers only)",
    "in": "one of the values in the list `value`",
    "notIn": "none of the values in the list `value`",
    "contains": "text containing value, or a list containing it",
    "startsWith": "text starting with value",
    "endsWith": "text ending with value",
    "matches": "text in which the regular expression `value` finds a match",
    "exists": "set (takes no value)",
    "notExists": "not set (takes no value)",
    "isEmpty": "unset or empty text (takes no value)",
    "isNotEmpty": "set and not empty (takes no value)",
}
UNARY = ("exists", "notExists", "isEmpty", "isNotEmpty")
NUMERIC = ("gt", "gte", "lt", "lte")
LIST = ("in", "notIn")

_RULE = {"$ref": "#/$defs/condition.rule"}

SCHEMA_DEFS: dict[str, Any] = {
    "condition.rule": {
        "type": "object",
        "if": {"required": ["all"]},
        "then": {
            "additionalProperties": False,
            "properties": {
                "all": {
                    "type": "array",
                    "minItems": 1,
                    "items": _RULE,
                    "description": "True when every rule is true.",
                },
            },
        },
        "else": {
            "if": {"required": ["any"]},
            "then": {
                "additionalProperties": False,
                "properties": {
                    "any": {
                        "type": "array",
                        "minItems": 1,
                        "items": _RULE,
                        "description": "True when at least one rule is true.",
                    },
                },
            },
            "else": {"$ref": "#/$defs/condition.comparison"},
        },
    },
    "condition.comparison": {
        "type": "object",
        "additionalProperties": False,
        "required": ["variable"],
        "properties": {
            "variable": {
                **VARIABLE_REFERENCE,
                "description": "Variable to test: a flow variable, `sys.*` or `contact.*`.",
            },
            "operator": {
                "enum": list(OPERATORS),
                "default": "equals",
                "description": "How to compare; see the operator table.",
            },
            "value": {
                "type": ["string", "number", "boolean", "array"],
                "items": {"type": ["string", "number", "boolean"]},
                "description": "What to compare with (a template when text; a list for "
                "`in`/`notIn`).",
            },
        },
        "if": {
            "properties": {"operator": {"enum": list(UNARY)}},
            "required": ["operator"],
        },
        "else": {"required": ["value"]},
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "$ref": "#/$defs/condition.rule",
    "description": "A comparison `{variable, operator, value}`, or `{all: [...]}` / "
    "`{any: [...]}` of rules.",
}


def comparisons(rule: dict[str, Any], pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every comparison in a rule tree, with its pointer relative to the node's config."""
    for group in ("all", "any"):
        if group in rule:
            for index, child in enumerate(rule[group]):
                yield from comparisons(child, f"{pointer}/{group}/{index}")
            return
    yield pointer, rule


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def check(node: NodeSpec) -> Iterator[Problem]:
    for pointer, rule in comparisons(node.config):
        where = f"{node.pointer}/config{pointer}"
        operator, value = rule["operator"], rule.get("value")
        if operator in UNARY and "value" in rule:
            yield error(
                "invalid-config", f"operator {operator!r} takes no value", pointer=where + "/value"
            )
        elif operator in LIST and not isinstance(value, list):
            yield error(
                "invalid-config",
                f"operator {operator!r} needs a list as value",
                pointer=where + "/value",
            )
        elif operator not in LIST and isinstance(value, list):
            yield error(
                "invalid-config",
                f"operator {operator!r} compares with one value, not a list",
                pointer=where + "/value",
            )
        elif (
            operator in NUMERIC
            and isinstance(value, str)
            and "{{" not in value
            and not (_is_number(value))
        ):
            yield error(
                "invalid-config",
                f"operator {operator!r} compares numbers, and {value!r} is not a number",
                pointer=where + "/value",
            )
        elif operator == "matches" and isinstance(value, str):
            try:
                re.compile(value)
            except re.error as exc:
                yield error(
                    "invalid-pattern",
                    f"value is not a valid regular expression: {exc}",
                    pointer=where + "/value",
                )


def templates(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for pointer, rule in comparisons(config):
        if rule["operator"] != "matches":  # a regular expression: braces are not placeholders
            yield from strings_in(rule.get("value"), pointer + "/value")


def reads(config: dict[str, Any]) -> Iterator[VariableRead]:
    for pointer, rule in comparisons(config):
        yield VariableRead(pointer + "/variable", rule["variable"])
