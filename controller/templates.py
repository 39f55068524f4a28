"""`{{ name }}` templates in config values, and the variable names a flow may read.

A template is plain text with `{{ variable }}` placeholders; nothing else (no expressions, no
filters), so a template can be checked completely at load and rendering can never run code.
Names are dotted paths: `sys.callId`, `contact.firstName`, `contact.customAttributes.balance`,
or a flow variable such as `customerResponse`.

Reading an unset variable renders as the empty string; the engine records that it happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
FLOW_VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME_PATTERN + r")\s*\}\}")
_NAME = re.compile("^" + NAME_PATTERN + "$")

SYSTEM_VARIABLES: dict[str, str] = {
    "callId": "the call's FreeSWITCH uuid",
    "contactPhone": "the phone number of the contact being called",
    "callerIdNumber": "the caller id number of the call",
    "destinationNumber": "the number that was dialled",
    "direction": "`inbound` or `outbound`",
    "flowId": "the flow's id (its file name without extension)",
    "flowName": "the flow's display name",
    "flowVersion": "the version of the flow the call runs (pinned when the call starts)",
    "startedAt": "when the call started, ISO 8601 UTC",
    "now": "the current time, ISO 8601 UTC",
}

NAMESPACES = ("sys", "contact")


class TemplateError(ValueError):
    """A template is malformed; the message says where."""


def placeholders(template: str) -> list[str]:
    """Names referenced by `template`; raises TemplateError when braces are malformed."""
    names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
    leftover = _PLACEHOLDER.sub("", template)
    if "{{" in leftover or "}}" in leftover:
        start = leftover.find("{{") if "{{" in leftover else leftover.find("}}")
        fragment = leftover[start : start + 30]
        raise TemplateError(
            f"malformed placeholder near {fragment!r}: write {{{{ name }}}} with a variable "
            "name such as customerResponse or contact.firstName"
        )
    return names


def is_variable_name(name: str) -> bool:
    return bool(_NAME.match(name))


def render(template: str, lookup: Callable[[str], object]) -> str:
    """Replace each placeholder by `lookup(name)`; None renders as ''."""

    def substitute(match: re.Match[str]) -> str:
        value = lookup(match.group(1))
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(substitute, template)


def strings_in(value: object, pointer: str) -> Iterator[tuple[str, str]]:
    """Every string inside `value` with its JSON pointer (keys escaped per RFC 6901)."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from strings_in(item, f"{pointer}/{escaped}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{pointer}/{index}")
