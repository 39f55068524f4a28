"""Set Variable: stores a value (a template) in a flow variable for later nodes.

With `exportToChannel`, the value is also set as a FreeSWITCH channel variable, so the
dialplan, CDRs and other applications see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller.esl import apps
from controller.templates import FLOW_VARIABLE_PATTERN

if TYPE_CHECKING:
    from controller.call import Call

OUTPUTS = ("onSuccess", "onError", "default")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["variable", "value"],
    "properties": {
        "variable": {
            "type": "string",
            "pattern": FLOW_VARIABLE_PATTERN,
            "description": "Flow variable to set (letters, digits and _).",
        },
        "value": {
            "type": ["string", "number", "boolean"],
            "description": "Value to store; text is a template, e.g. `{{contact.firstName}}`.",
        },
        "exportToChannel": {
            "type": "boolean",
            "default": False,
            "description": "Also set it as a channel variable on the call.",
        },
    },
}


TEMPLATE_FIELDS = ("value",)


def NEEDS_CALL(config: dict[str, Any]) -> bool:  # noqa: N802 - the contract's name
    return bool(config["exportToChannel"])


def writes(config: dict[str, Any]) -> Iterator[str]:
    yield config["variable"]


def run(call: Call, config: dict[str, Any]) -> str:
    value = config["value"]
    if isinstance(value, str):
        value = call.render(value)
    call.set_variable(config["variable"], value)
    if config["exportToChannel"]:
        apps.set_variable(
            call.live_channel,
            name=config["variable"],
            value=str(value),
            timeout=call.settings.command_timeout,
        )
    return "onSuccess"
