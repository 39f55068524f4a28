"""Condition: branches on variables — onTrue or onFalse; onError when a value cannot be compared.

A rule is a comparison (`variable`, `operator`, `value`) or a group: `all` (every rule true)
or `any` (at least one), nested as deep as needed. Numeric operators compare numbers, and
numeric strings as numbers ("10" > "9"); equality compares numbers when both sides are numeric,
text otherwise. String `value`s are templates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller import patterns
from controller.exceptions import NodeError
from controller.flows.problems import Problem, error
from controller.nodes.base import NodeSpec, VariableRead
from controller.nodes.schema_parts import VARIABLE_REFERENCE
from controller.patterns import PatternError
from controller.templates import strings_in

if TYPE_CHECKING:
    from controller.call import Call

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
    "matches": "text in which the regular expression `value` (RE2 syntax) finds a match",
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
                patterns.compile_pattern(value)
            except PatternError as exc:
                yield error(
                    "invalid-pattern",
                    f"value is not a regular expression RE2 accepts: {exc}",
                    pointer=where + "/value",
                )


def templates(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for pointer, rule in comparisons(config):
        if rule["operator"] != "matches":  # a regular expression: braces are not placeholders
            yield from strings_in(rule.get("value"), pointer + "/value")


def reads(config: dict[str, Any]) -> Iterator[VariableRead]:
    for pointer, rule in comparisons(config):
        yield VariableRead(pointer + "/variable", rule["variable"])


class _Incomparable(Exception):
    pass


def _number(value: Any) -> float:
    if not _is_number(value):
        raise _Incomparable(f"{value!r} is not a number")
    return float(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return float(left) == float(right)
    return _text(left) == _text(right)


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator in ("exists", "notExists"):
        return (left is not None) == (operator == "exists")
    if operator in ("isEmpty", "isNotEmpty"):
        return (_text(left) == "") == (operator == "isEmpty")
    if operator in NUMERIC:
        a, b = _number(left), _number(right)
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[operator]
    if operator in LIST:
        found = any(_equal(left, item) for item in right)
        return found if operator == "in" else not found
    if operator == "equals":
        return _equal(left, right)
    if operator == "notEquals":
        return not _equal(left, right)
    if operator == "contains":
        if isinstance(left, list):
            return any(_equal(item, right) for item in left)
        return _text(right) in _text(left)
    if operator == "startsWith":
        return _text(left).startswith(_text(right))
    if operator == "endsWith":
        return _text(left).endswith(_text(right))
    try:  # RE2: linear in the text, so no pattern can hold the loop (controller.patterns)
        return patterns.search(str(right), _text(left))  # matches
    except PatternError as exc:
        raise _Incomparable(f"matches: {exc}") from None


def evaluate(rule: dict[str, Any], lookup: Any, render: Any) -> bool:
    """True or False for a rule tree; raises _Incomparable for values that cannot compare."""
    if "all" in rule:
        return all(evaluate(child, lookup, render) for child in rule["all"])
    if "any" in rule:
        return any(evaluate(child, lookup, render) for child in rule["any"])
    operator = rule["operator"]
    value = rule.get("value")
    if isinstance(value, str) and operator != "matches":
        value = render(value)
    elif isinstance(value, list):
        value = [render(v) if isinstance(v, str) else v for v in value]
    return _compare(operator, lookup(rule["variable"]), value)


def run(call: Call, config: dict[str, Any]) -> str:
    try:
        return "onTrue" if evaluate(config, call.lookup, call.render) else "onFalse"
    except _Incomparable as exc:
        raise NodeError(f"cannot compare: {exc}") from None
