"""JSON Schema errors, rewritten as sentences a flow author understands.

jsonschema's own messages ("'timout' was unexpected (Additional properties are not allowed
...)") name the schema, not the fix. Each rewrite here keeps the pointer exact and says what
to write instead; a field that is missing is reported at the pointer where it belongs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError

from controller.flows.problems import Problem, error, pointer_of
from controller.flows.schema import validator

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}

_PATTERN_HINTS = {
    "audioId": "a file name under the audio root without extension: letters, digits, '.', "
    "'_' and '-', with '/' between folders; no '..', no leading '/'",
    "id": "letters, digits, '_', '-', '.' or ':', starting with a letter or digit",
    "startNodeId": "a node id",
    "variable": "a variable name: letters, digits and '_' (dotted for sys.* and contact.*)",
    "gateway": "a gateway name: letters, digits, '.', '_' and '-'",
    "language": "a language code such as ar, fr or en",
    "reason": "1-64 letters, digits, '_', '.', ':' or '-'",
    "terminators": "up to 4 of the keys 0-9, * and #",
    "currency": "a three-letter ISO 4217 code such as MAD or EUR",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _expected_types(expected: Any) -> str:
    names = [_TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)]
    return " or ".join(names)


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _skip(err: ValidationError) -> bool:
    """Errors the graph checks report better (with their own codes)."""
    path = list(err.absolute_path)
    in_node = len(path) >= 3 and path[:2] == ["graph", "nodes"]
    if (
        in_node
        and len(path) == 4
        and path[3] == "type"
        and err.validator == "enum"
        and isinstance(err.instance, str)
        and err.instance
    ):
        return True  # unknown node type: reported with the list of types
    # unknown output name or outputs on a terminal node
    return (
        in_node
        and len(path) == 4
        and path[3] == "outputs"
        and err.validator == "additionalProperties"
    )


def _translate(err: ValidationError) -> Iterator[tuple[str, str, str]]:
    """(code, pointer, message) for one schema error."""
    path = list(err.absolute_path)
    here = pointer_of(*path)
    field = str(path[-1]) if path else "document"
    kind = err.validator
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else "?"
        yield "missing-field", pointer_of(*path, missing), f"required field {missing!r} is missing"
    elif kind == "additionalProperties":
        known = list(err.schema.get("properties", {}))
        extras = (
            [k for k in err.instance if k not in known] if isinstance(err.instance, dict) else []
        )
        for extra in extras:
            where = "the flow" if not path else f"{field!r}"
            allowed = ", ".join(known) if known else "none"
            yield (
                "unknown-field",
                pointer_of(*path, extra),
                f"unknown field {extra!r} in {where}{_suggest(extra, known)}; "
                f"allowed fields: {allowed}",
            )
    elif kind == "type":
        hint = ""
        if isinstance(err.instance, int | float) and "string" in str(err.validator_value):
            hint = " (quote it in YAML: '" + str(err.instance) + "')"
        yield (
            "wrong-type",
            here,
            f"must be {_expected_types(err.validator_value)}, not {_describe(err.instance)}{hint}",
        )
    elif kind == "enum":
        choices = [c for c in err.validator_value if c is not None]
        shown = ", ".join(str(c) for c in choices)
        suggestion = (
            _suggest(err.instance, [str(c) for c in choices])
            if isinstance(err.instance, str)
            else ""
        )
        if not isinstance(err.instance, str | bool) and str(err.instance) in map(str, choices):
            yield (
                "wrong-type",
                here,
                f"{err.instance} must be written as text: '{err.instance}' (quoted, in YAML)",
            )
            return
        yield "invalid-value", here, f"{_describe(err.instance)} is not one of: {shown}{suggestion}"
    elif kind == "pattern":
        hint = _PATTERN_HINTS.get(field, f"text matching {err.validator_value}")
        yield "invalid-value", here, f"{_describe(err.instance)} is not valid here: use {hint}"
    elif kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        unit = " ms" if "milliseconds" in str(err.schema.get("description", "")) else ""
        yield (
            "out-of-range",
            here,
            f"must be {bound} {err.validator_value}{unit}, not {err.instance}{unit}",
        )
    elif kind in ("minItems", "maxItems"):
        bound = "at least" if kind == "minItems" else "at most"
        yield "invalid-value", here, f"must hold {bound} {err.validator_value} item(s)"
    elif kind in ("minLength", "maxLength"):
        yield (
            "invalid-value",
            here,
            (
                "must not be empty"
                if kind == "minLength" and err.validator_value == 1
                else f"{kind} is {err.validator_value}"
            ),
        )
    elif kind == "uniqueItems":
        yield "invalid-value", here, "must not list the same item twice"
    elif kind == "propertyNames":
        yield "invalid-value", here, f"{err.instance!r} is not a valid name here"
    else:
        yield "schema", here, err.message


def schema_problems(data: Any) -> list[Problem]:
    """Every schema violation in `data`, in document order."""
    problems: list[Problem] = []
    errors = sorted(validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for err in errors:
        if _skip(err):
            continue
        for code, pointer, message in _translate(err):
            problems.append(error(code, message, pointer=pointer))
    # The node schema and its per-type branch may both say "config must be a mapping".
    unique = list(dict.fromkeys(problems))
    return _merge_misspelt(unique)


def _merge_misspelt(problems: list[Problem]) -> list[Problem]:
    """`audioItem:` where `audioItems:` is required is one mistake: keep the unknown-field
    report (it suggests the right name) and drop the missing-field one it explains."""
    unknown: dict[str, list[str]] = {}
    for problem in problems:
        if problem.code == "unknown-field":
            parent, _, name = problem.pointer.rpartition("/")
            unknown.setdefault(parent, []).append(name)
    kept = []
    for problem in problems:
        parent, _, name = problem.pointer.rpartition("/")
        if problem.code == "missing-field" and difflib.get_close_matches(
            name, unknown.get(parent, []), n=1, cutoff=0.6
        ):
            continue
        kept.append(problem)
    return kept
